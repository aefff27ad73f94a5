"""Score accumulation backends and the one dispatcher every search and score goes through.

A query's scores over a shard are the float32 sums of its terms' postings. Each backend adds the same
float32 values in the same order (term by term, a term's documents in index order), so the hits never
depend on the backend:

- ``numpy``: a vectorised add per term; for a loaded (memory-mapped) shard it reads each term's postings
  with ``pread`` (:class:`~.storage.PostingFiles`), which keeps a worker's resident memory small.
- ``numba``: one JIT-compiled loop over the postings (in memory or mapped), faster for large batches; the
  mapped pages it touched are released after each query.

``auto`` picks numba for batches of at least :data:`AUTO_NUMBA_QUERIES` queries when numba is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .config import BACKENDS, IndexBuildError
from .storage import Shard

AUTO_NUMBA_QUERIES = 256
"""``backend="auto"`` uses numba (a one-off JIT per process) only for batches at least this large."""

Accumulate = Callable[[Shard, np.ndarray, np.ndarray], None]
"""``accumulate(shard, terms, out)`` adds the shard's partial scores of ``terms`` into ``out``."""


def accumulate_numpy(shard: Shard, terms: np.ndarray, out: np.ndarray) -> None:
    indptr, indices, data = shard.indptr, shard.indices, shard.data
    for term in terms.tolist():
        lo, hi = int(indptr[term]), int(indptr[term + 1])
        if hi > lo:
            out[indices[lo:hi]] += data[lo:hi]  # a term's documents are distinct: no lost updates


def accumulate_pread(shard: Shard, terms: np.ndarray, out: np.ndarray) -> None:
    """:func:`accumulate_numpy` for a loaded shard, reading each term's postings with ``pread``."""
    files = shard.files
    if files is None:
        raise IndexBuildError("accumulate_pread needs a shard loaded from disk.")
    indptr = shard.indptr
    for term in terms.tolist():
        lo, hi = int(indptr[term]), int(indptr[term + 1])
        if hi > lo:
            indices, data = files.postings(lo, hi)
            out[indices] += data  # a term's documents are distinct: no lost updates


_NUMBA_KERNEL: Any = None


def numba_kernel() -> Any:
    """The JIT-compiled accumulation loop (compiled on first use, cached on disk by numba)."""
    global _NUMBA_KERNEL
    if _NUMBA_KERNEL is None:
        from numba import njit

        def accumulate(
            data: np.ndarray, indptr: np.ndarray, indices: np.ndarray, terms: np.ndarray, out: np.ndarray
        ) -> None:
            for t in terms:
                for j in range(indptr[t], indptr[t + 1]):
                    out[indices[j]] += data[j]

        _NUMBA_KERNEL = njit(cache=True, nogil=True)(accumulate)
    return _NUMBA_KERNEL


def accumulate_numba(shard: Shard, terms: np.ndarray, out: np.ndarray) -> None:
    numba_kernel()(shard.data, shard.indptr, shard.indices, terms, out)


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(choice: str, n_queries: int) -> str:
    """``numpy`` or ``numba`` for a batch of ``n_queries`` (``choice``: ``auto``, ``numpy`` or ``numba``)."""
    if choice not in BACKENDS:
        raise IndexBuildError(f"backend must be 'auto', 'numpy' or 'numba', got {choice!r}.")
    if choice == "numba" and not numba_available():
        raise IndexBuildError("backend 'numba' needs the numba package: pip install numba, or use 'numpy'.")
    if choice == "auto":
        return "numba" if n_queries >= AUTO_NUMBA_QUERIES and numba_available() else "numpy"
    return choice


def accumulator(shard: Shard, backend: str) -> Accumulate:
    """The accumulation for ``shard`` under a resolved ``backend`` (``numpy`` or ``numba``)."""
    if backend == "numba":
        return accumulate_numba
    return accumulate_pread if shard.files is not None else accumulate_numpy


def shard_scores(shard: Shard, terms: np.ndarray, backend: str) -> np.ndarray:
    """Scores of every document of ``shard`` for the query ``terms`` (float32, 0 where no term occurs)."""
    out = np.zeros(shard.n_docs, dtype=np.float32)
    accumulator(shard, backend)(shard, terms, out)
    if shard.nonoccurrence is not None:
        out += np.float32(shard.nonoccurrence[terms].sum())
    return out
