"""The strategy protocol: every synthesis method yields *drafts*, never rows.

Two kinds of draft exist, one per row schema (DESIGN.md):

- :class:`Bundle`: ordered pieces that belong together in pretraining rows (a LiteLong topic, a NExtLong
  meta-document). ``rows.py`` packs them into rows of exactly ``target_tokens``.
- :class:`ConversationDraft`: one finished conversation (documents + question/answer turns) for an
  instruction row, already fitted to the target with the chat template. ``rows.py`` turns it into a row.

The pipeline (``litelong_hf.pipeline``) knows no strategy by name: it asks the registry for the strategy
of a config, iterates ``strategy.drafts(...)``, hands each draft to ``rows.py``, writes the rows and the
transcripts the strategy declares (``take_transcripts``), closes the strategy and merges the shard reports,
letting the strategy add its own summary (``summarize``). A strategy therefore never tokenizes for
packing, never writes files and never builds row dicts.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ..config import BaseConfig
from ..packing import Piece
from ..report import RunReport
from .context import StrategyContext

RowKind = Literal["pretraining", "instruction"]


@dataclass
class Bundle:
    """Pieces that belong together in pretraining rows, in order (a LiteLong topic, a NExtLong seed)."""

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


@dataclass
class ConversationDraft:
    """One instruction row before it gets its id and provenance: chat messages plus what they came from."""

    messages: list[dict[str, str]]
    """``[{role, content}, ...]``: the first user turn holds the documents, then question/answer turns."""
    n_tokens: int
    """Tokens of ``messages`` rendered with the chat template (≤ the config's ``target_tokens``)."""
    documents: list[dict[str, Any]] = field(default_factory=list)
    """``[{doc_id, n_tokens}, ...]`` in the order they appear in the first user turn."""
    questions: list[dict[str, Any]] = field(default_factory=list)
    """``[{level, kind, doc_index}, ...]``, one per question turn, in order."""


Draft = Bundle | ConversationDraft


@dataclass(frozen=True)
class Citation:
    """The paper a strategy implements, for the dataset card's references."""

    name: str
    arxiv: str
    what: str


class Strategy(abc.ABC):
    """A synthesis method. Instances are cheap; heavy resources load lazily and are cached per process.

    Subclasses set ``name`` and ``row_kind``, call ``super().__init__(config, context)`` and implement
    :meth:`num_work_items` and :meth:`drafts`; :meth:`validate`, :meth:`summarize` and :meth:`close` have
    defaults. The corpus's store, its index and the LLMs come from ``self.context``
    (:class:`~litelong_hf.strategies.context.StrategyContext`), never opened by the strategy itself.
    What a strategy hands back besides drafts is declared here and read by the pipeline:
    :meth:`take_transcripts` (written next to the shard's rows) and :meth:`summarize` (run-level report
    entries).
    """

    name: ClassVar[str]
    row_kind: ClassVar[RowKind]
    """Which row schema the strategy's drafts become (asked through ``strategies.row_kind_of``)."""
    citation: ClassVar[Citation | None] = None
    """The paper of the method, listed in every dataset card's references (None: a baseline)."""

    def __init__(self, config: BaseConfig, context: StrategyContext | None = None) -> None:
        """``context``: the store, index and LLMs the strategy asks for (the pipeline builds it; default:
        one on the config's cache root)."""
        self.config = config
        self.context = context if context is not None else StrategyContext(cache_dir=config.cache_dir)
        self._transcripts: list[dict[str, Any]] = []

    @abc.abstractmethod
    def num_work_items(self) -> int:
        """How many units of work (topics' categories, seed documents) the run has; shards slice them."""

    @abc.abstractmethod
    def drafts(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Draft]:
        """The drafts of shard ``shard`` of ``num_shards``, deterministic for a given config.

        Consumed lazily: the pipeline stops iterating once the shard has its rows."""

    def validate(self) -> None:  # noqa: B027 - a default, not an abstract method
        """Raise the project's own error for bad input before any work starts (default: nothing to check)."""

    def summarize(self, report: RunReport) -> dict[str, Any]:
        """Run-level entries for ``report.extra`` computed from the merged (added-up) shard reports."""
        del report
        return {}

    def card_entries(self, transcripts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Report entries the dataset card shows, made from the run's transcripts (default: none)."""
        del transcripts
        return {}

    def close(self) -> None:  # noqa: B027 - a default, not an abstract method
        """Release what the strategy opened (called by the pipeline once a shard has its rows)."""

    def record_transcript(self, transcript: dict[str, Any]) -> None:
        """Keep one transcript (a debate, a QA conversation) for the shard's ``transcripts.jsonl``."""
        self._transcripts.append(transcript)

    def take_transcripts(self) -> list[dict[str, Any]]:
        """The transcripts recorded since the last call, in order (the pipeline writes them)."""
        taken, self._transcripts = self._transcripts, []
        return taken


def shard_slice(n_items: int, shard: int, num_shards: int) -> range:
    """Contiguous, balanced slice of ``range(n_items)`` for one shard (pure)."""
    if not 0 <= shard < num_shards:
        raise ValueError(f"shard {shard} out of range for {num_shards} shards")
    base, extra = divmod(n_items, num_shards)
    start = shard * base + min(shard, extra)
    return range(start, start + base + (1 if shard < extra else 0))
