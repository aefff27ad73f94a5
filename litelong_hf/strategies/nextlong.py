"""NExtLong (METHODS.md §2): each corpus document, chunked, interleaved with its hardest negatives.

For every seed document (in a seeded order) the strategy yields one bundle whose pieces fill exactly one
row: each meta-chunk at the head of its group, followed by the most similar chunks of *other* documents,
groups in the meta-chunks' original order. Pieces carry provenance (``role`` = ``meta`` / ``negative``,
``doc_id`` = chunk id ``"{doc_id}#c{index:04d}"``, ``score`` = the retriever's score: BM25, cosine or
fused reciprocal rank). ``retriever`` picks ``bm25`` (default), ``dense`` or ``hybrid``
(:class:`~.negatives.options.RetrievalOptions`); near-copies of the meta-document or of each other are
dropped for every retriever (:mod:`.negatives.nearcopy`).

Heavy resources (the corpus, its chunk pool with token counts, the memory-mapped chunk index and, for the
dense side, the pool's vectors) load once per process and are shared by every strategy object with the
same corpus and chunking (:mod:`.nextlong_resources`); the hardness report is :mod:`.nextlong_hardness`.

Example::

    config = make_config("nextlong-128k", max_documents=500, num_rows=2)
    path, report = run_shard(config, 0)
    report.extra["hardness"]   # mean BM25 (and cosine) of negatives vs random chunks, near-copy share
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..config import BaseConfig, ConfigError
from ..report import RunReport
from ..tokens import TokenCounter
from . import register
from .base import Bundle, Citation, RowKind, Strategy, shard_slice
from .chunking import SPLIT_MODES
from .context import StrategyContext
from .negatives import ChunkPool, MinedRow, NegativeMiner, SeedRequest, Shortfall, describe
from .negatives.options import RetrievalOptions
from .nextlong_hardness import HARDNESS_STATS, hardness_summary, tally_hardness
from .nextlong_resources import (
    NExtLongResources,
    chunk_index_key,
    load_resources,
    mining_index_config,
    mining_retriever,
    retrieval_key,
)

__all__ = [
    "HARDNESS_STATS",
    "NExtLongConfig",
    "NExtLongResources",
    "NExtLongStrategy",
    "chunk_index_key",
    "hardness_summary",
    "load_resources",
    "mining_index_config",
    "mining_retriever",
    "retrieval_key",
    "seed_order",
    "tally_hardness",
]

STRATEGY = "nextlong"
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


def seed_order(n_documents: int, seed: int) -> list[int]:
    """The seeded order in which documents become meta-documents (pure)."""
    return [int(i) for i in np.random.default_rng(seed).permutation(n_documents)]


# --------------------------------------------------------------------------------------------------------
# The strategy


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
        tally_hardness(row, resources, self.config.hardness_samples, rng, report)
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
