"""LiteLong + NExtLong: LiteLong topics and retrieval, then NExtLong rows mined within each topic.

LiteLong's debate and BM25 retrieval first; then, per kept topic, the first ``rows_per_topic`` retrieved
documents (in the topic's seeded order) become NExtLong meta-documents whose hard negatives are mined only
among chunks of the documents retrieved for that topic, not the whole corpus (METHODS.md, end of §2). Rows
carry the topic path and NExtLong provenance (``meta`` / ``negative`` chunk ids with the retriever's scores).

What the numbers of the LiteLong paper say (its Table 7, HELMET+RULER): the combination's best, 63.04 at
128K, mined NExtLong's negatives with **dense** embeddings (``litelong-nextlong-dense-128k``). With BM25
negatives (``litelong-nextlong-128k``, ``retriever: bm25``) NExtLong alone measured a tie with LiteLong at
64K (BM25-NExtLong 50.67 vs LiteLong 50.69) and below it at 128K (61.37 vs 61.90); the BM25 combination
itself has no published number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..config import BaseConfig, ConfigError
from ..report import RunReport
from .base import Bundle
from .common import seed_for
from .context import StrategyContext
from .litelong import LiteLongConfig, LiteLongStrategy
from .negatives import SeedRequest, Shortfall
from .negatives.options import RetrievalOptions
from .nextlong import NExtLongConfig, NExtLongStrategy, hardness_summary, tally_hardness

STRATEGY = "litelong-nextlong"


def _nextlong_field(name: str) -> Any:
    """NExtLong's own field ``name`` (default and help): the NExtLong knobs here mean the same thing."""
    own = NExtLongConfig.__dataclass_fields__[name]
    return field(default=own.default, metadata=own.metadata)


@dataclass
class LiteLongNExtLongConfig(RetrievalOptions, LiteLongConfig):
    """LiteLong topics and retrieval, then NExtLong rows whose negatives come from each topic's documents."""

    strategy: str = field(default=STRATEGY, metadata={"help": "Always ``litelong-nextlong``."})
    relevance_floor: float = field(
        default=0.0,
        metadata={
            "help": "Share of the topic's best score a document needs to enter the topic's pool (0: every "
            "retrieved document: NExtLong mines hard negatives among all of them)."
        },
    )
    chunk_chars: int = _nextlong_field("chunk_chars")
    split_long_lines: str = _nextlong_field("split_long_lines")
    overfetch: float = _nextlong_field("overfetch")
    search_batch: int = _nextlong_field("search_batch")
    bm25_backend: str = _nextlong_field("bm25_backend")
    label_field: str | None = _nextlong_field("label_field")
    hardness_samples: int = _nextlong_field("hardness_samples")
    # retriever, embedding_*, hybrid_*, near_copy_* and hardness_cosine: RetrievalOptions, via NExtLongConfig

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.strategy != STRATEGY:
            raise ConfigError(f"LiteLongNExtLongConfig needs strategy {STRATEGY!r}, got {self.strategy!r}.")
        self.check_retrieval(ConfigError)
        if self.cut_policy != "truncate":
            raise ConfigError(
                "litelong-nextlong fills rows by cutting the last piece: set cut_policy='truncate'."
            )

    def nextlong_config(self) -> NExtLongConfig:
        """The NExtLong settings of this run (same corpus, tokenizer, chunking and cache)."""
        mine = {f.name for f in dataclasses.fields(self)}
        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(NExtLongConfig) if f.name in mine}
        shared["strategy"] = "nextlong"
        return NExtLongConfig(**shared)


class LiteLongNExtLongStrategy(LiteLongStrategy):
    """Topic bundles of LiteLong turned into NExtLong seeds mined within the topic's documents."""

    name: ClassVar[str] = STRATEGY

    def summarize(self, report: RunReport) -> dict[str, Any]:
        """The run's hardness figures, from the added-up counters of every shard."""
        if "hardness" not in report.extra:
            return {}
        return {"hardness": hardness_summary(report.stats, self.combined.retriever)}

    def __init__(self, config: BaseConfig, context: StrategyContext | None = None) -> None:
        if not isinstance(config, LiteLongNExtLongConfig):
            raise TypeError("LiteLongNExtLongStrategy needs a LiteLongNExtLongConfig")
        super().__init__(config, context=context)
        self.combined: LiteLongNExtLongConfig = config
        self.nextlong = NExtLongStrategy(config.nextlong_config(), self.context)

    def drafts(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Bundle]:
        c = self.combined
        resources = self.nextlong.resources()
        miner = self.nextlong.miner(resources)
        # A topic's relevant documents hold its rows' negatives; the first ones of the plan are the seeds.
        for topic, plan in self.retrieved(shard, num_shards, report):
            topic_docs = [h.doc_id for h in plan.hits]
            seeds = [SeedRequest(doc_id, c.target_tokens) for doc_id in topic_docs[: plan.rows]]
            made = 0
            for position, result in enumerate(miner.mine(seeds, pool_doc_ids=topic_docs)):
                if isinstance(result, Shortfall):
                    report.skip("seed", result.reason)
                    continue
                rng = np.random.default_rng((c.seed, seed_for(topic.title) % 2**32, position))
                tally_hardness(result, resources, c.hardness_samples, rng, report)
                report.count("nextlong_negatives", result.n_negatives)
                made += 1
                yield Bundle(
                    key=f"{topic.title} / {result.doc_id}",
                    pieces=result.pieces(resources.pool),
                    kind="seed",
                    topic=topic.path(),
                    max_rows=1,
                    target_tokens=result.target_tokens,
                )
            if made == 0:
                report.skip("topic", "no seed of the topic could be filled from the topic's documents")
        report.extra["hardness"] = hardness_summary(report.stats, c.retriever)


def _register() -> None:
    from . import register

    register(STRATEGY, LiteLongNExtLongConfig, LiteLongNExtLongStrategy)


_register()
