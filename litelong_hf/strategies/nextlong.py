"""NExtLong (METHODS.md §2): each corpus document, chunked, interleaved with its hardest negatives.
(Over 400 lines on purpose: config, resources, hardness report and the seed loop of one method.)

For every seed document (in a seeded order) the strategy yields one bundle whose pieces fill exactly one
row: each meta-chunk at the head of its group, followed by the most similar chunks of *other* documents,
groups in the meta-chunks' original order. Pieces carry provenance (``role`` = ``meta`` / ``negative``,
``doc_id`` = chunk id ``"{doc_id}#c{index:04d}"``, ``score`` = the retriever's score: BM25, cosine or
fused reciprocal rank). ``retriever`` picks ``bm25`` (default), ``dense`` or ``hybrid``
(:class:`~.negatives.options.RetrievalOptions`); near-copies of the meta-document or of each other are
dropped for every retriever (:mod:`.negatives.nearcopy`).

Heavy resources (the corpus, its chunk pool with token counts, the memory-mapped chunk index and, for the
dense side, the pool's vectors) load once per process and are shared by every strategy object with the
same corpus and chunking.

Example::

    config = make_config("nextlong-128k", max_documents=500, num_rows=2)
    path, report = run_shard(config, 0)
    report.extra["hardness"]   # mean BM25 (and cosine) of negatives vs random chunks, near-copy share
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from .. import layout
from ..config import BaseConfig, ConfigError
from ..corpus import CorpusConfig, open_store
from ..index import IndexConfig
from ..report import RunReport
from ..tokens import TokenCounter
from . import register
from .base import Bundle, Citation, RowKind, Strategy, shard_slice
from .chunking import SPLIT_MODES
from .common import ResourceCache
from .context import StrategyContext
from .negatives import (
    BM25ChunkRetriever,
    ChunkPool,
    MinedRow,
    NegativeMiner,
    NegativeRetriever,
    SeedRequest,
    Shortfall,
    describe,
    hardness_sample,
)
from .negatives.hybrid import HybridChunkRetriever
from .negatives.options import RetrievalOptions

STRATEGY = "nextlong"
_SCORE_SCALE = 1_000_000  # scores are summed as integers (micro-units) so shard reports add up exactly
_WINDOW_TOKENS = 16 * 1024 * 1024  # plan at most ~this many row tokens ahead of the packer


@dataclass
class NExtLongConfig(RetrievalOptions, BaseConfig):
    """NExtLong: meta-documents chunked and interleaved with hard negatives (BM25, dense or hybrid)."""

    strategy: str = field(default=STRATEGY, metadata={"help": "Always ``nextlong``."})
    chunk_chars: int = field(
        default=2048,
        metadata={
            "min": 1,
            "help": (
                "Largest chunk in characters: consecutive lines are grouped while the group stays within this (the "
                "paper's best; 1,024 is slightly better at 128K only)."
            ),
        },
    )
    split_long_lines: str = field(
        default="sentences",
        metadata={
            "choices": SPLIT_MODES,
            "help": (
                "What to do with a line longer than ``chunk_chars``: ``sentences`` cuts it after sentence ends (and "
                "an over-long sentence after whitespace) before grouping; ``none`` keeps it as one chunk "
                "(METHODS.md's literal rule, which makes every document of a corpus without line breaks a single "
                "chunk). Text whose lines all fit gives the same chunks either way."
            ),
        },
    )
    overfetch: float = field(
        default=1.5,
        metadata={
            "min": 1,
            "help": (
                "Hits fetched per meta-chunk, as a multiple of k (plus 8): room for duplicates and chunks already "
                "used in the row. A seed whose hits run out is searched again with 4x as many."
            ),
        },
    )
    search_batch: int = field(
        default=256,
        metadata={"min": 1, "help": "Meta-chunk queries per search call (many seeds are searched together)."},
    )
    bm25_backend: str = field(
        default="numpy",
        metadata={
            "choices": ("numpy", "numba"),
            "help": (
                "bm25s top-k backend for mining: ``numpy`` (no JIT) or ``numba`` (faster on large corpora after a ~5 "
                "s compile per process)."
            ),
        },
    )
    label_field: str | None = field(
        default="source",
        metadata={
            "help": (
                "Document metadata field used as a topic label in the hardness report (``source``: the outlet of the "
                "demo articles); ``None`` or a missing field: no label statistics."
            )
        },
    )
    hardness_samples: int = field(
        default=8,
        metadata={
            "min": 0,
            "help": (
                "Random chunks scored per meta-chunk as the baseline of the hardness report (0: no baseline)."
            ),
        },
    )
    mix_short_ratio: int = field(
        default=0,
        metadata={
            "min": 0,
            "help": (
                "Mixed-length recipe: after every long row, this many rows of ``mix_short_tokens`` (the 512K recipe "
                "uses 2, i.e. 1:2); 0 makes every row ``target_tokens`` long."
            ),
        },
    )
    mix_short_tokens: int = field(
        default=65_536, metadata={"min": 1, "help": "Length of the short rows of the mixed recipe."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.strategy != STRATEGY:
            raise ConfigError(f"NExtLongConfig needs strategy 'nextlong', got {self.strategy!r}.")
        self.check_retrieval(ConfigError)
        if self.cut_policy != "truncate":
            raise ConfigError(
                "nextlong fills rows to exactly target_tokens by cutting the last piece: set cut_policy='truncate'."
            )

    def target_for(self, position: int) -> int:
        """Row length of the seed at ``position`` of the seeded order (mixed recipe: long, short x ratio)."""
        if self.mix_short_ratio and position % (1 + self.mix_short_ratio):
            return self.mix_short_tokens
        return self.target_tokens


# --------------------------------------------------------------------------------------------------------
# Per-process resources


@dataclass
class NExtLongResources:
    """The chunk pool, its retriever and the load report of the corpus, shared within a process.

    ``bm25`` is always there (the hardness report's BM25 scores); ``dense`` when the run searches densely
    or reports cosines; ``retriever`` is the one that mines (one of them, or their fusion).
    """

    pool: ChunkPool
    retriever: NegativeRetriever
    corpus_report: RunReport
    bm25: BM25ChunkRetriever
    dense: Any = None
    """A :class:`~.negatives.dense.DenseChunkRetriever`, or ``None``."""
    kind: str = "bm25"


_RESOURCES: ResourceCache[tuple[Any, ...], NExtLongResources] = ResourceCache(maxsize=4)


def chunk_index_key(corpus: CorpusConfig, chunk_chars: int, split_long_lines: str) -> str:
    """Cache key of the chunk index of a corpus snapshot and chunking (the index config is appended)."""
    return layout.chunk_index_key(corpus.fingerprint(), chunk_chars, split_long_lines)


def load_resources(config: NExtLongConfig) -> NExtLongResources:
    """Load (once per process) the corpus, chunk pool and memory-mapped chunk index of ``config``."""
    corpus = config.corpus_config()
    index_config = mining_index_config(config)
    key = (
        corpus.fingerprint(),
        config.chunk_chars,
        config.split_long_lines,
        config.label_field,
        TokenCounter.get(config.tokenizer).name,
        index_config.fingerprint(),
        config.bm25_backend,
        config.cache_dir,
        retrieval_key(config),
    )

    def load() -> NExtLongResources:
        store = open_store(corpus, cache_dir=config.cache_dir)
        corpus_report = store.report()
        counter = TokenCounter.get(config.tokenizer)
        pool_key = chunk_index_key(corpus, config.chunk_chars, config.split_long_lines)
        pool = ChunkPool.cached(  # on disk and memory-mapped: built once per corpus snapshot
            store,
            counter,
            layout.index_dir(
                f"{pool_key}-pool-{_slug(counter.name)}-{_slug(str(config.label_field))}",
                config.cache_dir,
            ),
            chunk_chars=config.chunk_chars,
            split_long_lines=config.split_long_lines,
            label_field=config.label_field,
            show_progress=True,
        )
        bm25 = BM25ChunkRetriever.cached(
            chunk_index_key(corpus, config.chunk_chars, config.split_long_lines),
            pool,
            index_config,
            cache_dir=config.cache_dir,
            backend=config.bm25_backend,
        )
        dense = None
        if config.uses_dense:
            from .negatives.dense import DenseChunkRetriever

            dense = DenseChunkRetriever.cached(
                chunk_index_key(corpus, config.chunk_chars, config.split_long_lines),
                pool,
                config.embedding_config(),
                cache_dir=config.cache_dir,
                show_progress=True,
            )
        retriever = mining_retriever(config, bm25, dense)
        return NExtLongResources(pool, retriever, corpus_report, bm25, dense, config.retriever)

    return _RESOURCES.get(key, load)


def retrieval_key(config: RetrievalOptions) -> tuple[Any, ...]:
    """What of the retrieval options changes the loaded resources (not the key: it is never cached)."""
    if not config.uses_dense:
        return (config.retriever,)
    settings = config.embedding_config().settings()
    return (
        config.retriever,
        tuple(sorted(settings.items())),
        config.embedding_dtype,
        config.hybrid_rrf_k,
        config.hybrid_depth,
        getattr(config, "seed", 0),
    )


def mining_retriever(config: RetrievalOptions, bm25: NegativeRetriever, dense: Any) -> NegativeRetriever:
    """The retriever that mines: BM25, the dense one, or their reciprocal-rank fusion (seeded ties)."""
    if config.retriever == "bm25":
        return bm25
    if dense is None:
        raise ConfigError(f"retriever {config.retriever!r} needs the pool's embeddings; none were loaded.")
    if config.retriever == "dense":
        return dense
    return HybridChunkRetriever(
        bm25, dense, rrf_k=config.hybrid_rrf_k, depth=config.hybrid_depth, seed=getattr(config, "seed", 0)
    )


def _slug(text: str) -> str:
    """A short, path-safe tag of a name (tokenizer names may be paths)."""
    import hashlib
    import re

    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[-24:]
    return f"{clean}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def mining_index_config(config: BaseConfig) -> IndexConfig:
    """The BM25 settings of the chunk index (the backend is chosen per search, not stored)."""
    return replace(config.index_config(), backend="numpy")


def seed_order(n_documents: int, seed: int) -> list[int]:
    """The seeded order in which documents become meta-documents (pure)."""
    return [int(i) for i in np.random.default_rng(seed).permutation(n_documents)]


# --------------------------------------------------------------------------------------------------------
# Hardness report

HARDNESS_STATS = (  # the integer counters in report.stats that hardness_summary reads
    "nextlong_negative_score_e6",
    "nextlong_negatives_scored",
    "nextlong_random_score_e6",
    "nextlong_random_scored",
    "nextlong_negatives_same_label",
    "nextlong_negatives_labelled",
    "nextlong_random_same_label",
    "nextlong_random_labelled",
    "nextlong_negative_cosine_e6",
    "nextlong_negatives_cosined",
    "nextlong_random_cosine_e6",
    "nextlong_random_cosined",
    "nextlong_near_copies",
)


def hardness_summary(stats: Mapping[str, float], retriever: str | None = None) -> dict[str, Any]:
    """``report.extra["hardness"]`` from the (mergeable) counters in ``report.stats``.

    ``negative_mean_score`` vs ``random_mean_score``: mean BM25 score, against the meta-chunk as query, of
    the chosen negatives and of random chunks of other documents (BM25 whatever ``retriever`` mined).
    ``negative_mean_cosine`` vs ``random_mean_cosine``: the same in embedding cosine (``None`` when the run
    has no embeddings: see ``hardness_cosine``). ``near_copy_share``: candidates dropped as near-copies over
    those plus the negatives kept. ``same_label_share`` vs ``random_same_label_share``: share of negatives
    (random chunks) whose document has the meta-document's label (``label_field``). After merging shard
    reports, call this again on the merged stats.
    """

    def ratio(num: str, den: str, scale: float = 1.0) -> float | None:
        d = stats.get(den, 0)
        return round(stats.get(num, 0) / scale / d, 4) if d else None

    negative = ratio("nextlong_negative_score_e6", "nextlong_negatives_scored", _SCORE_SCALE)
    random = ratio("nextlong_random_score_e6", "nextlong_random_scored", _SCORE_SCALE)
    cosine = ratio("nextlong_negative_cosine_e6", "nextlong_negatives_cosined", _SCORE_SCALE)
    random_cosine = ratio("nextlong_random_cosine_e6", "nextlong_random_cosined", _SCORE_SCALE)
    near = int(stats.get("nextlong_near_copies", 0))
    kept = int(stats.get("nextlong_negatives_scored", 0))
    out: dict[str, Any] = {"retriever": retriever} if retriever is not None else {}
    out.update(
        {
            "negative_mean_score": negative,
            "random_mean_score": random,
            "score_ratio": round(negative / random, 3) if negative is not None and random else None,
            "negatives_scored": kept,
            "random_scored": int(stats.get("nextlong_random_scored", 0)),
            "same_label_share": ratio("nextlong_negatives_same_label", "nextlong_negatives_labelled"),
            "random_same_label_share": ratio("nextlong_random_same_label", "nextlong_random_labelled"),
            "negative_mean_cosine": cosine,
            "random_mean_cosine": random_cosine,
            "near_copies": near,
            "near_copy_share": round(near / (near + kept), 4) if near + kept else None,
        }
    )
    return out


def _tally_hardness(
    row: MinedRow,
    resources: NExtLongResources,
    samples: int,
    rng: np.random.Generator,
    report: RunReport,
) -> None:
    """Count the hardness figures of one mined row into ``report.stats`` (integers, mergeable)."""
    pool = resources.pool
    label = pool.labels.get(row.doc_id)
    queries = [pool.texts[g.meta] for g in row.groups]
    negatives = [[hit.doc_id for hit in g.negatives] for g in row.groups]
    if resources.kind == "bm25":  # the hits' own scores are BM25 scores
        bm25 = [[hit.score for hit in g.negatives] for g in row.groups]
    else:
        bm25 = resources.bm25.score(queries, negatives)
    same = labelled = 0
    for group in row.groups:
        for hit in group.negatives:
            other = pool.label_of_chunk(pool.positions[hit.doc_id])
            if label is not None and other is not None:
                labelled += 1
                same += other == label
    report.count("nextlong_negative_score_e6", round(sum(map(sum, bm25)) * _SCORE_SCALE))
    report.count("nextlong_negatives_scored", row.n_negatives)
    report.count("nextlong_negatives_same_label", same)
    report.count("nextlong_negatives_labelled", labelled)
    report.count("nextlong_near_copies", row.near_copies)
    dense = resources.dense
    if dense is not None:
        cosines = dense.score(queries, negatives)
        report.count("nextlong_negative_cosine_e6", round(sum(map(sum, cosines)) * _SCORE_SCALE))
        report.count("nextlong_negatives_cosined", sum(map(len, cosines)))
    if samples <= 0:
        return
    drawn = [hardness_sample(pool, row.doc_id, samples, rng) for _ in row.groups]
    drawn_ids = [[pool.chunk_ids[p] for p in draw] for draw in drawn]
    scores = resources.bm25.score(queries, drawn_ids)
    report.count("nextlong_random_score_e6", round(sum(map(sum, scores)) * _SCORE_SCALE))
    report.count("nextlong_random_scored", sum(map(len, scores)))
    if dense is not None:
        cosines = dense.score(queries, drawn_ids)
        report.count("nextlong_random_cosine_e6", round(sum(map(sum, cosines)) * _SCORE_SCALE))
        report.count("nextlong_random_cosined", sum(map(len, cosines)))
    if label is not None:
        others = [pool.label_of_chunk(p) for draw in drawn for p in draw]
        report.count("nextlong_random_same_label", sum(o == label for o in others))
        report.count("nextlong_random_labelled", sum(o is not None for o in others))


# --------------------------------------------------------------------------------------------------------
# The strategy


tally_hardness = _tally_hardness
"""Public name of the hardness tally, for strategies built on NExtLong rows (``litelong-nextlong``)."""


class NExtLongStrategy(Strategy):
    """Seeds (corpus documents in a seeded order) -> one bundle each, with exactly one row of pieces."""

    name: ClassVar[str] = STRATEGY
    row_kind: ClassVar[RowKind] = "pretraining"
    citation: ClassVar[Citation | None] = Citation(
        "NExtLong", "2501.12766", "meta-document chunks interleaved with retrieved hard negative chunks"
    )

    def __init__(self, config: BaseConfig, context: StrategyContext | None = None) -> None:
        if not isinstance(config, NExtLongConfig):
            raise ConfigError(f"NExtLongStrategy needs a NExtLongConfig, got {type(config).__name__}.")
        super().__init__(config, context)
        self.config: NExtLongConfig = config

    def resources(self) -> NExtLongResources:
        return load_resources(self.config)

    def summarize(self, report: RunReport) -> dict[str, Any]:
        """The run's hardness figures, from the added-up counters of every shard."""
        if "hardness" not in report.extra:
            return {}
        return {"hardness": hardness_summary(report.stats, self.config.retriever)}

    def num_work_items(self) -> int:
        """Seed documents of the corpus (every accepted document is a potential meta-document)."""
        return len(self.resources().pool.doc_order)

    def miner(self, resources: NExtLongResources | None = None) -> NegativeMiner:
        resources = resources or self.resources()
        sep_tokens = len(TokenCounter.get(self.config.tokenizer).encode(self.config.separator))
        return NegativeMiner(
            resources.pool,
            resources.retriever,
            sep_tokens=sep_tokens,
            overfetch=self.config.overfetch,
            search_batch=self.config.search_batch,
            near_copies=self.config.near_copy_settings(),
        )

    def drafts(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Bundle]:
        """One bundle (``kind="seed"``, ``max_rows=1``) per seed of the shard that can fill its row.

        Seeds that cannot are counted in ``report.skipped["seed"]`` with the reason. Raises
        :class:`~litelong_hf.strategies.negatives.CorpusTooSmallError` when the whole corpus cannot fill
        one row.
        """
        config = self.config
        resources = self.resources()
        pool = resources.pool
        miner = self.miner(resources)
        miner.check_pool(config.target_tokens)
        if config.mix_short_ratio:
            miner.check_pool(config.mix_short_tokens)
        if shard == 0:
            report.merge(resources.corpus_report)  # corpus skips belong to the run once, not per shard
        # A numpy permutation and a range: no per-document Python objects, whatever the corpus size.
        order = np.random.default_rng(config.seed).permutation(len(pool.doc_order))
        positions = shard_slice(len(order), shard, num_shards)
        # A run of num_rows rows mines no more seeds at a time than the shard still needs: every seed is
        # mined on its own (hits never depend on the batch), so this changes no row, only wasted searches.
        quota = None if config.num_rows is None else _shard_rows(config.num_rows, shard, num_shards)
        yielded = 0

        def room() -> int | None:
            return None if quota is None else max(1, quota - yielded)

        for window in _windows(positions, order, pool, config, room):
            requests = [SeedRequest(pool.doc_order[int(order[i])], config.target_for(i)) for i in window]
            for position, result in zip(window, miner.mine(requests), strict=True):
                if isinstance(result, Shortfall):
                    report.skip("seed", result.reason)
                    continue
                yielded += 1
                yield self._bundle(result, position, resources, report)

    def _bundle(
        self, row: MinedRow, position: int, resources: NExtLongResources, report: RunReport
    ) -> Bundle:
        rng = np.random.default_rng((self.config.seed, position))
        _tally_hardness(row, resources, self.config.hardness_samples, rng, report)
        report.count("nextlong_seeds_mined")
        report.count("nextlong_k_sum", row.k)
        report.count("nextlong_meta_chunks", len(row.groups))
        report.count("nextlong_negatives", row.n_negatives)
        report.extra["hardness"] = hardness_summary(report.stats, self.config.retriever)
        pieces = row.pieces(resources.pool)
        resources.pool.release()  # the pieces hold their own copies of the texts
        return Bundle(
            key=row.doc_id,
            pieces=pieces,
            kind="seed",
            max_rows=1,
            target_tokens=row.target_tokens,
            extra=describe(row),
        )


def _shard_rows(num_rows: int, shard: int, num_shards: int) -> int:
    """Rows shard ``shard`` makes of ``num_rows`` (the pipeline's ``shard_quota``; pure)."""
    base, extra = divmod(num_rows, num_shards)
    return base + (1 if shard < extra else 0)


def _windows(
    positions: Sequence[int],
    order: Sequence[int] | np.ndarray,
    pool: ChunkPool,
    config: NExtLongConfig,
    room: Callable[[], int | None] = lambda: None,
) -> Iterator[list[int]]:
    """Consecutive seed positions searched together: ~search_batch queries, bounded planned tokens, and
    at most ``room()`` seeds (asked when a window opens: the rows the shard still needs)."""
    window: list[int] = []
    queries = tokens = 0
    limit = room()
    for i in positions:
        window.append(i)
        queries += len(pool.chunk_range(pool.doc_order[int(order[i])]))
        tokens += config.target_for(i)
        full = limit is not None and len(window) >= limit
        if queries >= config.search_batch or tokens >= _WINDOW_TOKENS or full:
            yield window
            window, queries, tokens = [], 0, 0
            limit = room()
    if window:
        yield window


register(STRATEGY, NExtLongConfig, NExtLongStrategy)
