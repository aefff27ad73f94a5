"""NExtLong negative mining: a pool of corpus chunks, a retriever over it, and the row plan of a meta-document.

* :class:`ChunkPool` holds every chunk of a set of documents (text, owner, token count, content class).
  Chunk ids are ``"{doc_id}#c{index:04d}"`` with ``index`` the chunk's position in
  :func:`~litelong_hf.strategies.chunking.chunk_text` of its document, so :func:`chunk_doc_id` recovers
  the meta-document of any chunk.
* :class:`NegativeRetriever` is what mining needs from a retriever; :class:`BM25ChunkRetriever` implements
  it with bm25s. A dense retriever only has to provide the same two methods.
* :class:`NegativeMiner` turns seed documents into :class:`MinedRow` plans: meta-chunks in order, each
  followed by its hardest unused negatives, exactly enough to fill ``target_tokens``.

The arithmetic (:func:`negatives_per_chunk`, :func:`fill_round_robin`, :func:`trim_to_target`) is pure.

Example (mining only among some documents, as ``litelong-nextlong`` does)::

    pool = ChunkPool.from_documents(docs, TokenCounter.get())
    miner = NegativeMiner(pool, BM25ChunkRetriever.build(pool), sep_tokens=1)
    [row] = miner.mine([SeedRequest(docs[0].id, 131_072)], pool_doc_ids=[d.id for d in docs[1:50]])
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

from ..corpus import Document
from ..index import BM25Index, Hit, IndexBuildError, IndexConfig, get_or_build_index
from ..packing import Piece
from ..progress import progress_bar
from ..tokens import TokenCounter
from .chunking import chunk_text

CHUNK_MARK = "#c"


class NegativeMiningError(ValueError):
    """Negatives cannot be mined as configured; the message names the fix."""


class CorpusTooSmallError(NegativeMiningError):
    """The whole chunk pool holds fewer tokens than one row needs."""


def chunk_id(doc_id: str, index: int) -> str:
    """Id of chunk ``index`` of document ``doc_id``: ``"news-00001#c0003"``."""
    return f"{doc_id}{CHUNK_MARK}{index:04d}"


def chunk_doc_id(chunk: str) -> str:
    """The document a chunk id belongs to (inverse of :func:`chunk_id`)."""
    doc_id, mark, index = chunk.rpartition(CHUNK_MARK)
    if not mark or not index.isdigit():
        raise ValueError(f"{chunk!r} is not a chunk id like 'doc#c0001'.")
    return doc_id


# --------------------------------------------------------------------------------------------------------
# The pool


@dataclass
class ChunkPool:
    """Every non-blank chunk of some documents, in document order, with token counts and content classes.

    Build it with :meth:`from_documents`; :meth:`restrict` gives the pool of a subset of its documents.
    Chunk texts are stripped of surrounding whitespace (they become pieces of rows as they are here).
    """

    chunk_ids: list[str]
    texts: list[str]
    owners: list[str]
    """Document id of each chunk."""
    n_tokens: np.ndarray
    """Token count of each chunk text (int64), as the packer will count it."""
    content: np.ndarray
    """Content class of each chunk (int64): equal for chunks with identical text."""
    doc_order: list[str]
    """Document ids in pool order (documents with no non-blank chunk included)."""
    spans: dict[str, tuple[int, int]]
    """Document id -> ``[start, stop)`` of its chunks in the pool."""
    labels: dict[str, str]
    """Document id -> label (e.g. the outlet), for the documents that have one."""
    positions: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.positions:
            self.positions = {cid: i for i, cid in enumerate(self.chunk_ids)}

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @classmethod
    def from_documents(
        cls,
        documents: Iterable[Document],
        counter: TokenCounter,
        *,
        chunk_chars: int = 2048,
        split_long_lines: str = "sentences",
        label_field: str | None = "source",
        batch_size: int = 4096,
        show_progress: bool = False,
    ) -> ChunkPool:
        """Chunk and count every document; blank chunks are left out (their ids are not reused)."""
        chunk_ids: list[str] = []
        texts: list[str] = []
        owners: list[str] = []
        doc_order: list[str] = []
        spans: dict[str, tuple[int, int]] = {}
        labels: dict[str, str] = {}
        classes: dict[bytes, int] = {}
        content: list[int] = []
        total = len(documents) if isinstance(documents, Sized) else None
        with progress_bar("Chunking for NExtLong", total, unit="docs", enabled=show_progress) as advance:
            for doc in documents:
                if doc.id in spans:
                    raise NegativeMiningError(
                        f"Document id {doc.id!r} appears twice; document ids must be unique."
                    )
                start = len(chunk_ids)
                for index, chunk in enumerate(chunk_text(doc.text, chunk_chars, split_long_lines)):
                    text = chunk.text.strip()
                    if not text:
                        continue
                    chunk_ids.append(chunk_id(doc.id, index))
                    texts.append(text)
                    owners.append(doc.id)
                    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
                    content.append(classes.setdefault(digest, len(classes)))
                doc_order.append(doc.id)
                spans[doc.id] = (start, len(chunk_ids))
                label = doc.meta.get(label_field) if label_field else None
                if label is not None and str(label) != "":
                    labels[doc.id] = str(label)
                advance(1)
        counts: list[int] = []
        with progress_bar(
            "Counting chunk tokens", len(texts), unit="chunks", enabled=show_progress
        ) as advance:
            for start in range(0, len(texts), batch_size):
                batch = texts[start : start + batch_size]
                counts.extend(counter.count_batch(batch))
                advance(len(batch))
        return cls(
            chunk_ids=chunk_ids,
            texts=texts,
            owners=owners,
            n_tokens=np.asarray(counts, dtype=np.int64),
            content=np.asarray(content, dtype=np.int64),
            doc_order=doc_order,
            spans=spans,
            labels=labels,
        )

    def restrict(self, doc_ids: Iterable[str]) -> ChunkPool:
        """The pool of only ``doc_ids`` (kept in this pool's order); unknown ids raise."""
        wanted = set(doc_ids)
        unknown = sorted(wanted - self.spans.keys())
        if unknown:
            raise NegativeMiningError(
                f"{len(unknown)} document id(s) are not in the pool, e.g. {unknown[:3]}."
            )
        keep = [d for d in self.doc_order if d in wanted]
        rows = [i for d in keep for i in range(*self.spans[d])]
        spans: dict[str, tuple[int, int]] = {}
        start = 0
        for d in keep:
            lo, hi = self.spans[d]
            spans[d] = (start, start + hi - lo)
            start += hi - lo
        index = np.asarray(rows, dtype=np.int64)
        return ChunkPool(
            chunk_ids=[self.chunk_ids[i] for i in rows],
            texts=[self.texts[i] for i in rows],
            owners=[self.owners[i] for i in rows],
            n_tokens=self.n_tokens[index],
            content=self.content[index],
            doc_order=keep,
            spans=spans,
            labels={d: self.labels[d] for d in keep if d in self.labels},
        )

    def chunk_range(self, doc_id: str) -> range:
        """Pool positions of the chunks of ``doc_id``."""
        return range(*self.spans[doc_id])

    @property
    def total_tokens(self) -> int:
        return int(self.n_tokens.sum())

    def mean_chunk_tokens(self, positions: Sequence[int] | np.ndarray | None = None) -> float:
        """Mean tokens per chunk over the pool (or over ``positions``)."""
        values = self.n_tokens if positions is None else self.n_tokens[np.asarray(positions, dtype=np.int64)]
        return float(values.mean()) if len(values) else 0.0

    def label_of_chunk(self, position: int) -> str | None:
        return self.labels.get(self.owners[position])


# --------------------------------------------------------------------------------------------------------
# Retrieval


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


class BM25ChunkRetriever:
    """:class:`NegativeRetriever` over a :class:`~litelong_hf.index.BM25Index` of chunks.

    Args:
        index: an index whose ids are chunk ids (built by :meth:`build` or :meth:`cached`).
        backend: bm25s top-k backend, ``numpy`` (default: no JIT, the same answer for any batch size) or
            ``numba`` (faster on large corpora after a ~5 s JIT per process).
    """

    def __init__(self, index: BM25Index, backend: str = "numpy") -> None:
        if backend not in ("numpy", "numba"):
            raise NegativeMiningError(f"bm25 backend must be 'numpy' or 'numba', got {backend!r}.")
        self.index = index
        self.backend = backend
        scores = index.retriever.scores
        for name in ("data", "indices", "indptr"):
            # Plain ndarray views of the memory-mapped arrays: same pages, no copy, but slicing them in
            # bm25s' per-term loop skips numpy.memmap's Python-level overhead.
            if isinstance(scores.get(name), np.memmap):
                scores[name] = scores[name].view(np.ndarray)

    @classmethod
    def build(
        cls, pool: ChunkPool, config: IndexConfig | None = None, *, backend: str = "numpy"
    ) -> BM25ChunkRetriever:
        """An in-memory index of ``pool`` (for small pools, e.g. the documents of one LiteLong topic)."""
        if not len(pool):
            raise NegativeMiningError("Cannot index an empty chunk pool: the documents have no text.")
        return cls(BM25Index.build(pool.chunk_ids, pool.texts, config, show_progress=False), backend)

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
        """The saved, memory-mapped index for ``key``, built from ``pool`` on first use."""
        if not len(pool):
            raise NegativeMiningError("Cannot index an empty chunk pool: the documents have no text.")
        index = get_or_build_index(
            key,
            lambda: (pool.chunk_ids, pool.texts),
            config,
            cache_dir=cache_dir,
            show_progress=show_progress,
        )
        if index.doc_ids != pool.chunk_ids:
            raise IndexBuildError(
                f"The cached chunk index {key!r} does not match the corpus chunks ({len(index.doc_ids)} vs "
                f"{len(pool.chunk_ids)} chunks); delete the 'indexes' folder under the cache_dir to rebuild it."
            )
        return cls(index, backend)

    def _allow_mask(self, allow: Collection[str] | None) -> np.ndarray | None:
        if allow is None:
            return None
        mask = np.zeros(len(self.index), dtype=np.float32)
        for cid in allow:
            try:
                mask[self.index.position(cid)] = 1.0
            except KeyError:
                continue  # not in this index: nothing to allow
        return mask

    def search(
        self,
        queries: Sequence[str],
        k: int | Sequence[int],
        exclude: Sequence[Collection[str]] | None = None,
        *,
        allow: Collection[str] | None = None,
    ) -> list[list[Hit]]:
        """Top-``k`` chunks per query, best first, in one bm25s call for the whole batch."""
        wanted = [k] * len(queries) if isinstance(k, int) else list(k)
        if len(wanted) != len(queries) or any(n <= 0 for n in wanted):
            raise NegativeMiningError(f"k must be a positive number, or one per query; got {k!r}.")
        if exclude is not None and len(exclude) != len(queries):
            raise NegativeMiningError(f"{len(queries)} queries but {len(exclude)} exclusion sets.")
        results: list[list[Hit]] = [[] for _ in queries]
        terms = self.index.query_terms(queries)
        live = [i for i, t in enumerate(terms) if t]
        if not live:
            return results
        fetch = min(
            len(self.index), max(wanted[i] + (len(exclude[i]) if exclude is not None else 0) for i in live)
        )
        retriever = self.index.retriever
        retriever.backend = self.backend
        positions, scores = retriever.retrieve(
            [terms[i] for i in live], k=fetch, show_progress=False, weight_mask=self._allow_mask(allow)
        )
        ids = self.index.doc_ids
        for row, qi in enumerate(live):
            banned: Collection[str] = exclude[qi] if exclude is not None else ()
            pos, sc = np.asarray(positions[row]), np.asarray(scores[row])
            keep = sc > 0
            pos, sc = pos[keep], sc[keep]
            order = np.lexsort((pos, -sc))  # best first; equal scores in index order, whatever the backend
            hits: list[Hit] = []
            limit = wanted[qi]
            for p, score in zip(pos[order].tolist(), sc[order].tolist(), strict=True):
                cid = ids[p]
                if cid in banned:
                    continue
                hits.append(Hit(cid, score))
                if len(hits) == limit:
                    break
            results[qi] = hits
        return results

    def score(self, queries: Sequence[str], chunk_ids: Sequence[Sequence[str]]) -> list[list[float]]:
        """BM25 score of each ``chunk_ids[i]`` for ``queries[i]`` (0 for a query with no known term).

        Equal to bm25s' ``get_scores(query)[chunk]``, but reads only the postings of the given chunks.
        """
        retriever = self.index.retriever
        data, indptr, indices = (np.asarray(retriever.scores[name]) for name in ("data", "indptr", "indices"))
        nonoccurrence = getattr(retriever, "nonoccurrence_array", None)
        out: list[list[float]] = []
        for query_terms, wanted in zip(self.index.query_terms(queries), chunk_ids, strict=True):
            if not query_terms or not wanted:
                out.append([0.0] * len(wanted))
                continue
            targets = np.asarray([self.index.position(cid) for cid in wanted], dtype=np.int64)
            terms = np.asarray(query_terms, dtype=np.int64)  # repeated terms count again, as in bm25s
            starts = np.asarray(indptr[terms], dtype=np.int64)[:, None]
            stops = np.asarray(indptr[terms + 1], dtype=np.int64)[:, None]
            found = _search_sorted_slices(indices, starts, stops, targets[None, :])
            matched = found < stops
            matched[matched] = indices[found[matched]] == np.broadcast_to(targets, found.shape)[matched]
            total = np.where(matched, data[np.where(matched, found, 0)], 0.0).sum(axis=0, dtype=np.float64)
            if nonoccurrence is not None:
                total = total + float(np.asarray(nonoccurrence)[terms].sum())
            out.append([float(x) for x in total])
        return out


def _search_sorted_slices(
    values: np.ndarray, starts: np.ndarray, stops: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """Vectorised ``starts + searchsorted(values[starts:stops], targets)`` for many ascending slices."""
    shape = np.broadcast_shapes(starts.shape, stops.shape, targets.shape)
    lo = np.broadcast_to(starts, shape).copy()
    hi = np.broadcast_to(stops, shape).copy()
    goal = np.broadcast_to(targets, shape)
    last = max(len(values) - 1, 0)
    steps = int(np.max(hi - lo, initial=0)).bit_length()
    for _ in range(steps):  # a binary search needs bit_length(longest slice) halvings
        mid = (lo + hi) >> 1
        below = (values[np.minimum(mid, last)] < goal) & (lo < hi)
        lo = np.where(below, mid + 1, lo)
        hi = np.where(below | (lo >= hi), hi, mid)
    return lo


# --------------------------------------------------------------------------------------------------------
# Pure arithmetic


def negatives_per_chunk(
    target_tokens: int, meta_doc_tokens: int, n_meta_chunks: int, mean_chunk_tokens: float
) -> int:
    """METHODS.md's k = ceil((target - meta_doc_tokens) / (p * mean_chunk_tokens)), at least 0.

    >>> negatives_per_chunk(131_072, 1_072, 2, 500.0)
    130
    """
    if n_meta_chunks <= 0:
        raise ValueError(f"a meta-document needs at least one chunk, got {n_meta_chunks}.")
    if mean_chunk_tokens <= 0:
        raise ValueError(f"mean_chunk_tokens must be positive, got {mean_chunk_tokens}.")
    remaining = target_tokens - meta_doc_tokens
    if remaining <= 0:
        return 0
    return math.ceil(remaining / (n_meta_chunks * mean_chunk_tokens))


Candidate = tuple[int, int, int]
"""A possible negative: its pool position, content class and token count."""


def fill_round_robin(
    meta_tokens: Sequence[int],
    candidates: Sequence[Sequence[Candidate]],
    used_content: Collection[int],
    target_tokens: int,
    sep_tokens: int,
) -> tuple[list[list[int]], int]:
    """Pick negatives for each meta-chunk until the row (pieces plus separators) reaches the target.

    Meta-chunk ``g`` takes its next best candidate in turn (g = 0, 1, ..., p-1, 0, ...), skipping content
    already in the row (the meta-chunks' own, ``used_content``, and earlier picks) and candidates longer
    than the whole row. So every meta-chunk gets its top negatives first and the groups differ by at most
    one negative unless a candidate list runs out.

    Returns:
        The picked indexes into ``candidates[g]`` per group, and the planned tokens (which reach
        ``target_tokens`` unless every list ran out).
    """
    used = set(used_content)
    picked: list[list[int]] = [[] for _ in meta_tokens]
    cursor = [0] * len(meta_tokens)
    total = sum(meta_tokens) + sep_tokens * max(len(meta_tokens) - 1, 0)
    progress = True
    while total < target_tokens and progress:
        progress = False
        for g, options in enumerate(candidates):
            while cursor[g] < len(options):
                _, content, n_tokens = options[cursor[g]]
                cursor[g] += 1
                if content in used or n_tokens > target_tokens or n_tokens <= 0:
                    continue
                used.add(content)
                picked[g].append(cursor[g] - 1)
                total += n_tokens + sep_tokens
                progress = True
                break
            if total >= target_tokens:
                break
    return picked, total


def trim_to_target(lengths: Sequence[int], target_tokens: int, sep_tokens: int) -> int:
    """How many leading pieces the packer puts in the first row (the last of them possibly cut).

    Mirrors :class:`~litelong_hf.packing.RowPlanner`: a piece enters the row when at least one of its
    tokens fits after the separator before it.
    """
    used = 0
    for i, n in enumerate(lengths):
        if i > 0:
            if used + sep_tokens >= target_tokens:
                return i
            used += sep_tokens
        used += n
        if used >= target_tokens:
            return i + 1
    return len(lengths)


# --------------------------------------------------------------------------------------------------------
# Mining


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

    def pieces(self, pool: ChunkPool) -> list[Piece]:
        """Meta-chunk at the head of its group, then its negatives; roles ``meta`` / ``negative``."""
        out: list[Piece] = []
        for group in self.groups:
            out.append(Piece(pool.texts[group.meta], pool.chunk_ids[group.meta], role="meta"))
            for hit in group.negatives:
                out.append(Piece(pool.texts[pool.positions[hit.doc_id]], hit.doc_id, "negative", hit.score))
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
    """

    def __init__(
        self,
        pool: ChunkPool,
        retriever: NegativeRetriever,
        *,
        sep_tokens: int,
        overfetch: float = 1.5,
        search_batch: int = 256,
    ) -> None:
        if overfetch < 1:
            raise NegativeMiningError(f"overfetch must be >= 1, got {overfetch}.")
        self.pool = pool
        self.retriever = retriever
        self.sep_tokens = sep_tokens
        self.overfetch = overfetch
        self.search_batch = max(1, search_batch)

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
        while True:
            candidates = [self._candidates(group_hits) for group_hits in hits]
            picked, total = fill_round_robin(
                meta_tokens, candidates, own_content, seed.target_tokens, self.sep_tokens
            )
            if total >= seed.target_tokens:
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
        groups = [MinedGroup(meta, [hits[g][j] for j in picked[g]]) for g, meta in enumerate(metas)]
        return _trimmed(MinedRow(seed.doc_id, seed.target_tokens, k, groups, total), pool, self.sep_tokens)

    def _candidates(self, hits: Sequence[Hit]) -> list[Candidate]:
        positions = np.asarray([self.pool.positions[h.doc_id] for h in hits], dtype=np.int64)
        return list(
            zip(
                positions.tolist(),
                self.pool.content[positions].tolist(),
                self.pool.n_tokens[positions].tolist(),
                strict=True,
            )
        )


def _trimmed(row: MinedRow, pool: ChunkPool, sep_tokens: int) -> MinedRow:
    """Drop the pieces after the one that fills the row (they would never be packed)."""
    lengths: list[int] = []
    for group in row.groups:
        lengths.append(int(pool.n_tokens[group.meta]))
        lengths.extend(int(pool.n_tokens[pool.positions[h.doc_id]]) for h in group.negatives)
    keep = trim_to_target(lengths, row.target_tokens, sep_tokens)
    groups: list[MinedGroup] = []
    for group in row.groups:
        if keep <= 0:
            break
        negatives = group.negatives[: keep - 1]
        groups.append(MinedGroup(group.meta, negatives))
        keep -= 1 + len(negatives)
    planned = sum(lengths[: sum(1 + len(g.negatives) for g in groups)])
    planned += sep_tokens * max(sum(1 + len(g.negatives) for g in groups) - 1, 0)
    return MinedRow(row.doc_id, row.target_tokens, row.k, groups, planned)


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
