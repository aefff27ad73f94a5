"""What every strategy provides: units of work (shards) that yield bundles of pieces, never rows.

The pipeline (``litelong_hf.pipeline``) packs each bundle's pieces into exact-length rows, writes them and
reports what did not become a row. A strategy therefore never tokenizes for packing, never writes files
and never builds row dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ..config import BaseConfig
from ..packing import Piece
from ..report import RunReport


@dataclass
class Bundle:
    """Pieces that belong together in rows, in order (a LiteLong topic, a NExtLong meta-document)."""

    key: str
    """What the bundle is about (topic title, meta-document id); used in reports."""
    pieces: Iterable[Piece]
    """The ordered pieces; consumed lazily."""
    kind: str = "topic"
    """What an unfilled bundle is counted as in the report's skips (``topic``, ``seed``...)."""
    topic: dict[str, str] | None = None
    """LiteLong topic path ``{top, sub, title}`` written to every row of the bundle."""
    max_rows: int | None = None
    """Stop after this many rows from this bundle."""
    target_tokens: int | None = None
    """Row length for this bundle when it differs from the config's (mixed-length recipes)."""
    extra: dict[str, Any] = field(default_factory=dict)


class Strategy(Protocol):
    """A synthesis method. Instances are cheap; heavy resources load lazily and are cached per process."""

    name: ClassVar[str]
    config: BaseConfig

    def num_work_items(self) -> int:
        """How many units of work (topics' categories, seed documents) the run has; shards slice them."""
        ...

    def validate(self) -> None:
        """Raise for bad input before any work starts (optional: the builder calls it when present)."""
        ...

    def bundles(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Bundle]:
        """The bundles of shard ``shard`` of ``num_shards``, deterministic for a given config."""
        ...


def shard_slice(n_items: int, shard: int, num_shards: int) -> range:
    """Contiguous, balanced slice of ``range(n_items)`` for one shard (pure)."""
    if not 0 <= shard < num_shards:
        raise ValueError(f"shard {shard} out of range for {num_shards} shards")
    base, extra = divmod(n_items, num_shards)
    start = shard * base + min(shard, extra)
    return range(start, start + base + (1 if shard < extra else 0))
