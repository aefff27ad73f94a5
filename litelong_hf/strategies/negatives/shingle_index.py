"""Word shingles as 64-bit hashes and an inverted index of them: the near-copy filter's Jaccard, fast.

:func:`shingle_hashes` gives one ``uint64`` per distinct shingle of :func:`~.nearcopy.shingles` (the same
lower-cased ``\\w+`` words, the same rule for texts shorter than one shingle), so two texts share a hash
exactly when they share a shingle string (up to a 64-bit hash collision, ~n²/2⁶⁵ for n distinct
shingles: none in practice). :class:`ShingleIndex` maps each hash of a row's references to the references
that hold it (a dictionary), so the largest Jaccard of a candidate against all of them costs one set
intersection in C plus a count over the few shared hashes, and adding a reference costs one dictionary
update: no per-reference work and no array that grows by copying (issue 21).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: the polynomial over word hashes is a bijection per step
_LENGTH_TAG = np.uint64(0xC2B2AE3D27D4EB4F)
_EMPTY = np.zeros(0, dtype=np.uint64)
# ASCII text: ``\w`` is [A-Za-z0-9_]; one bytes.translate lower-cases letters and blanks every other byte,
# and split() then gives the words of ``_WORD.findall(text.lower())`` (as bytes) at a fraction of the cost.
_ASCII_WORDS = bytes(
    (c | 0x20 if 65 <= c <= 90 else c) if c < 128 and (chr(c).isalnum() or c == 95) else 32
    for c in range(256)
)


def _words(text: str) -> list[bytes]:
    """The lower-cased ``\\w+`` words of ``text`` as UTF-8 bytes (one representation for every text, so a
    word hashes alike in ASCII and non-ASCII texts)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).split()
    return [w.encode("utf-8") for w in _WORD.findall(text.lower())]


def shingle_hashes(text: str, size: int = 8) -> np.ndarray:
    """Sorted distinct hashes of the ``size``-word shingles of ``text`` (fewer words: one of all of them).

    A shingle's hash depends only on its words and their count, so a short text's single shingle of
    exactly ``size`` words hashes like the same words inside a longer text (as the strings compare).
    """
    words = _words(text)
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
    if count == 1:
        return h
    h.sort()
    return h[np.concatenate(([True], h[1:] != h[:-1]))]


def _keys(found: np.ndarray | Sequence[int]) -> list[int]:
    return found.tolist() if isinstance(found, np.ndarray) else list(found)


class ShingleIndex:
    """The shingle hashes of some references (texts), for the largest Jaccard of a new text against them.

    ``max_jaccard`` and ``add`` take the distinct hashes of one text (:func:`shingle_hashes`, as an array
    or a list of ints).
    """

    def __init__(self) -> None:
        self._sizes: list[int] = []
        self._first: dict[int, int] = {}  # hash -> the first reference holding it
        self._more: dict[int, list[int]] = {}  # hash -> the later references holding it too (rare)

    def __len__(self) -> int:
        return len(self._sizes)

    def max_jaccard(self, found: np.ndarray | Sequence[int]) -> float:
        """Largest |found ∩ ref| / |found ∪ ref| over the references (0.0 with none or no overlap)."""
        return self._best(_keys(found))[0]

    def add(self, found: np.ndarray | Sequence[int]) -> None:
        """``found`` (distinct hashes of one text) becomes the next reference."""
        keys = _keys(found)
        self._insert(keys, self._best(keys)[1])

    def admit(self, found: np.ndarray | Sequence[int], threshold: float) -> bool:
        """Whether ``found`` stays below ``threshold`` Jaccard with every reference (then it is added as
        the next one): :meth:`max_jaccard` and :meth:`add` with one look-up of the hashes."""
        keys = _keys(found)
        best, owners = self._best(keys)
        if best >= threshold:
            return False
        self._insert(keys, owners)
        return True

    def _best(self, keys: list[int]) -> tuple[float, dict[int, int]]:
        """The largest Jaccard of ``keys`` against the references, and the first owner of each shared hash."""
        if not keys or not self._sizes:
            return 0.0, {}
        first = self._first
        common = first.keys() & keys
        if not common:
            return 0.0, {}
        owners = dict(zip(common, map(first.__getitem__, common), strict=True))  # C loops, no frame per hash
        shared = Counter(owners.values())
        more = self._more
        if more:
            for h in more.keys() & common:
                shared.update(more[h])
        n, sizes = len(keys), self._sizes
        return max(c / (n + sizes[ref] - c) for ref, c in shared.items()), owners

    def _insert(self, keys: list[int], owners: dict[int, int]) -> None:
        """Add ``keys`` as the next reference; ``owners``: the first owner of each of them already held."""
        ref = len(self._sizes)
        self._sizes.append(len(keys))
        first = self._first
        first.update(dict.fromkeys(keys, ref))
        if owners:
            first.update(owners)  # a hash keeps its first owner; later ones are listed in _more
            more = self._more
            for h in owners:
                more.setdefault(h, []).append(ref)
