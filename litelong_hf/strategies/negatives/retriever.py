"""Retrieval for negative mining: the protocol a retriever implements, and the BM25 one."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from ...index import BM25Index, Hit, IndexConfig, get_or_build_index
from .pool import ChunkPool, NegativeMiningError


class NegativeRetriever(Protocol):
    """What negative mining needs from a retriever over the chunks of a :class:`ChunkPool`.

    ``search`` returns, per query, up to ``k`` (one number, or one per query) hits sorted best first (ties
    by pool order), only positive scores, never an id in that query's ``exclude``, and, when ``allow`` is
    given, only ids in ``allow``. ``score`` gives
    the score of given chunks for each query (for the hardness report). A dense retriever (embeddings +
    an ANN index) can implement both.
    """

    def search(
        self,
        queries: Sequence[str],
        k: int | Sequence[int],
        exclude: Sequence[Collection[str]] | None = None,
        *,
        allow: Collection[str] | None = None,
    ) -> list[list[Hit]]: ...

    def score(self, queries: Sequence[str], chunk_ids: Sequence[Sequence[str]]) -> list[list[float]]: ...


def search_sizes(
    queries: Sequence[str], k: int | Sequence[int], exclude: Sequence[Collection[str]] | None
) -> list[int]:
    """``k`` as one size per query, after checking the arguments of a ``search`` (one clear error each)."""
    wanted = [k] * len(queries) if isinstance(k, int) else list(k)
    if len(wanted) != len(queries) or any(n <= 0 for n in wanted):
        raise NegativeMiningError(f"k must be a positive number, or one per query; got {k!r}.")
    if exclude is not None and len(exclude) != len(queries):
        raise NegativeMiningError(f"{len(queries)} queries but {len(exclude)} exclusion sets.")
    return wanted


Exclude = Sequence[Collection[str]] | None
"""Per query, the chunk ids it must not return (or none)."""
Allow = Collection[str] | None
"""The only chunk ids a search may return (or any)."""


class SearchFront:
    """The ``search`` of the mining retrievers: arguments checked once (:func:`search_sizes`), an empty
    batch answered at once, the rest handed to ``_search`` with one size per query."""

    def search(
        self, queries: Sequence[str], k: int | Sequence[int], exclude: Exclude = None, *, allow: Allow = None
    ) -> list[list[Hit]]:
        """Top-``k`` chunks per query, best first (ties as the retriever says): :class:`NegativeRetriever`."""
        wanted = search_sizes(queries, k, exclude)
        if not queries:
            return []
        return self._search(queries, wanted, exclude, allow)

    def _search(
        self, queries: Sequence[str], wanted: list[int], exclude: Exclude, allow: Collection[str] | None
    ) -> list[list[Hit]]:
        raise NotImplementedError


class BM25ChunkRetriever(SearchFront):
    """:class:`NegativeRetriever` over a :class:`~litelong_hf.index.BM25Index` of chunks.

    Every search and score goes through :mod:`litelong_hf.index` (one BM25 implementation, deterministic
    ties); this class only checks the mining arguments.

    Args:
        index: an index whose ids are chunk ids (built by :meth:`build` or :meth:`cached`).
        backend: score accumulation, ``numpy`` or ``numba`` (faster on large pools after a ~2 s JIT per
            process); both return the same hits.
        pool: the pool the index was built from, in its order (:meth:`build`, :meth:`cached`): then index
            positions are pool positions and :meth:`pool_positions` answers without parsing ids.
    """

    def __init__(self, index: BM25Index, backend: str = "numpy", pool: ChunkPool | None = None) -> None:
        if backend not in ("numpy", "numba"):
            raise NegativeMiningError(f"bm25 backend must be 'numpy' or 'numba', got {backend!r}.")
        self.index = index
        self.backend = backend
        self.pool = pool

    @classmethod
    def build(
        cls, pool: ChunkPool, config: IndexConfig | None = None, *, backend: str = "numpy"
    ) -> BM25ChunkRetriever:
        """An in-memory index of ``pool`` (for small pools, e.g. the documents of one LiteLong topic)."""
        if not len(pool):
            raise NegativeMiningError("Cannot index an empty chunk pool: the documents have no text.")
        return cls(BM25Index.build(pool.chunk_ids, pool.texts, config, show_progress=False), backend, pool)

    @classmethod
    def cached(
        cls,
        key: str,
        pool: ChunkPool,
        config: IndexConfig | None = None,
        *,
        cache_dir: str | None = None,
        backend: str = "numpy",
        show_progress: bool = True,
    ) -> BM25ChunkRetriever:
        """The saved, memory-mapped (sharded) index for ``key``, built from ``pool`` on first use."""
        if not len(pool):
            raise NegativeMiningError("Cannot index an empty chunk pool: the documents have no text.")
        index = get_or_build_index(
            key,
            lambda: (pool.chunk_ids, pool.texts),
            config,
            cache_dir=cache_dir,
            show_progress=show_progress,
            expected_ids=pool.chunk_ids,
            unit="chunks",
        )
        return cls(index, backend, pool)

    def _search(
        self, queries: Sequence[str], wanted: list[int], exclude: Exclude, allow: Collection[str] | None
    ) -> list[list[Hit]]:
        """Top chunks per query, best first, ties in pool order."""
        return self.index.search(
            queries,
            wanted,
            exclude=list(exclude) if exclude is not None else None,
            allow=allow,
            backend=self.backend,
        )

    def pool_positions(self, pool: ChunkPool, chunk_ids: Sequence[str]) -> list[int] | None:
        """Positions in ``pool`` of ``chunk_ids`` (just returned by :meth:`search`: a dictionary look-up
        each), or ``None`` when the index is not ``pool``'s."""
        if pool is not self.pool:
            return None
        return [self.index.position(c) for c in chunk_ids]

    def score(self, queries: Sequence[str], chunk_ids: Sequence[Sequence[str]]) -> list[list[float]]:
        """BM25 score of each ``chunk_ids[i]`` for ``queries[i]`` (0 for a query with no known term)."""
        return self.index.score(queries, chunk_ids)
