"""The index object: search and score over its shards, fanned out and merged exactly."""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..idmap import IdIndex
from ..progress import progress_bar
from . import scoring
from .backends import resolve_backend, shard_scores
from .build import IndexBuilder
from .config import DEFAULT_SHARD_DOCS, Hit, IndexBuildError, IndexConfig, make_term_tokenizer
from .storage import Shard, load_index, save_index


@dataclass
class BM25Index:
    """Shards of a bm25s index plus the ids of what it indexed and the term tokenizer that built it."""

    shards: list[Shard]
    term_tokenizer: Any
    doc_ids: Sequence[str]
    """Ids by position: a list for an index in memory, a memory-mapped column for a saved one."""
    config: IndexConfig = field(default_factory=IndexConfig)
    stats: dict[str, Any] = field(default_factory=dict)
    _positions: dict[str, int] | None = field(default=None, repr=False)
    _id_index: IdIndex | None = field(default=None, repr=False)
    _recent: dict[str, int] = field(default_factory=dict, repr=False)
    """Positions of the ids the last searches returned: callers hand them back (``allow``, ``exclude``,
    ``score``), and a dictionary hit costs less than the id index's look-up (bounded, then cleared)."""

    def __len__(self) -> int:
        return len(self.doc_ids)

    # -- building ----------------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        doc_ids: Sequence[str],
        texts: Sequence[str],
        config: IndexConfig | None = None,
        *,
        show_progress: bool = True,
        batch_size: int = 2048,
        shard_docs: int = DEFAULT_SHARD_DOCS,
    ) -> BM25Index:
        """Index ``texts`` (aligned with ``doc_ids``) in memory.

        Raises :class:`IndexBuildError` when the inputs are empty, misaligned or hold duplicate ids.
        """
        if len(doc_ids) != len(texts):
            raise IndexBuildError(f"{len(doc_ids)} ids but {len(texts)} texts: pass one id per text.")
        batches = (
            (doc_ids[i : i + batch_size], texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)
        )
        return cls.build_from_batches(
            batches, config, total=len(texts), show_progress=show_progress, shard_docs=shard_docs
        )

    @classmethod
    def build_from_batches(
        cls,
        batches: Iterable[tuple[Sequence[str], Sequence[str]]],
        config: IndexConfig | None = None,
        *,
        path: str | Path | None = None,
        total: int | None = None,
        show_progress: bool = True,
        shard_docs: int = DEFAULT_SHARD_DOCS,
    ) -> BM25Index:
        """Index batches of (ids, texts) shard by shard; saved (and memory-mapped) when ``path`` is given.

        Memory stays bounded by ``shard_docs``: the token ids of one shard at a time, plus the vocabulary.
        """
        with tempfile.TemporaryDirectory(prefix="litelong-index-") as spill:
            builder = IndexBuilder(config, shard_docs=shard_docs, workdir=spill if path is not None else None)
            with progress_bar(
                "Indexing for BM25", total=total, unit="docs", enabled=show_progress
            ) as advance:
                for ids, texts in batches:
                    builder.add(ids, texts)
                    advance(len(ids))
            return builder.finish(path)

    # -- disk ----------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the index to ``path`` atomically (a half-written index is never visible).

        Each shard is a bm25s index folder (``shard-0000/``...); ``litelong_index.json`` lists them.
        """
        return save_index(Path(path), self.shards, self.term_tokenizer, self.doc_ids, self.config, self.stats)

    @classmethod
    def load(cls, path: str | Path, *, mmap: bool = True) -> BM25Index:
        """Load an index saved by :meth:`save`; ``mmap=True`` shares its pages between processes."""
        path = Path(path)
        saved = load_index(path, use_mmap=mmap)
        tokenizer = make_term_tokenizer(saved.config)
        tokenizer.load_vocab(str(path))
        index = cls(saved.shards, tokenizer, saved.doc_ids, saved.config, saved.stats)
        index._id_index = saved.id_index
        return index

    # -- lookups -----------------------------------------------------------------------------------------
    def _lookup(self, doc_id: Any) -> int | None:
        recent = self._recent.get(doc_id) if isinstance(doc_id, str) else None
        if recent is not None:
            return recent
        if self._id_index is not None:
            return self._id_index.get(doc_id)
        if self._positions is None:
            self._positions = {d: i for i, d in enumerate(self.doc_ids)}
        return self._positions.get(doc_id) if isinstance(doc_id, str) else None

    def position(self, doc_id: str) -> int:
        """Row of ``doc_id`` in the index (``KeyError`` when it is not indexed)."""
        found = self._lookup(doc_id)
        if found is None:
            raise KeyError(doc_id)
        return found

    def _position_array(self, ids: Iterable[str]) -> np.ndarray:
        found = [p for p in (self._lookup(d) for d in ids) if p is not None]
        return np.asarray(found, dtype=np.int64)

    def query_terms(self, queries: Sequence[str]) -> list[list[int]]:
        """The known term ids of each query (unknown terms and stopwords removed; repeats kept)."""
        empty = self.term_tokenizer.word_to_id.get("")
        ids = self.term_tokenizer.tokenize(
            list(queries), update_vocab="never", return_as="ids", show_progress=False
        )
        return [[t for t in q if t != empty] for q in ids]

    def backend_for(self, n_queries: int, backend: str | None = None) -> str:
        """The backend (``numpy`` or ``numba``) a batch of ``n_queries`` runs on: ``backend`` if given,
        else the config's, ``auto`` resolved."""
        return resolve_backend(backend or self.config.backend, n_queries)

    # -- search --------------------------------------------------------------------------------------------
    def search(
        self,
        queries: Sequence[str],
        k: int | Sequence[int] = 10,
        *,
        exclude: Collection[str] | Sequence[Collection[str]] | None = None,
        allow: Collection[str] | None = None,
        require_all_terms: bool = False,
        backend: str | None = None,
        n_threads: int = 0,
    ) -> list[list[Hit]]:
        """Top-``k`` hits for each query, best first (ties: index order); only hits with a positive score.

        Args:
            queries: query strings, searched as one batch (the result never depends on the batching).
            k: hits wanted, one number for every query or one per query (fewer come back when fewer match).
            exclude: ids never returned: one collection for every query, or a sequence with one collection
                per query.
            allow: when given, only these ids can be returned (e.g. the chunks of one topic's documents).
            require_all_terms: search only the documents that contain every known query term (implicit AND).
            backend: ``numpy``/``numba``/``auto`` (default: the config's); the hits are the same with each.
            n_threads: accepted for compatibility; scoring runs in the calling thread.
        """
        del n_threads
        wanted = [k] * len(queries) if isinstance(k, int) else list(k)
        if len(wanted) != len(queries) or any(n <= 0 for n in wanted):
            raise IndexBuildError(f"k must be a positive number, or one per query; got {k!r}.")
        if not queries:
            return []
        per_query: Sequence[Collection[str]] | None = None
        banned_all = np.zeros(0, dtype=np.int64)
        if exclude is not None and len(exclude) == len(queries) and _is_per_query(exclude):
            per_query = exclude  # type: ignore[assignment]
        elif exclude:
            banned_all = self._position_array(exclude)  # type: ignore[arg-type]
        allowed = self._position_array(allow) if allow is not None else None
        terms = self.query_terms(queries)
        chosen = self.backend_for(len(queries), backend)
        results: list[list[Hit]] = []
        for qi, query_terms in enumerate(terms):
            if not query_terms:
                results.append([])
                continue
            banned = banned_all
            if per_query is not None:
                banned = self._position_array(per_query[qi])
            term_array = np.asarray(query_terms, dtype=np.int64)
            positions, scores = self._search_one(
                term_array, wanted[qi], banned, allowed, require_all_terms, chosen
            )
            results.append(self._hits(positions.tolist(), scores.tolist()))
        release = getattr(self.doc_ids, "release", None)
        if callable(release):
            release()
        return results

    def _hits(self, positions: list[int], scores: list[float]) -> list[Hit]:
        """Hits of the positions, best first; their ids' positions are remembered (:attr:`_recent`)."""
        if len(self._recent) + len(positions) > _RECENT_IDS:
            self._recent.clear()
        take = getattr(self.doc_ids, "take", None)  # a saved index's id column reads many ids at once
        ids = take(positions) if callable(take) else [self.doc_ids[p] for p in positions]
        self._recent.update(zip(ids, positions, strict=True))
        return [Hit(d, s) for d, s in zip(ids, scores, strict=True)]

    def _search_one(
        self,
        terms: np.ndarray,
        k: int,
        banned: np.ndarray,
        allowed: np.ndarray | None,
        require_all_terms: bool,
        backend: str,
    ) -> tuple[np.ndarray, np.ndarray]:
        found_pos: list[np.ndarray] = []
        found_scores: list[np.ndarray] = []
        for shard in self.shards:
            lo, hi = shard.start, shard.start + shard.n_docs
            scores = shard_scores(shard, terms, backend)
            if require_all_terms:
                keep = scoring.all_terms(shard, terms)
                gated = np.zeros_like(scores)
                gated[keep] = scores[keep]
                scores = gated
            if allowed is not None:
                local = allowed[(allowed >= lo) & (allowed < hi)] - lo
                gated = np.zeros_like(scores)
                gated[local] = scores[local]
                scores = gated
            if len(banned):
                scores[banned[(banned >= lo) & (banned < hi)] - lo] = 0
            candidates = np.flatnonzero(scores > 0)
            positions, values = scoring.top(candidates, scores[candidates], k)
            found_pos.append(positions + lo)
            found_scores.append(values)
            shard.release()
        positions, values = scoring.top(np.concatenate(found_pos), np.concatenate(found_scores), k)
        return positions, values.astype(np.float64)

    def score(self, queries: Sequence[str], ids: Sequence[Sequence[str]]) -> list[list[float]]:
        """BM25 score of each ``ids[i]`` for ``queries[i]`` (0 for a query with no known term).

        Equal to the score :meth:`search` gives the same item (and to bm25s' ``get_scores``).
        """
        if len(queries) != len(ids):
            raise IndexBuildError(f"{len(queries)} queries but {len(ids)} id lists.")
        out: list[list[float]] = []
        for query_terms, wanted in zip(self.query_terms(queries), ids, strict=True):
            if not query_terms or not wanted:
                out.append([0.0] * len(wanted))
                continue
            targets = np.asarray([self.position(i) for i in wanted], dtype=np.int64)
            values = np.zeros(len(targets), dtype=np.float32)
            terms = np.asarray(query_terms, dtype=np.int64)
            for shard in self.shards:
                inside = (targets >= shard.start) & (targets < shard.start + shard.n_docs)
                if inside.any():
                    values[inside] = scoring.scores_at(shard, terms, targets[inside] - shard.start)
                    shard.release()
            out.append([float(v) for v in values])
        return out


_RECENT_IDS = 1 << 18
"""Most ids whose positions a :class:`BM25Index` remembers from its searches (~30 MB of strings)."""


def _is_per_query(exclude: Any) -> bool:
    return all(not isinstance(e, str) and isinstance(e, Collection) for e in exclude)
