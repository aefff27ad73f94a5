"""Where a tokenizer's files come from and how they are read: tiktoken rank files, ``tokenizer.json``
(aligned with Meta's reference), GGUF files, slow tokenizers converted once, Hub repos (tokenizer files
only). Split out of :mod:`litelong_hf.tokens`, which re-exports the public names.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from .resources import smollm2_gguf_path

# The pre-tokenizer split of Llama-3 (also in its tokenizer.json). tiktoken needs it to split text the same
# way `tokenizers` does before applying the BPE ranks.
LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

# Files a Hugging Face tokenizer folder may hold; fetched from the Hub for a repo id (weights are not).
_HF_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "chat_template.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
)


class TokenizerNotFoundError(ValueError):
    """The tokenizer name is neither a known alias, a local path, nor loadable from the Hub."""


def _read_tiktoken_ranks(path: Path) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _special_tokens(tokenizer_json: Path) -> dict[str, int]:
    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    return {t["content"]: int(t["id"]) for t in data.get("added_tokens", [])}


def _is_tiktoken_rank_file(path: Path) -> bool:
    """True when ``tokenizer.model`` holds ``base64 rank`` lines (tiktoken), not a SentencePiece proto."""
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        first = handle.readline().split()
    if len(first) != 2 or not first[1].isdigit():
        return False
    try:
        base64.b64decode(first[0], validate=True)
    except ValueError:
        return False
    return True


def _regexes(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["Regex"]] if isinstance(node.get("Regex"), str) else []
        return found + [r for value in node.values() for r in _regexes(value)]
    if isinstance(node, list):
        return [r for item in node for r in _regexes(item)]
    return []


def _has_llama3_split(tokenizer_json: Path) -> bool:
    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    return LLAMA3_PATTERN in _regexes(data.get("pre_tokenizer"))


def align_with_reference(tokenizer: Any) -> Any:
    """Make a ``tokenizers`` Llama-3 tokenizer give the ids of Meta's reference (tiktoken); returns it.

    Meta's Llama-3 tokenizer is tiktoken: a pre-split piece that is itself in the vocabulary is emitted as
    one token. Its Hugging Face release expresses that as ``"ignore_merges": true``; older exports (like the
    packaged one) lack the flag and split a few rare words differently (" Cumhuriyet": 1 token in tiktoken,
    4 through the merges). For a BPE tokenizer with the Llama-3 split the flag is set in place; any other
    tokenizer is returned unchanged.
    """
    from tokenizers.models import BPE

    model = tokenizer.model
    if not isinstance(model, BPE) or model.ignore_merges or tokenizer.pre_tokenizer is None:
        return tokenizer
    if LLAMA3_PATTERN in _regexes(json.loads(tokenizer.pre_tokenizer.__getstate__())):
        model.ignore_merges = True  # the model object shares the tokenizer's state: this changes it
    return tokenizer


def load_tokenizer_json(tokenizer_json: str | os.PathLike[str]) -> Any:
    """A ``tokenizers.Tokenizer`` from a ``tokenizer.json``, aligned with its reference
    (:func:`align_with_reference`). Every ``tokenizers`` load of a tokenizer file goes through here."""
    from tokenizers import Tokenizer

    return align_with_reference(Tokenizer.from_file(str(tokenizer_json)))


def aligned_hf_tokenizer(hf_tokenizer: Any) -> Any:
    """A transformers fast tokenizer with its backend aligned (:func:`align_with_reference`), in place;
    ``save_pretrained`` then writes the aligned ``tokenizer.json``. Slow tokenizers are returned as is."""
    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is not None:
        align_with_reference(backend)
    return hf_tokenizer


# ------------------------------------------------------------------------------ tokenizer resolution


CacheDir = str | os.PathLike[str] | None
"""A cache root as the configs give it (``cache_dir``); None is the default root (:func:`layout.cache_root`)."""


def _tokenizer_cache(key: str, cache_dir: CacheDir = None) -> Path:
    from .layout import tokenizer_dir

    return tokenizer_dir(key, cache_dir)


def _export_with_transformers(target: Path, load: Any, what: str) -> Path:
    """Save the fast tokenizer ``load()`` returns into ``target`` once (file-locked, atomic rename).

    ``load`` is a callable returning a transformers tokenizer; the export keeps ``tokenizer.json`` (what
    :class:`TokenCounter` reads) and the chat template next to it.
    """
    from .layout import build_once

    def export(tmp: Path) -> None:
        try:
            tokenizer = load()
        except ImportError as exc:
            raise TokenizerNotFoundError(
                f"Reading {what} needs transformers (and gguf for .gguf files): "
                "pip install 'litelong-hf[train]'."
            ) from exc
        if not getattr(tokenizer, "is_fast", False):
            raise TokenizerNotFoundError(f"{what} has no fast (tokenizers) version; give its tokenizer.json.")
        aligned_hf_tokenizer(tokenizer).save_pretrained(str(tmp))
        if not (tmp / "tokenizer.json").is_file():
            raise TokenizerNotFoundError(
                f"Exporting {what} wrote no tokenizer.json; give its tokenizer.json."
            )

    return build_once(target, "tokenizer.json", export)


def _gguf_tokenizer_dir(gguf: Path, cache_dir: CacheDir = None) -> Path:
    """The tokenizer inside a GGUF file, exported once to the cache (transformers' GGUF reader)."""
    stat = gguf.stat()
    key = f"gguf-{gguf.stem}-{stat.st_size}-{int(stat.st_mtime)}".lower()

    def load() -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)

    return _export_with_transformers(_tokenizer_cache(key, cache_dir), load, str(gguf))


def smollm2_tokenizer_dir(cache_dir: CacheDir = None) -> Path:
    """Folder with ``tokenizer.json`` and the chat template of the packaged SmolLM2-135M-Instruct.

    Extracted from the GGUF on first use (once, ~30 s: transformers parses the whole GGUF) into
    ``<cache>/tokenizers/`` (``cache_dir`` or the default root); offline.
    """
    return _gguf_tokenizer_dir(smollm2_gguf_path(), cache_dir)


def _converted_tokenizer_dir(folder: Path, cache_dir: CacheDir = None) -> Path:
    """A slow tokenizer folder (SentencePiece, vocab+merges) converted once to ``tokenizer.json``."""
    import hashlib

    key = "converted-" + hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]

    def load() -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(folder), use_fast=True)

    return _export_with_transformers(_tokenizer_cache(key, cache_dir), load, str(folder))


def _hub_tokenizer_dir(repo_id: str, cache_dir: CacheDir = None) -> Path | None:
    """The tokenizer files (never weights) of a Hub repo in the local HF cache, or None if unavailable."""
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(repo_id, allow_patterns=list(_HF_TOKENIZER_FILES)))
    except Exception:  # offline, gated, unknown: the caller falls back to tokenizers' own loader
        return None
    if (folder / "tokenizer.json").is_file():
        return folder
    if any((folder / f).is_file() for f in ("tokenizer_config.json", "tokenizer.model", "vocab.json")):
        return _converted_tokenizer_dir(folder, cache_dir)
    return None
