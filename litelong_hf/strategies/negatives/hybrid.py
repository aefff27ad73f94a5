"""Hybrid retrieval for negative mining: reciprocal-rank fusion of a BM25 and a dense retriever.

Each query is searched by both retrievers (same ``exclude`` and ``allow``), ``max(k, depth)`` hits each;
a chunk's fused score is ``sum(1 / (rrf_k + rank))`` over the lists it is in (rank 1 = best; Cormack et
al. 2009, ``rrf_k`` = 60). Hits are ordered by fused score, ties by a seeded hash of the chunk id, so the
order never depends on the batch, the pool order of the backends or the process (:func:`tie_key`).
The result has the same contract as each backend: per query up to ``k`` :class:`~litelong_hf.index.Hit`
(score = the fused score, always positive), never an excluded id, only allowed ids.

Example::

    hybrid = HybridChunkRetriever(BM25ChunkRetriever.build(pool), dense_retriever, seed=42)
    [hits] = hybrid.search([pool.texts[0]], 10, [[pool.chunk_ids[0]]])
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

from ...index import Hit
from .nearcopy import VectorLookup, vector_lookup
from .pool import NegativeMiningError
from .retriever import Exclude, NegativeRetriever, SearchFront


def tie_key(seed: int, chunk: str) -> int:
    """A seeded, process-independent order among hits with the same fused score (pure)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}\x1f{chunk}".encode(), digest_size=8).digest(), "big")


def fuse(lists: Sequence[Sequence[Hit]], rrf_k: int, seed: int) -> list[Hit]:
    """Reciprocal-rank fusion of ranked hit lists, best first, ties by :func:`tie_key` (pure).

    >>> fuse([[Hit("a", 9.0), Hit("b", 1.0)], [Hit("b", 0.9)]], 60, 0)[0].doc_id
    'b'
    """
    fused: dict[str, float] = {}
    for hits in lists:
        for rank, hit in enumerate(hits, start=1):
            fused[hit.doc_id] = fused.get(hit.doc_id, 0.0) + 1.0 / (rrf_k + rank)
    order = sorted(fused, key=lambda c: (-fused[c], tie_key(seed, c)))
    return [Hit(c, fused[c]) for c in order]


class HybridChunkRetriever(SearchFront):
    """:class:`~.retriever.NegativeRetriever` fusing a lexical and a dense retriever by reciprocal rank.

    Args:
        lexical: usually a :class:`~.retriever.BM25ChunkRetriever`.
        dense: usually a :class:`~.dense.DenseChunkRetriever` (its ``vectors`` serve the near-copy filter).
        rrf_k: the fusion constant (larger: flatter weights over ranks).
        depth: hits fetched from each backend per query, at least (more when ``k`` is larger).
        seed: seeds the order among equal fused scores.
    """

    def __init__(
        self,
        lexical: NegativeRetriever,
        dense: NegativeRetriever,
        *,
        rrf_k: int = 60,
        depth: int = 100,
        seed: int = 0,
    ) -> None:
        if rrf_k < 0 or depth < 1:
            raise NegativeMiningError(f"rrf_k must be >= 0 and depth >= 1, got {rrf_k} and {depth}.")
        self.lexical = lexical
        self.dense = dense
        self.rrf_k = rrf_k
        self.depth = depth
        self.seed = seed
        self.vectors: VectorLookup | None = vector_lookup(dense)

    def _search(
        self, queries: Sequence[str], wanted: list[int], exclude: Exclude, allow: Collection[str] | None
    ) -> list[list[Hit]]:
        """Top fused hits per query, best first, ties in seeded order."""
        fetch = [max(n, self.depth) for n in wanted]
        lexical = self.lexical.search(queries, fetch, exclude, allow=allow)
        dense = self.dense.search(queries, fetch, exclude, allow=allow)
        return [
            fuse([a, b], self.rrf_k, self.seed)[:n] for a, b, n in zip(lexical, dense, wanted, strict=True)
        ]

    def score(self, queries: Sequence[str], chunk_ids: Sequence[Sequence[str]]) -> list[list[float]]:
        """Fused score of each ``chunk_ids[i]`` for ``queries[i]`` over the top ``depth`` of each backend
        (0 for a chunk in neither)."""
        if len(chunk_ids) != len(queries):
            raise NegativeMiningError(f"{len(queries)} queries but {len(chunk_ids)} lists of chunk ids.")
        if not queries:
            return []
        lexical = self.lexical.search(queries, self.depth)
        dense = self.dense.search(queries, self.depth)
        out: list[list[float]] = []
        for a, b, ids in zip(lexical, dense, chunk_ids, strict=True):
            fused = {h.doc_id: h.score for h in fuse([a, b], self.rrf_k, self.seed)}
            out.append([fused.get(c, 0.0) for c in ids])
        return out
