"""Exact token counting: one :class:`TokenCounter` per tokenizer name.

Where a tokenizer's files come from (folders, GGUF, Hub) is :mod:`litelong_hf.tokenizer_files`.
Lengths in litelong-hf are always tokens of the target tokenizer, and the ids a counter returns are the
ids written to rows. For tiktoken-compatible BPE tokenizers (Llama-3) the counter runs on ``tiktoken``,
which gives the same ids as ``tokenizers`` about 6x faster; everything else runs on ``tokenizers``.

Example::

    counter = TokenCounter.get("llama-3")
    ids = counter.encode("Long context, exactly counted.")
    assert counter.decode(ids) == "Long context, exactly counted."
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache, cached_property
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from .resources import DEFAULT_TOKENIZER, llama3_tokenizer_dir
from .tokenizer_files import (
    LLAMA3_PATTERN,
    CacheDir,
    TokenizerNotFoundError,
    _converted_tokenizer_dir,
    _gguf_tokenizer_dir,
    _has_llama3_split,
    _hub_tokenizer_dir,
    _is_tiktoken_rank_file,
    _read_tiktoken_ranks,
    _special_tokens,
    align_with_reference,
    aligned_hf_tokenizer,
    load_tokenizer_json,
    smollm2_tokenizer_dir,
)

__all__ = [
    "LLAMA3_PATTERN",
    "SMOLLM2_TOKENIZER",
    "CacheDir",
    "TokenCache",
    "TokenCounter",
    "TokenizerNotFoundError",
    "_gguf_tokenizer_dir",
    "align_with_reference",
    "aligned_hf_tokenizer",
    "load_tokenizer_json",
    "smollm2_tokenizer_dir",
]

SMOLLM2_TOKENIZER = "smollm2"
"""Alias of the SmolLM2-135M-Instruct tokenizer carried inside the packaged GGUF (the embedded model's own
tokens): rows made with it train that model without re-tokenizing."""


_ALIASES = {
    "llama-3": DEFAULT_TOKENIZER,
    "llama3": DEFAULT_TOKENIZER,
    "meta-llama/llama-3": DEFAULT_TOKENIZER,
    "smollm2": SMOLLM2_TOKENIZER,
    "smollm2-135m": SMOLLM2_TOKENIZER,
    "smollm2-135m-instruct": SMOLLM2_TOKENIZER,
}


class _Backend(Protocol):
    def encode(self, text: str) -> list[int]: ...
    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...
    def encode_arrays(self, texts: Sequence[str]) -> list[np.ndarray]: ...
    def decode(self, ids: Sequence[int]) -> str: ...


class _TiktokenBackend:
    """tiktoken over a ``tokenizer.model`` rank file plus the special tokens of ``tokenizer.json``."""

    def __init__(self, folder: Path, name: str) -> None:
        import tiktoken

        ranks = _read_tiktoken_ranks(folder / "tokenizer.model")
        specials = _special_tokens(folder / "tokenizer.json")
        self.ranks, self.specials = ranks, specials
        self.encoding = tiktoken.Encoding(
            name=f"litelong-{name}", pat_str=LLAMA3_PATTERN, mergeable_ranks=ranks, special_tokens=specials
        )

    def encode(self, text: str) -> list[int]:
        return self.encoding.encode_ordinary(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        # tiktoken releases the GIL while encoding. Its own batch call submits one future per text, which
        # costs more than the encoding for short documents; one contiguous group per thread does not.
        workers = _thread_count()
        if len(texts) < 4 * workers:
            return [self.encoding.encode_ordinary(t) for t in texts]
        size = -(-len(texts) // (4 * workers))  # a few groups per thread balance uneven lengths
        groups = [texts[i : i + size] for i in range(0, len(texts), size)]
        encode = self.encoding.encode_ordinary
        results = _executor().map(lambda group: [encode(t) for t in group], groups)
        return [ids for group in results for ids in group]

    def _encode_array(self, text: str) -> np.ndarray:
        # No special token is allowed, so every special token's text is encoded as ordinary text: the ids
        # of ``encode_ordinary``, but straight into a buffer (no list of Python ints to build and convert).
        buffer = self.encoding._core_bpe.encode_to_tiktoken_buffer(text, set())
        return np.frombuffer(buffer, dtype=np.int32)  # ids < 2**31: the uint32 bytes read as int32

    def encode_arrays(self, texts: Sequence[str]) -> list[np.ndarray]:
        workers = _thread_count()
        if len(texts) < 4 * workers:
            return [self._encode_array(t) for t in texts]
        size = -(-len(texts) // (4 * workers))
        groups = [texts[i : i + size] for i in range(0, len(texts), size)]
        encode = self._encode_array
        results = _executor().map(lambda group: [encode(t) for t in group], groups)
        return [ids for group in results for ids in group]

    def decode(self, ids: Sequence[int]) -> str:
        return self.encoding.decode(list(ids), errors="replace")


class _TokenizersBackend:
    """Any ``tokenizers`` tokenizer (a local tokenizer.json or a Hub repo)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        encodings = self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        return [list(e.ids) for e in encodings]

    def encode_arrays(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [np.asarray(ids, dtype=np.int32) for ids in self.encode_batch(texts)]

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=False))


def _byte_level_alphabet() -> dict[str, int]:
    """The printable stand-in character of every byte in byte-level BPE vocabularies (GPT-2's table)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {chr(b): b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            table[chr(256 + extra)] = b
            extra += 1
    return table


def _byte_lengths(backend: _Backend) -> np.ndarray | None:
    if isinstance(backend, _TiktokenBackend):
        lengths = np.zeros(backend.encoding.n_vocab, dtype=np.int64)
        for token, rank in backend.ranks.items():
            lengths[rank] = len(token)
        for text, rank in backend.specials.items():
            lengths[rank] = len(text.encode("utf-8"))
        return lengths
    tokenizer = backend.tokenizer  # type: ignore[attr-defined]
    model = json.loads(tokenizer.to_str())
    kinds = json.dumps([model.get("pre_tokenizer"), model.get("decoder")])
    if '"ByteLevel"' not in kinds or model.get("normalizer"):
        return None
    alphabet = _byte_level_alphabet()
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    lengths = np.zeros(max(vocab.values()) + 1, dtype=np.int64)
    added = {t["content"] for t in model.get("added_tokens") or []}
    for token, index in vocab.items():
        if token in added or any(ch not in alphabet for ch in token):
            lengths[index] = len(token.encode("utf-8"))
        else:
            lengths[index] = len(token)
    return lengths


def _thread_count() -> int:
    return max(1, min(8, os.cpu_count() or 1))


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_thread_count(), thread_name_prefix="litelong-tokens")


# A forked child (datasets' num_proc) inherits the pool object but not its threads: work submitted there
# would wait forever. Give the child a fresh pool.
os.register_at_fork(after_in_child=_executor.cache_clear)


class TokenCounter:
    """Encode, count and decode with one tokenizer; thread-safe and cached per name.

    Args:
        name: ``"llama-3"`` (the packaged Llama-3 tokenizer, default), ``"smollm2"`` (the packaged
            SmolLM2-135M-Instruct tokenizer, extracted from its GGUF), a folder holding ``tokenizer.json``
            (and optionally a tiktoken ``tokenizer.model``) or a slow Hugging Face tokenizer, a
            ``tokenizer.json`` file, a ``.gguf`` file, or a Hub repo id (needs internet or a populated HF
            cache; only tokenizer files are fetched).
        prefer_tiktoken: use the tiktoken fast path when the tokenizer is tiktoken-compatible.
        cache_dir: cache root for the tokenizer files extracted or converted on first use (GGUF, slow
            tokenizers); None is the default root. A counter is the same wherever those files live, so
            :meth:`get` shares one per name: the first call that resolves a name decides where they go.
    """

    _instances: ClassVar[dict[tuple[str, bool], TokenCounter]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, name: str = DEFAULT_TOKENIZER, *, prefer_tiktoken: bool = True, cache_dir: CacheDir = None
    ) -> None:
        self.name = _ALIASES.get(name.lower(), name) if name else DEFAULT_TOKENIZER
        self.folder = self._resolve_folder(self.name, cache_dir)
        self._backend = self._make_backend(prefer_tiktoken)

    @classmethod
    def get(
        cls, name: str = DEFAULT_TOKENIZER, *, prefer_tiktoken: bool = True, cache_dir: CacheDir = None
    ) -> TokenCounter:
        """The shared counter for ``name`` (loading a tokenizer costs ~0.3 s; do it once per process).

        Pass the run's ``cache_dir`` on the first call (the run's preflight does), so that files extracted
        for the tokenizer land in the run's cache root."""
        key = (_ALIASES.get(name.lower(), name), prefer_tiktoken)
        with cls._lock:
            if key not in cls._instances:
                cls._instances[key] = cls(name, prefer_tiktoken=prefer_tiktoken, cache_dir=cache_dir)
            return cls._instances[key]

    @staticmethod
    def _resolve_folder(name: str, cache_dir: CacheDir = None) -> Path | None:
        """The local folder holding ``tokenizer.json`` for ``name``, or None for a Hub id."""
        if name == DEFAULT_TOKENIZER:
            return llama3_tokenizer_dir()
        if name == SMOLLM2_TOKENIZER:
            return smollm2_tokenizer_dir(cache_dir)
        path = Path(name).expanduser()
        if path.is_dir():
            if (path / "tokenizer.json").is_file():
                return path
            if any((path / f).is_file() for f in ("tokenizer_config.json", "tokenizer.model", "vocab.json")):
                return _converted_tokenizer_dir(
                    path, cache_dir
                )  # a slow (SentencePiece / vocab+merges) tokenizer
            raise TokenizerNotFoundError(
                f"{path} holds no tokenizer (no tokenizer.json, tokenizer_config.json or tokenizer.model); "
                "point --tokenizer at the folder of a Hugging Face tokenizer or model."
            )
        if path.is_file() and path.name.endswith(".json"):
            return path.parent
        if path.is_file() and path.suffix == ".gguf":
            return _gguf_tokenizer_dir(path, cache_dir)
        if name.startswith((".", "/", "~")) or name.count("/") > 1:  # a path, not "namespace/name"
            raise TokenizerNotFoundError(
                f"Tokenizer path {name!r} does not exist; give a folder with tokenizer.json, a tokenizer.json "
                "file, a .gguf file, a Hub repo id, or an alias ('llama-3', 'smollm2')."
            )
        return _hub_tokenizer_dir(name, cache_dir)

    def _make_backend(self, prefer_tiktoken: bool) -> _Backend:
        from tokenizers import Tokenizer

        if self.folder is not None:
            tokenizer_json = self.folder / "tokenizer.json"
            if (
                prefer_tiktoken
                and _is_tiktoken_rank_file(self.folder / "tokenizer.model")
                and _has_llama3_split(tokenizer_json)
            ):
                return _TiktokenBackend(self.folder, Path(self.name).name)
            return _TokenizersBackend(load_tokenizer_json(tokenizer_json))
        try:  # a Hub id whose files could not be listed (e.g. an old offline cache): tokenizer.json only
            return _TokenizersBackend(align_with_reference(Tokenizer.from_pretrained(self.name)))
        except Exception as exc:  # the Hub client raises many types; all mean "cannot load"
            raise TokenizerNotFoundError(
                f"Cannot load tokenizer {self.name!r}: {type(exc).__name__}. Use 'llama-3' or 'smollm2' "
                "(packaged), a local folder with tokenizer.json, or a Hub repo id while online."
            ) from exc

    @property
    def backend_name(self) -> str:
        return "tiktoken" if isinstance(self._backend, _TiktokenBackend) else "tokenizers"

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""
        return self._backend.encode(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of many texts at once (multi-threaded in both backends)."""
        if not texts:
            return []
        return self._backend.encode_batch(texts)

    def encode_arrays(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The ids of :meth:`encode_batch` as int32 arrays (read-only for tiktoken: no list in between)."""
        if not texts:
            return []
        return self._backend.encode_arrays(texts)

    def count(self, text: str) -> int:
        return len(self._backend.encode(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.encode_batch(texts)]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``; invalid UTF-8 at a cut is replaced, never raised."""
        return self._backend.decode(ids)

    @cached_property
    def chat_template(self) -> str | None:
        """The Jinja chat template from ``tokenizer_config.json``, if the tokenizer ships one."""
        if self.folder is None:
            return None
        jinja = self.folder / "chat_template.jinja"  # where transformers v5 saves it
        if jinja.is_file():
            return jinja.read_text(encoding="utf-8")
        config = self.folder / "tokenizer_config.json"
        if not config.is_file():
            return None
        template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        return template if isinstance(template, str) else None

    def __repr__(self) -> str:
        return f"TokenCounter(name={self.name!r}, backend={self.backend_name!r})"

    def token_byte_lengths(self) -> np.ndarray | None:
        """UTF-8 byte length of every token id (int64, indexed by id), or None when the tokenizer is not
        byte-level (its tokens are then not plain byte strings). Built once per counter."""
        if "_byte_lengths" not in self.__dict__:
            self.__dict__["_byte_lengths"] = _byte_lengths(self._backend)
        lengths: np.ndarray | None = self.__dict__["_byte_lengths"]
        return lengths


class TokenCache:
    """Token ids of recently seen texts, bounded by a total number of tokens (least recently used out).

    Retrieval strategies hand the same documents to many bundles (LiteLong topics overlap); this keeps
    them from being tokenized again. Keys are the texts themselves: Python caches a string's hash, so a
    lookup of a document already held in memory costs no rehashing.
    """

    _shared: ClassVar[dict[int, TokenCache]] = {}

    @classmethod
    def shared(cls, counter: TokenCounter) -> TokenCache:
        """The process's one cache for ``counter``: what a strategy tokenized to plan (LiteLong counts its
        documents' tokens) is not tokenized again by the packer."""
        cache = cls._shared.get(id(counter))
        if cache is None or cache.counter is not counter:
            cache = cls._shared[id(counter)] = cls(counter)
        return cache

    def __init__(self, counter: TokenCounter, max_tokens: int = 50_000_000) -> None:
        self.counter = counter
        self.max_tokens = max_tokens
        self._ids: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = 0
        self.hits = 0
        self.misses = 0

    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        """int32 ids of every text, encoding only those not cached."""
        found: list[np.ndarray | None] = []
        for text in texts:
            cached = self._ids.get(text)
            if cached is not None:
                self._ids.move_to_end(text)
            found.append(cached)
        missing = [i for i, ids in enumerate(found) if ids is None]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            encoded = self.counter.encode_arrays([texts[i] for i in missing])
            for i, array in zip(missing, encoded, strict=True):
                found[i] = array
                self._store(texts[i], array)
        return [ids for ids in found if ids is not None]

    def _store(self, text: str, ids: np.ndarray) -> None:
        if len(ids) > self.max_tokens or text in self._ids:
            return
        self._ids[text] = ids
        self._size += len(ids)
        while self._size > self.max_tokens:
            _, evicted = self._ids.popitem(last=False)
            self._size -= len(evicted)
