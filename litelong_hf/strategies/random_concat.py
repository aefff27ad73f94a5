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
from functools import lru_cache
from typing import ClassVar

import numpy as np

from ..config import BaseConfig, ConfigError
from ..docstore import DocumentStore
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

    def _order(self) -> np.ndarray:
        """Every document position in one seeded order: a pure function of the config, not of shards."""
        return seeded_order(len(self.context.store(self.config.corpus_config())), self.config.seed)

    def num_work_items(self) -> int:
        return -(-len(self._order()) // self.config.documents_per_bundle)

    def validate(self) -> None:
        if self.num_work_items() == 0:
            raise ConfigError(f"corpus {self.config.corpus!r} has no documents to concatenate.")

    def drafts(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Bundle]:
        store = self.context.store(self.config.corpus_config())
        order, size = self._order(), self.config.documents_per_bundle
        for bundle in shard_slice(self.num_work_items(), shard, num_shards):
            chosen = order[bundle * size : (bundle + 1) * size].tolist()
            yield Bundle(key=f"bundle-{bundle}", pieces=_pieces(store, chosen), kind="bundle")


def _pieces(store: DocumentStore, positions: list[int], batch: int = 512) -> Iterator[Piece]:
    """The documents at ``positions`` as pieces, in order, read ``batch`` at a time (sorted reads; a
    bundle that stops early reads at most one batch it does not use)."""
    for start in range(0, len(positions), batch):
        chunk = positions[start : start + batch]
        texts, ids = store.texts(chunk), store.doc_ids_at(chunk)
        yield from (Piece(t, d, role="random") for t, d in zip(texts, ids, strict=True))


@lru_cache(maxsize=4)
def seeded_order(n_documents: int, seed: int) -> np.ndarray:
    """``range(n_documents)`` shuffled by ``random.Random`` seeded from ``seed`` (pure). Cached: every
    strategy object of a process asks for it (counting work items, validating, drafting), and the
    shuffle of a large corpus takes seconds."""
    positions = list(range(n_documents))
    random.Random(seed_for(seed, STRATEGY)).shuffle(positions)
    order = np.asarray(positions, dtype=np.int64)
    order.setflags(write=False)
    return order


register(STRATEGY, RandomConcatConfig, RandomConcatStrategy)
