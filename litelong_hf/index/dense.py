"""Dense search over unit vectors: exact inner product for small pools, a FAISS IVF index above.

The same contract as :class:`~litelong_hf.index.BM25Index.search`: per query, up to ``k`` :class:`Hit`\\ s
best first, ties in insertion (pool) order, only positive scores, never an id in that query's ``exclude``,
only ids in ``allow`` when given. Scores are cosine similarities (the vectors are unit length).

* **Exact** (``len(index) <= exact_max``): inner products block by block (one BLAS ``sgemm`` per block of
  :data:`BLOCK_ROWS` vectors, what ``faiss.IndexFlatIP`` computes), masked, merged into a running top-k. Memory
  is one block, whatever the pool size: the vectors stay memory-mapped on disk.
* **IVF** (above ``exact_max``): ``faiss.IndexIVFScalarQuantizer`` (8-bit codes, inner product), trained on an
  evenly spaced sample and filled block by block (bounded build memory), saved beside the vectors and read
  memory-mapped. Each search over-fetches ``k + len(exclude)`` candidates (``allow`` goes in as a FAISS id
  selector), then re-scores them exactly from the stored vectors, so scores equal the exact path's and ties
  stay in pool order; only recall is approximate (``nprobe`` trades it for speed).

:data:`EXACT_MAX` comes from ``bench/dense.py``: an exact search of 16 queries took 0.46 s over 50K and 2.1 s
over 200K float16 vectors on two (heavily shared) cores; beyond that a row's searches would take seconds
each, so larger pools go through the IVF index.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from ..arrays import RowVectors
from .config import Hit, IndexBuildError

EXACT_MAX = 200_000
"""Pools up to this many vectors are searched exactly; larger ones through the IVF index."""
BLOCK_ROWS = 32_768
"""Vectors per block of the exact search and of the IVF build (bounds their memory)."""
IVF_SAMPLE = 65_536
"""Vectors the IVF coarse quantizer is trained on."""
ANN_FILE = "ivf.faiss"


class VectorSource(Protocol):
    """Float32 vectors by position: an in-memory array or a memory-mapped store."""

    def __len__(self) -> int: ...

    @property
    def dim(self) -> int: ...

    def block(self, start: int, stop: int) -> np.ndarray: ...

    def rows(self, positions: np.ndarray) -> np.ndarray: ...


class ArrayVectors(RowVectors):
    """A :class:`VectorSource` over an in-memory float32 array."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def block(self, start: int, stop: int) -> np.ndarray:
        return self.vectors[start:stop]

    def rows(self, positions: np.ndarray) -> np.ndarray:
        return self.vectors[np.asarray(positions, dtype=np.int64)]


class _Request(NamedTuple):
    """One search's queries, hits wanted per query, excluded positions per query and allowed positions."""

    queries: np.ndarray
    wanted: list[int]
    excluded: list[np.ndarray | None]
    allowed: np.ndarray | None


def top_k_in_order(scores: np.ndarray, positions: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best (score, position) pairs, best first, ties by lower position (pure, deterministic).

    >>> top_k_in_order(np.array([0.5, 0.9, 0.5]), np.array([7, 8, 3]), 2)
    (array([0.9, 0.5]), array([8, 3]))
    """
    if len(scores) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= kth  # every tie of the k-th score stays a candidate
        scores, positions = scores[keep], positions[keep]
    order = np.lexsort((positions, -scores))[:k]
    return scores[order], positions[order]


def nlist_for(n: int) -> int:
    """IVF cells for ``n`` vectors: about 4 sqrt(n), at least 1 and at most n / 39 (FAISS's training floor)."""
    return int(max(1, min(4 * int(np.sqrt(n)), n // 39)))


class DenseIndex:
    """Cosine search over the vectors of ``ids`` (see the module docstring).

    Args:
        ids: one id per vector, in pool order (ties are broken by this order).
        vectors: the unit vectors (a :class:`VectorSource`, e.g. a memory-mapped ``VectorStore``).
        ann_path: a saved IVF index of these vectors (:meth:`build_ivf`), used when ``len(ids) > exact_max``.
        nprobe: IVF cells visited per query.
        positions: id -> position of ``ids`` when the caller has one (a chunk pool does); built on demand
            otherwise.
    """

    def __init__(
        self,
        ids: Sequence[str],
        vectors: VectorSource,
        *,
        ann_path: Path | None = None,
        exact_max: int = EXACT_MAX,
        nprobe: int = 32,
        positions: Mapping[str, int] | None = None,
    ) -> None:
        if len(ids) != len(vectors):
            raise IndexBuildError(f"{len(ids)} ids but {len(vectors)} vectors: pass one id per vector.")
        self.ids = ids
        self.vectors = vectors
        self.exact_max = exact_max
        self.nprobe = nprobe
        self._positions: Mapping[str, int] | None = positions
        self._ann = None
        if len(ids) > exact_max:
            if ann_path is None or not ann_path.is_file():
                raise IndexBuildError(
                    f"{len(ids):,} vectors exceed exact_max={exact_max:,} and no IVF index was given; "
                    "build one with DenseIndex.build_ivf."
                )
            import faiss

            self._ann = faiss.read_index(str(ann_path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)

    @classmethod
    def from_array(cls, ids: Sequence[str], vectors: np.ndarray) -> DenseIndex:
        """An exact in-memory index (small pools)."""
        return cls(ids, ArrayVectors(vectors), exact_max=max(len(ids), EXACT_MAX))

    @property
    def mode(self) -> str:
        """``exact`` or ``ivf``: how searches run."""
        return "ivf" if self._ann is not None else "exact"

    def __len__(self) -> int:
        return len(self.ids)

    def _lookup(self) -> Mapping[str, int]:
        if self._positions is None:
            self._positions = {item: i for i, item in enumerate(self.ids)}
        return self._positions

    def position(self, item: str) -> int:
        """Position of ``item`` in the index (raises :class:`IndexBuildError` for an unknown id)."""
        found = self._lookup().get(item)
        if found is None:
            raise IndexBuildError(f"{item!r} is not in the dense index.")
        return int(found)

    def _positions_of(self, items: Collection[str] | None) -> np.ndarray:
        if not items:
            return np.zeros(0, dtype=np.int64)
        lookup = self._lookup()
        found = [int(p) for p in (lookup.get(i) for i in items) if p is not None]
        return np.asarray(sorted(found), dtype=np.int64)

    # -- building ---------------------------------------------------------------------------------------

    @staticmethod
    def build_ivf(vectors: VectorSource, path: Path, *, nlist: int | None = None) -> Path:
        """Train and fill an IVF index of ``vectors`` block by block and save it to ``path`` (atomically)."""
        import faiss

        from .. import layout

        n, dim = len(vectors), vectors.dim
        cells = nlist or nlist_for(n)
        sample = np.linspace(0, n - 1, num=min(n, max(IVF_SAMPLE, 39 * cells)), dtype=np.int64)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, cells, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.cp.seed = 1234  # deterministic k-means
        index.train(np.ascontiguousarray(vectors.rows(np.unique(sample))))
        for start in range(0, n, BLOCK_ROWS):
            stop = min(n, start + BLOCK_ROWS)
            index.add_with_ids(
                np.ascontiguousarray(vectors.block(start, stop)), np.arange(start, stop, dtype=np.int64)
            )
        with layout.atomic_path(path) as tmp:
            faiss.write_index(index, tmp)
        return path

    # -- searching --------------------------------------------------------------------------------------

    def search_vectors(
        self,
        queries: np.ndarray,
        k: int | Sequence[int],
        exclude: Sequence[Collection[str]] | None = None,
        *,
        allow: Collection[str] | None = None,
    ) -> list[list[Hit]]:
        """Top-``k`` ids per query vector, best first, ties in pool order (see the module docstring)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.vectors.dim)
        wanted = [k] * len(queries) if isinstance(k, int) else [int(n) for n in k]
        if len(wanted) != len(queries) or any(n <= 0 for n in wanted):
            raise IndexBuildError(f"k must be a positive number, or one per query; got {k!r}.")
        if exclude is not None and len(exclude) != len(queries):
            raise IndexBuildError(f"{len(queries)} queries but {len(exclude)} exclusion sets.")
        excluded: list[np.ndarray | None] = (
            [self._positions_of(e) for e in exclude] if exclude is not None else [None] * len(queries)
        )
        allowed = None if allow is None else self._positions_of(allow)
        if not len(queries) or (allowed is not None and not len(allowed)):
            return [[] for _ in queries]
        request = _Request(queries, wanted, excluded, allowed)
        found = self._search_ivf(request) if self._ann is not None else self._search_exact(request)
        return [[Hit(self.ids[int(p)], float(s)) for s, p in zip(*pair, strict=True)] for pair in found]

    def _search_exact(self, request: _Request) -> list[tuple[np.ndarray, np.ndarray]]:
        queries, wanted, excluded, allowed = request
        best = [(np.zeros(0, np.float32), np.zeros(0, np.int64)) for _ in queries]
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self), dtype=bool)
            mask[allowed] = True
        for start in range(0, len(self), BLOCK_ROWS):
            stop = min(len(self), start + BLOCK_ROWS)
            if mask is not None and not mask[start:stop].any():
                continue
            block = self.vectors.block(start, stop)
            positions = np.arange(start, stop, dtype=np.int64)
            outside = None if mask is None else ~mask[start:stop]  # once per block, not per query
            for q in range(len(queries)):
                # One matrix-vector product per query, never a batched matrix product: BLAS picks other kernels
                # (and other rounding) for other batch sizes, so a batch's scores could differ in the last bits
                # from the same query searched alone, and tied ranks would then depend on the batch.
                row = block @ queries[q]
                if outside is not None:
                    row[outside] = -np.inf
                drop = excluded[q]
                if drop is not None and len(drop):
                    inside = drop[(drop >= start) & (drop < stop)]
                    row[inside - start] = -np.inf
                keep = row > 0
                merged_scores = np.concatenate([best[q][0], row[keep]])
                merged_positions = np.concatenate([best[q][1], positions[keep]])
                best[q] = top_k_in_order(merged_scores, merged_positions, wanted[q])
            del block  # freed before the next block is read: one block in memory at a time
        return best

    def _search_ivf(self, request: _Request) -> list[tuple[np.ndarray, np.ndarray]]:
        queries, wanted, excluded, allowed = request
        import faiss

        fetch = max(wanted) + max((len(e) for e in excluded if e is not None), default=0)
        params = faiss.SearchParametersIVF()
        params.nprobe = self.nprobe
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
            params.sel = selector
        assert self._ann is not None
        _, labels = self._ann.search(queries, fetch, params=params)
        out = []
        for q, row in enumerate(labels):
            candidates = np.unique(row[row >= 0])
            drop = excluded[q]
            if drop is not None and len(drop):
                candidates = candidates[~np.isin(candidates, drop)]
            scores = (
                self.vectors.rows(candidates) @ queries[q] if len(candidates) else np.zeros(0, np.float32)
            )
            keep = scores > 0
            out.append(top_k_in_order(scores[keep], candidates[keep], wanted[q]))
        return out

    def score_vectors(self, queries: np.ndarray, ids: Sequence[Sequence[str]]) -> list[list[float]]:
        """Cosine of each ``ids[i]`` with query vector ``i``."""
        if len(ids) != len(queries):
            raise IndexBuildError(f"{len(queries)} queries but {len(ids)} id lists.")
        out = []
        for query, items in zip(queries, ids, strict=True):
            positions = np.asarray([self.position(i) for i in items], dtype=np.int64)
            rows = (
                self.vectors.rows(positions)
                if len(positions)
                else np.zeros((0, self.vectors.dim), np.float32)
            )
            out.append([float(s) for s in rows @ np.asarray(query, dtype=np.float32)])
        return out
