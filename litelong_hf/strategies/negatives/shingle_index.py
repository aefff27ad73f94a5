"""Word shingles as 64-bit hashes and an array index of them: the near-copy filter's Jaccard, vectorized.

:func:`shingle_hashes` gives one ``uint64`` per distinct shingle of :func:`~.nearcopy.shingles` (the same
lower-cased ``\\w+`` words, the same rule for texts shorter than one shingle), so two texts share a hash
exactly when they share a shingle string (up to a 64-bit hash collision, ~n²/2⁶⁵ for n distinct
shingles: none in practice). :class:`ShingleIndex` keeps the shingles of a row's references in one sorted
array; the largest Jaccard of a candidate against all of them is two ``searchsorted`` calls and a
``bincount``, instead of one dictionary look-up per shingle and reference in Python.
"""

from __future__ import annotations

import re

import numpy as np

_WORD = re.compile(r"\w+")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: the polynomial over word hashes is a bijection per step
_LENGTH_TAG = np.uint64(0xC2B2AE3D27D4EB4F)
_EMPTY = np.zeros(0, dtype=np.uint64)


def shingle_hashes(text: str, size: int = 8) -> np.ndarray:
    """Sorted distinct hashes of the ``size``-word shingles of ``text`` (fewer words: one of all of them).

    A shingle's hash depends only on its words and their count, so a short text's single shingle of
    exactly ``size`` words hashes like the same words inside a longer text (as the strings compare).
    """
    words = _WORD.findall(text.lower())
    n = len(words)
    if not n:
        return _EMPTY
    w = np.fromiter(map(hash, words), dtype=np.int64, count=n).view(np.uint64)
    span = min(size, n)
    count = n - span + 1
    with np.errstate(over="ignore"):
        h = w[:count].copy()
        for j in range(1, span):
            h *= _MULTIPLIER
            h += w[j : j + count]
        h += np.uint64(span) * _LENGTH_TAG
    h.sort()
    return h[np.concatenate(([True], h[1:] != h[:-1]))] if count > 1 else h


class _Sorted:
    """Hashes of some references sorted together, with the reference of each hash."""

    def __init__(self) -> None:
        self.keys = _EMPTY
        self.refs = np.zeros(0, dtype=np.int64)

    def insert(self, keys: np.ndarray, refs: np.ndarray) -> None:
        """Add sorted ``keys`` (with their references): one pass over the arrays, no sort."""
        where = np.searchsorted(self.keys, keys)
        self.keys = np.insert(self.keys, where, keys)
        self.refs = np.insert(self.refs, where, refs)

    def shared(self, found: np.ndarray, n_refs: int) -> np.ndarray | None:
        """Shared hashes of ``found`` with each reference (None: none at all)."""
        if not len(self.keys):
            return None
        lo = np.searchsorted(self.keys, found, side="left")
        counts = np.searchsorted(self.keys, found, side="right") - lo
        total = int(counts.sum())
        if not total:
            return None
        hit = counts > 0
        starts, counts = lo[hit], counts[hit]
        offsets = np.cumsum(counts) - counts
        positions = np.arange(total) - np.repeat(offsets - starts, counts)
        return np.bincount(self.refs[positions], minlength=n_refs)


class ShingleIndex:
    """The shingle hashes of some references (texts), for the largest Jaccard of a new text against them.

    References are kept in one large sorted array plus a small one of the latest (merged into the large
    one every :attr:`MERGE` references), so adding one moves the small array only.
    """

    MERGE = 32

    def __init__(self) -> None:
        self._sizes: list[int] = []
        self._main = _Sorted()
        self._recent = _Sorted()
        self._in_recent = 0

    def __len__(self) -> int:
        return len(self._sizes)

    def max_jaccard(self, found: np.ndarray) -> float:
        """Largest |found ∩ ref| / |found ∪ ref| over the references (0.0 with none or no overlap)."""
        if not len(found) or not self._sizes:
            return 0.0
        n_refs = len(self._sizes)
        counted = [c for c in (p.shared(found, n_refs) for p in (self._main, self._recent)) if c is not None]
        if not counted:
            return 0.0
        shared = counted[0] if len(counted) == 1 else counted[0] + counted[1]
        sizes = np.asarray(self._sizes, dtype=np.int64)
        return float((shared / (len(found) + sizes - shared)).max())

    def add(self, found: np.ndarray) -> None:
        """``found`` (sorted, distinct: from :func:`shingle_hashes`) becomes the next reference."""
        ref = len(self._sizes)
        self._sizes.append(len(found))
        if not len(found):
            return
        self._recent.insert(found, np.full(len(found), ref, dtype=np.int64))
        self._in_recent += 1
        if self._in_recent >= self.MERGE:
            self._main.insert(self._recent.keys, self._recent.refs)
            self._recent, self._in_recent = _Sorted(), 0
