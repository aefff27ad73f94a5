"""``random-concat``: the baseline every method is measured against (and the worked example of
docs/architecture.md). Documents of the corpus in a seeded random order, concatenated into rows.

It is everything a strategy needs: a config dataclass, a :class:`~.base.Strategy` subclass with
``num_work_items``, ``drafts`` yielding :class:`Bundle`s and ``validate`` (``summarize`` and ``close`` keep
their defaults), and one ``register`` call. Rows, packing, checkpoints and reports come from the pipeline.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from ..config import BaseConfig, ConfigError
from ..packing import Piece
from ..report import RunReport
from . import register
from .base import Bundle, RowKind, Strategy, shard_slice
from .common import seed_for
from .context import StrategyContext

STRATEGY = "random-concat"


@dataclass
class RandomConcatConfig(BaseConfig):
    """Random concatenation of corpus documents (the baseline of the quality scores)."""

    documents_per_bundle: int = field(
        default=256,
        metadata={"min": 1, "help": "Documents shuffled together per unit of work (a bundle of pieces)."},
    )


class RandomConcatStrategy(Strategy):
    name: ClassVar[str] = STRATEGY
    row_kind: ClassVar[RowKind] = "pretraining"

    def __init__(self, config: BaseConfig, context: StrategyContext | None = None) -> None:
        if not isinstance(config, RandomConcatConfig):
            raise ConfigError(f"{STRATEGY} needs a RandomConcatConfig, got {type(config).__name__}.")
        super().__init__(config, context)
        self.config: RandomConcatConfig = config

    def _order(self) -> list[int]:
        """Every document position in one seeded order: a pure function of the config, not of shards."""
        positions = list(range(len(self.context.store(self.config.corpus_config()))))
        random.Random(seed_for(self.config.seed, STRATEGY)).shuffle(positions)
        return positions

    def num_work_items(self) -> int:
        return -(-len(self._order()) // self.config.documents_per_bundle)

    def validate(self) -> None:
        if self.num_work_items() == 0:
            raise ConfigError(f"corpus {self.config.corpus!r} has no documents to concatenate.")

    def drafts(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Bundle]:
        store = self.context.store(self.config.corpus_config())
        order, size = self._order(), self.config.documents_per_bundle
        for bundle in shard_slice(self.num_work_items(), shard, num_shards):
            chosen = order[bundle * size : (bundle + 1) * size]
            pieces = (Piece(store.text(i), store.doc_id(i), role="random") for i in chosen)
            yield Bundle(key=f"bundle-{bundle}", pieces=pieces, kind="bundle")


register(STRATEGY, RandomConcatConfig, RandomConcatStrategy)
