"""What an index is made of: its settings, its errors, its hits and the term tokenizer (no I/O)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

INDEX_FORMAT = 3
"""Bumped whenever the saved layout changes; an index of another format is rebuilt."""
META = "litelong_index.json"
"""Written last into an index folder: its presence marks a finished index."""
DEFAULT_SHARD_DOCS = 100_000
"""Documents per shard when an index is built from batches (bounds the build's memory)."""
METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")
BACKENDS = ("auto", "numpy", "numba")


class IndexBuildError(ValueError):
    """The index cannot be built, loaded or searched as asked; the message names the fix."""


class Hit(NamedTuple):
    """One search result: the id of the indexed item and its BM25 score."""

    doc_id: str
    score: float


@dataclass(frozen=True)
class IndexConfig:
    """How text is turned into BM25 terms and scored."""

    stemmer: str | None = "english"
    """Snowball stemmer language (PyStemmer), or ``None`` to match surface forms."""
    stopwords: str | tuple[str, ...] | None = "en"
    """``"en"`` (bm25s' English list), a language code bm25s knows, a tuple of words, or ``None``."""
    lower: bool = True
    """Lower-case text before splitting."""
    method: str = "lucene"
    """BM25 variant: ``lucene``, ``robertson``, ``atire``, ``bm25l`` or ``bm25+``."""
    k1: float = 1.5
    """Term-frequency saturation."""
    b: float = 0.75
    """Length normalisation."""
    backend: str = "auto"
    """Score accumulation: ``auto`` (numba for large batches when installed), ``numba`` or ``numpy``. Results
    are identical with either; only speed differs. In memory or loaded from disk, the index honours it."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise IndexBuildError(f"Unknown BM25 method {self.method!r}; use one of {sorted(METHODS)}.")
        if self.backend not in BACKENDS:
            raise IndexBuildError(f"backend must be 'auto', 'numpy' or 'numba', got {self.backend!r}.")

    def fingerprint(self) -> str:
        """Hash of the settings that change the index (the backend does not)."""
        data = asdict(self)
        data.pop("backend")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def make_term_tokenizer(config: IndexConfig) -> Any:
    """The bm25s tokenizer (lower-casing, stopwords, stemmer) that turns texts and queries into terms."""
    import bm25s.tokenization

    stemmer = None
    if config.stemmer:
        import Stemmer

        try:
            stemmer = Stemmer.Stemmer(config.stemmer)
        except KeyError:
            raise IndexBuildError(
                f"Unknown stemmer language {config.stemmer!r}; use one of {Stemmer.algorithms()} or None."
            ) from None
    stopwords: Any = list(config.stopwords) if isinstance(config.stopwords, tuple) else config.stopwords
    try:
        return bm25s.tokenization.Tokenizer(lower=config.lower, stopwords=stopwords or [], stemmer=stemmer)
    except ValueError as exc:
        raise IndexBuildError(
            f"Unknown stopwords {config.stopwords!r} ({exc}); use 'en', a tuple or None."
        ) from None
