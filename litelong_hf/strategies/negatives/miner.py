"""Mining: seed documents become row plans (meta-chunks in order, each followed by its hardest negatives)."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ...index import Hit
from ...packing import Piece
from .arithmetic import Candidate, fill_round_robin, negatives_per_chunk, trim_to_target
from .nearcopy import NearCopyFilter, NearCopySettings, VectorLookup, vector_lookup
from .pool import ChunkPool, CorpusTooSmallError, NegativeMiningError
from .retriever import NegativeRetriever


class SeedRequest(NamedTuple):
    """One meta-document to turn into a row of ``target_tokens``."""

    doc_id: str
    target_tokens: int


@dataclass(frozen=True)
class Shortfall:
    """A seed that cannot become a row, and why (a fixed reason for the report, plus the numbers)."""

    doc_id: str
    reason: str
    available_tokens: int = 0
    needed_tokens: int = 0


@dataclass
class MinedGroup:
    """A meta-chunk (pool position) and its negatives, best first."""

    meta: int
    negatives: list[Hit]
    positions: list[int] = field(default_factory=list)
    """Pool positions of the negatives, aligned with them (empty: looked up from their ids)."""

    def negative_positions(self, pool: ChunkPool) -> list[int]:
        """Pool positions of the negatives (kept from mining, else looked up by chunk id)."""
        if len(self.positions) == len(self.negatives):
            return self.positions
        return [pool.positions[hit.doc_id] for hit in self.negatives]


@dataclass
class MinedRow:
    """The plan of one row: groups in meta-chunk order, already trimmed to the pieces the row uses."""

    doc_id: str
    target_tokens: int
    k: int
    """Planned negatives per meta-chunk (METHODS.md's formula)."""
    groups: list[MinedGroup]
    planned_tokens: int
    """Tokens of the pieces and separators (>= target_tokens; the excess is cut from the last piece)."""
    near_copies: int = 0
    """Candidates dropped as near-copies of a meta-chunk or of a negative picked before them."""

    def pieces(self, pool: ChunkPool) -> list[Piece]:
        """Meta-chunk at the head of its group, then its negatives; roles ``meta`` / ``negative``."""
        out: list[Piece] = []
        for group in self.groups:
            out.append(Piece(pool.texts[group.meta], pool.chunk_ids[group.meta], role="meta"))
            for hit, position in zip(group.negatives, group.negative_positions(pool), strict=True):
                out.append(Piece(pool.texts[position], hit.doc_id, "negative", hit.score))
        return out

    @property
    def n_negatives(self) -> int:
        return sum(len(g.negatives) for g in self.groups)


class NegativeMiner:
    """Plans NExtLong rows for seed documents over one pool and one retriever.

    Args:
        pool: the chunks negatives come from (and the seeds' own meta-chunks).
        retriever: search over ``pool``'s chunk ids.
        sep_tokens: tokens of the separator the packer puts between pieces.
        overfetch: hits fetched per meta-chunk = ``ceil(k * overfetch) + 8``; a seed whose hits run out
            is searched again with four times as many, up to the whole pool.
        search_batch: most meta-chunk queries per retriever call.
        slack: plan ``target * slack`` (at least 32) tokens beyond the target. The packer tokenizes the row
            as one text, and merges at piece boundaries (``"end." + "\n\n"``) make it a little shorter
            than the sum of the pieces' own counts; the slack keeps such a row full. Pieces past the
            row's end are never packed.
        near_copies: the near-copy filter (:mod:`.nearcopy`); ``None`` or inactive settings: none. Its
            cosine test uses the retriever's ``vectors(chunk_ids)`` when it has one (dense, hybrid).
    """

    def __init__(
        self,
        pool: ChunkPool,
        retriever: NegativeRetriever,
        *,
        sep_tokens: int,
        overfetch: float = 1.5,
        search_batch: int = 256,
        slack: float = 1 / 128,
        near_copies: NearCopySettings | None = None,
    ) -> None:
        if overfetch < 1:
            raise NegativeMiningError(f"overfetch must be >= 1, got {overfetch}.")
        if slack < 0:
            raise NegativeMiningError(f"slack must be >= 0, got {slack}.")
        self.slack = slack
        self.pool = pool
        self.retriever = retriever
        self.sep_tokens = sep_tokens
        self.overfetch = overfetch
        self.search_batch = max(1, search_batch)
        self.near_copies = near_copies if near_copies is not None and near_copies.active else None
        self._vectors: VectorLookup | None = vector_lookup(retriever)

    def check_pool(self, target_tokens: int) -> None:
        """Raise :class:`CorpusTooSmallError` when even the whole pool cannot fill one row."""
        n = len(self.pool)
        available = self.pool.total_tokens + self.sep_tokens * max(n - 1, 0)
        if available < target_tokens:
            raise CorpusTooSmallError(
                f"Corpus too small for NExtLong: its {n:,} chunks hold {available:,} tokens (separators "
                f"included) but one row needs {target_tokens:,} (target_tokens). Use a larger corpus (or raise "
                "max_documents), or a smaller target_tokens."
            )

    def mine(
        self, seeds: Sequence[SeedRequest], *, pool_doc_ids: Collection[str] | None = None
    ) -> list[MinedRow | Shortfall]:
        """Plan one row per seed (a :class:`MinedRow`, or a :class:`Shortfall` saying why not), in order.

        Meta-chunk queries of consecutive seeds are searched together, ``search_batch`` at a time.
        ``pool_doc_ids`` restricts negatives to the chunks of those documents (litelong-nextlong); the
        seeds themselves need not be among them.
        """
        pool = self.pool
        allow: list[str] | None = None
        positions: np.ndarray | None = None
        if pool_doc_ids is not None:
            rows = sorted(i for d in set(pool_doc_ids) if d in pool.spans for i in pool.chunk_range(d))
            positions = np.asarray(rows, dtype=np.int64)
            allow = [pool.chunk_ids[i] for i in rows]
        limit = len(pool) if allow is None else len(allow)
        cost = pool.mean_chunk_tokens(positions) + self.sep_tokens  # a negative costs its separator too
        out: dict[int, MinedRow | Shortfall] = {}
        batch: list[tuple[int, SeedRequest, int]] = []
        queries = 0
        for n, seed in enumerate(seeds):
            if seed.doc_id not in pool.spans:
                raise NegativeMiningError(f"Seed {seed.doc_id!r} is not a document of the chunk pool.")
            metas = pool.chunk_range(seed.doc_id)
            meta_tokens = pool.n_tokens[metas.start : metas.stop]
            if len(metas) == 0:
                out[n] = Shortfall(seed.doc_id, "empty meta-document (no text to chunk)")
                continue
            if int(meta_tokens.max()) > seed.target_tokens:
                out[n] = Shortfall(
                    seed.doc_id, "a meta-chunk is longer than target_tokens (lower chunk_chars)"
                )
                continue
            if limit == 0:
                out[n] = Shortfall(seed.doc_id, "no chunks to mine negatives from", 0, seed.target_tokens)
                continue
            doc_tokens = int(meta_tokens.sum()) + self.sep_tokens * (len(metas) - 1)
            k = negatives_per_chunk(seed.target_tokens, doc_tokens, len(metas), cost)
            if batch and queries + len(metas) > self.search_batch:
                out.update(self._mine_batch(batch, allow, limit))
                batch, queries = [], 0
            batch.append((n, seed, k))
            queries += len(metas)
        if batch:
            out.update(self._mine_batch(batch, allow, limit))
        return [out[n] for n in range(len(seeds))]

    def _mine_batch(
        self, batch: Sequence[tuple[int, SeedRequest, int]], allow: list[str] | None, limit: int
    ) -> dict[int, MinedRow | Shortfall]:
        pool = self.pool
        queries: list[str] = []
        exclude: list[list[str]] = []
        fetches: list[int] = []
        for _, seed, k in batch:
            metas = pool.chunk_range(seed.doc_id)
            own = [pool.chunk_ids[i] for i in metas]
            queries.extend(pool.texts[i] for i in metas)
            exclude.extend([own] * len(metas))
            fetches.extend([min(limit, math.ceil(k * self.overfetch) + 8)] * len(metas))
        hits = self.retriever.search(queries, fetches, exclude, allow=allow)
        out: dict[int, MinedRow | Shortfall] = {}
        start = 0
        for n, seed, k in batch:
            p = len(pool.chunk_range(seed.doc_id))
            out[n] = self._plan(seed, k, hits[start : start + p], fetches[start], allow, limit)
            start += p
        return out

    def _plan(
        self,
        seed: SeedRequest,
        k: int,
        hits: list[list[Hit]],
        fetched: int,
        allow: list[str] | None,
        limit: int,
    ) -> MinedRow | Shortfall:
        pool = self.pool
        metas = pool.chunk_range(seed.doc_id)
        meta_tokens = [int(pool.n_tokens[i]) for i in metas]
        own_content = [int(pool.content[i]) for i in metas]
        goal = self.planned_target(seed.target_tokens)
        while True:
            candidates = [self._candidates(group_hits) for group_hits in hits]
            keep = self._near_copy_filter(metas, candidates)
            accept = keep[1] if keep is not None else None
            picked, total = fill_round_robin(
                meta_tokens, candidates, own_content, goal, self.sep_tokens, accept
            )
            if total >= goal or (fetched >= limit and total >= seed.target_tokens):
                break
            if fetched >= limit:
                return Shortfall(
                    seed.doc_id,
                    "negatives exhausted: too few chunks share terms with the meta-document",
                    available_tokens=total,
                    needed_tokens=seed.target_tokens,
                )
            fetched = min(limit, fetched * 4)
            own = [pool.chunk_ids[i] for i in metas]
            hits = self.retriever.search(
                [pool.texts[i] for i in metas], fetched, [own] * len(metas), allow=allow
            )
        groups = [
            MinedGroup(meta, [hits[g][j] for j in picked[g]], [candidates[g][j][0] for j in picked[g]])
            for g, meta in enumerate(metas)
        ]
        dropped = keep[0].dropped if keep is not None else 0
        row = MinedRow(seed.doc_id, seed.target_tokens, k, groups, total, dropped)
        return _trimmed(row, pool, self.sep_tokens, goal)

    def _near_copy_filter(
        self, metas: range, candidates: Sequence[Sequence[Candidate]]
    ) -> tuple[NearCopyFilter, Callable[[int], bool]] | None:
        """A fresh filter for one fill of a row, and the ``accept`` predicate of pool positions it backs."""
        settings = self.near_copies
        if settings is None:
            return None
        pool = self.pool
        vectors: dict[int, np.ndarray] = {}
        meta_vectors = None
        if settings.cosine is not None and self._vectors is not None:
            wanted = list(metas) + sorted({c[0] for group in candidates for c in group})
            found = self._vectors([pool.chunk_ids[p] for p in wanted])
            vectors = dict(zip(wanted, found, strict=True))
            meta_vectors = found[: len(metas)]
        keep = NearCopyFilter([pool.texts[i] for i in metas], settings, meta_vectors)

        def accept(position: int) -> bool:
            return keep.admit(pool.texts[position], vectors.get(position))

        return keep, accept

    def planned_target(self, target_tokens: int) -> int:
        """Tokens a plan for a row of ``target_tokens`` aims at (the target plus the slack)."""
        return target_tokens + max(32, math.ceil(target_tokens * self.slack)) if self.slack else target_tokens

    def _candidates(self, hits: Sequence[Hit]) -> list[Candidate]:
        positions = np.asarray(self._positions(hits), dtype=np.int64)
        return list(
            zip(
                positions.tolist(),
                self.pool.content[positions].tolist(),
                self.pool.n_tokens[positions].tolist(),
                strict=True,
            )
        )

    def _positions(self, hits: Sequence[Hit]) -> list[int]:
        """Pool positions of ``hits``: from the retriever when its index is this pool's (no id parsing),
        else through the pool's id map."""
        fast = getattr(self.retriever, "pool_positions", None)
        found = fast(self.pool, [h.doc_id for h in hits]) if callable(fast) else None
        return found if found is not None else [self.pool.positions[h.doc_id] for h in hits]


def _trimmed(row: MinedRow, pool: ChunkPool, sep_tokens: int, goal: int) -> MinedRow:
    """Drop the pieces after the one that reaches ``goal`` (the target plus the slack)."""
    lengths: list[int] = []
    for group in row.groups:
        lengths.append(int(pool.n_tokens[group.meta]))
        lengths.extend(int(pool.n_tokens[p]) for p in group.negative_positions(pool))
    keep = trim_to_target(lengths, goal, sep_tokens)
    groups: list[MinedGroup] = []
    for group in row.groups:
        if keep <= 0:
            break
        negatives = group.negatives[: keep - 1]
        groups.append(MinedGroup(group.meta, negatives, group.negative_positions(pool)[: keep - 1]))
        keep -= 1 + len(negatives)
    planned = sum(lengths[: sum(1 + len(g.negatives) for g in groups)])
    planned += sep_tokens * max(sum(1 + len(g.negatives) for g in groups) - 1, 0)
    return MinedRow(row.doc_id, row.target_tokens, row.k, groups, planned, row.near_copies)


def hardness_sample(pool: ChunkPool, doc_id: str, n: int, rng: np.random.Generator) -> list[int]:
    """``n`` random pool positions outside ``doc_id`` (with replacement), for the hardness baseline."""
    lo, hi = pool.spans[doc_id]
    others = len(pool) - (hi - lo)
    if n <= 0 or others <= 0:
        return []
    draws = rng.integers(0, others, size=n)
    return [int(d) if d < lo else int(d) + (hi - lo) for d in draws]


def describe(row: MinedRow) -> dict[str, Any]:
    """Small summary of a plan for bundles and logs."""
    return {"k": row.k, "meta_chunks": len(row.groups), "negatives": row.n_negatives}
