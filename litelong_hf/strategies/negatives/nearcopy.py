"""Near-copy filter: candidate negatives that nearly repeat the meta-document, or each other, are dropped.

NExtLong §5.4: self-repeated content hurts. A negative that is a near-copy of its meta-chunk is a false
negative (the model sees the "next part" twice), and news corpora are full of syndicated and templated
text. Exact copies are already skipped by content class (:func:`~.arithmetic.fill_round_robin`); this
filter catches the near ones, for every retriever:

* **Shingle Jaccard** (always): the set of ``shingle_words``-word shingles (lower-cased ``\\w+`` words) of a
  candidate against that of every meta-chunk of the row and of every negative already accepted; a
  candidate with Jaccard ``>= jaccard`` against any of them is dropped. Shingles are compared as 64-bit
  hashes in an inverted index of the row's (:mod:`.shingle_index`): one set intersection per candidate.
  A text with fewer words than ``shingle_words`` is one shingle (its whole word sequence).
* **Cosine** (dense and hybrid retrievers, whose vectors are at hand): unit vectors of a candidate against
  those of the meta-chunks and accepted negatives; ``>= cosine`` drops it.

A filter lives for one row plan: :meth:`NearCopyFilter.admit` is asked in the order candidates would be
picked, and what it admits becomes a reference for later candidates. :attr:`NearCopyFilter.dropped`
counts the rejections (the report's near-copy share).

Example::

    keep = NearCopyFilter(["the meta chunk text ..."], NearCopySettings(jaccard=0.5))
    keep.admit("the meta chunk text ... with one word changed")   # False
    keep.dropped                                                   # 1
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .shingle_index import ShingleIndex, shingle_hashes

_WORD = re.compile(r"\w+")

VectorLookup = Callable[[Sequence[str]], np.ndarray]
"""Unit vectors (rows) of the given chunk ids, e.g. a dense retriever's stored embeddings."""


def vector_lookup(retriever: Any) -> VectorLookup | None:
    """The chunk vectors behind ``retriever``: its ``vectors`` method, or those of its dense index (a
    :class:`~litelong_hf.index.DenseIndex` with ``position`` and ``vectors.rows``); ``None`` for BM25."""
    own = getattr(retriever, "vectors", None)
    if callable(own):
        return cast(VectorLookup, own)
    index = getattr(retriever, "index", None)
    rows = getattr(getattr(index, "vectors", None), "rows", None)
    if index is None or not callable(rows) or not callable(getattr(index, "position", None)):
        return None

    def lookup(chunk_ids: Sequence[str]) -> np.ndarray:
        positions = np.asarray([index.position(c) for c in chunk_ids], dtype=np.int64)
        return np.asarray(rows(positions), dtype=np.float32)

    return lookup


@dataclass(frozen=True)
class NearCopySettings:
    """When a candidate negative counts as a near-copy (``None`` turns a test off)."""

    jaccard: float | None = 0.5
    """Shingle Jaccard at or above which a candidate is a near-copy."""
    cosine: float | None = None
    """Cosine at or above which a candidate is a near-copy (only where vectors are available)."""
    shingle_words: int = 8

    def __post_init__(self) -> None:
        for name in ("jaccard", "cosine"):
            value = getattr(self, name)
            if value is not None and not 0 < value <= 1:
                raise ValueError(f"near-copy {name} threshold must be in (0, 1] or None, got {value}.")
        if self.shingle_words < 1:
            raise ValueError(f"shingle_words must be positive, got {self.shingle_words}.")

    @property
    def active(self) -> bool:
        return self.jaccard is not None or self.cosine is not None


def shingles(text: str, size: int = 8) -> frozenset[str]:
    """The ``size``-word shingles of ``text`` (lower-cased words; fewer words: one shingle of all).

    >>> sorted(shingles("A b c d", 3))
    ['a b c', 'b c d']
    """
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


class NearCopyFilter:
    """Admits candidate negatives of one row unless they nearly repeat a meta-chunk or an admitted one.

    Args:
        meta_texts: the row's meta-chunks (every one, not only the candidate's own group's).
        settings: thresholds.
        meta_vectors: unit vectors of the meta-chunks (rows aligned with ``meta_texts``), for the cosine
            test; ``None``: no cosine test.
    """

    def __init__(
        self,
        meta_texts: Sequence[str],
        settings: NearCopySettings,
        meta_vectors: np.ndarray | None = None,
    ) -> None:
        self.settings = settings
        self.dropped = 0
        self._shingles = ShingleIndex()  # hashed shingles of the references (issue 21)
        self._cosine = settings.cosine is not None and meta_vectors is not None
        self._matrix = np.zeros((0, 0), dtype=np.float32)  # reference vectors, rows [0, _n_vectors)
        self._n_vectors = 0
        for text in meta_texts if settings.jaccard is not None else ():
            self._shingles.add(shingle_hashes(text, settings.shingle_words))
        if self._cosine and meta_vectors is not None:
            for vector in np.asarray(meta_vectors, dtype=np.float32):
                self._add_vector(vector)

    def admit(self, text: str, vector: np.ndarray | None = None) -> bool:
        """``False`` (and counted) for a near-copy; otherwise ``True``, and ``text`` joins the references."""
        cosine = self._cosine and vector is not None
        if cosine and self._n_vectors:
            assert self.settings.cosine is not None and vector is not None
            sims = self._matrix[: self._n_vectors] @ np.asarray(vector, dtype=np.float32)
            if float(sims.max()) >= self.settings.cosine:
                self.dropped += 1
                return False
        if self.settings.jaccard is not None:
            found = shingle_hashes(text, self.settings.shingle_words)
            if not self._shingles.admit(found, self.settings.jaccard):  # admitted: now a reference
                self.dropped += 1
                return False
        if cosine:
            self._add_vector(np.asarray(vector, dtype=np.float32))
        return True

    def _add_vector(self, vector: np.ndarray) -> None:
        if self._n_vectors == len(self._matrix):  # grow by doubling: admitting n vectors costs O(n)
            grown = np.zeros((max(8, 2 * len(self._matrix)), vector.shape[-1]), dtype=np.float32)
            if self._n_vectors:
                grown[: self._n_vectors] = self._matrix[: self._n_vectors]
            self._matrix = grown
        self._matrix[self._n_vectors] = vector
        self._n_vectors += 1
