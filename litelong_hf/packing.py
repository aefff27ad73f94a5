"""Pieces to rows of exactly ``target_tokens`` tokens.

A *piece* is a text with provenance (a retrieved document, a meta-chunk, a negative). Pieces are joined in
order with a separator (default a blank line) whose tokens count toward the piece before it; the piece
that overflows a row is cut at a token boundary (``cut_policy="truncate"``) or the row is dropped
(``"drop_row"``). Every piece ends up either in a row or in the leftovers with a reason: nothing is lost
silently.

The arithmetic lives in :class:`RowPlanner`, which sees only token lengths; :class:`RowPacker` adds the
tokenizer, the ids and the text.

Example::

    packer = RowPacker(TokenCounter.get(), PackingConfig(target_tokens=131_072))
    leftovers: list[Leftover] = []
    for row in packer.pack(pieces, leftovers):
        assert len(row.input_ids) == 131_072
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .tokens import TokenCache, TokenCounter

CutPolicy = Literal["truncate", "drop_row"]

REASON_TOO_LONG = "longer than target_tokens (allow_single_piece_rows=False)"
REASON_EMPTY = "empty piece (0 tokens)"
REASON_TAIL = "end of input: not enough pieces left to fill a row"
REASON_DROP_ROW = "row needed a cut (cut_policy=drop_row)"


@dataclass(frozen=True)
class Piece:
    """A text to place in a row, with where it came from."""

    text: str
    doc_id: str
    role: str = "retrieved"
    """``retrieved`` (LiteLong), ``meta`` or ``negative`` (NExtLong), or any label a strategy uses."""
    score: float | None = None
    """Retrieval score, when the piece was retrieved."""


@dataclass(frozen=True)
class PackingConfig:
    """How pieces are joined and cut."""

    target_tokens: int
    """Exact length of every row, in tokens of the target tokenizer."""
    separator: str = "\n\n"
    """Text placed between consecutive pieces of a row; its tokens count toward the piece before it."""
    cut_policy: CutPolicy = "truncate"
    """``truncate``: cut the piece that overflows at the token boundary. ``drop_row``: never cut; a row that
    cannot end exactly on a piece boundary is dropped and its pieces reported as leftovers."""
    allow_single_piece_rows: bool = False
    """A piece longer than a whole row becomes its own (truncated) row; otherwise it is a leftover."""

    def __post_init__(self) -> None:
        if self.target_tokens <= 0:
            raise ValueError(f"target_tokens must be positive, got {self.target_tokens}.")
        if self.cut_policy not in ("truncate", "drop_row"):
            raise ValueError(f"cut_policy must be 'truncate' or 'drop_row', got {self.cut_policy!r}.")


@dataclass(frozen=True)
class Part:
    """One piece's share of a planned row: ``take`` of its tokens, then ``sep`` separator tokens."""

    index: int
    take: int
    sep: int = 0


@dataclass(frozen=True)
class PlannedRow:
    parts: tuple[Part, ...]

    @property
    def n_tokens(self) -> int:
        return sum(p.take + p.sep for p in self.parts)


@dataclass(frozen=True)
class PlannedLeftover:
    index: int
    reason: str


PlanEvent = PlannedRow | PlannedLeftover


@dataclass
class RowPlanner:
    """Greedy exact-length planning over piece lengths only (pure: no text, no tokenizer).

    Feed lengths with :meth:`push`, in order; each call returns the rows and leftovers it settled. Call
    :meth:`finish` at the end for the pieces of the last, unfilled row.
    """

    target: int
    sep_len: int
    cut_policy: CutPolicy = "truncate"
    allow_single_piece_rows: bool = False
    _open: list[tuple[int, int]] = field(default_factory=list)  # (index, length) of the open row
    _deferred: list[PlannedRow] = field(default_factory=list)  # single-piece rows waiting for the open row
    _used: int = 0
    _count: int = 0

    def push(self, length: int) -> list[PlanEvent]:
        index = self._count
        self._count += 1
        if length <= 0:
            return [PlannedLeftover(index, REASON_EMPTY)]
        if length > self.target:
            if self.allow_single_piece_rows:
                # Rows come out in the order of their first piece: wait for the open row to close.
                row = PlannedRow((Part(index, self.target),))
                if self._open:
                    self._deferred.append(row)
                    return []
                return [row]
            return [PlannedLeftover(index, REASON_TOO_LONG)]
        cost = length + (self.sep_len if self._open else 0)
        if self._used + cost <= self.target:
            self._open.append((index, length))
            self._used += cost
            return self._close() if self._used == self.target else []
        if self.cut_policy == "drop_row":
            events: list[PlanEvent] = [PlannedLeftover(i, REASON_DROP_ROW) for i, _ in self._open]
            events += self._deferred
            self._open, self._used, self._deferred = [(index, length)], length, []
            return events + (self._close() if self._used == self.target else [])
        room = self.target - self._used - self.sep_len
        if room <= 0:
            # Not even the separator fits whole: end the row with part of it, start the next with this piece.
            events = self._close(last_sep=self.target - self._used)
            self._open, self._used = [(index, length)], length
            return events + (self._close() if self._used == self.target else [])
        self._open.append((index, room))
        self._used = self.target
        return self._close()

    def _close(self, last_sep: int = 0) -> list[PlanEvent]:
        parts = [Part(i, n, self.sep_len) for i, n in self._open[:-1]]
        last_index, last_len = self._open[-1]
        parts.append(Part(last_index, last_len, last_sep))
        events: list[PlanEvent] = [PlannedRow(tuple(parts)), *self._deferred]
        self._open, self._used, self._deferred = [], 0, []
        return events

    def finish(self) -> list[PlanEvent]:
        events: list[PlanEvent] = [PlannedLeftover(i, REASON_TAIL) for i, _ in self._open]
        events += self._deferred
        self._open, self._used, self._deferred = [], 0, []
        return events


@dataclass
class PackedRow:
    """A finished row: exactly ``target_tokens`` ids, its text, and per-piece provenance."""

    input_ids: np.ndarray
    """int32 token ids, ``len == target_tokens``."""
    text: str
    """The row's text (equal to decoding ``input_ids``)."""
    piece_lengths: list[int]
    """Tokens of each piece in order, its trailing separator included; sums to ``target_tokens``."""
    sources: list[dict[str, Any]]
    """Per piece: ``doc_id``, ``role``, ``n_tokens`` (= its piece length) and ``score``."""
    cut_tokens: int = 0
    """Tokens of the last piece that did not fit and were cut off."""

    @property
    def n_tokens(self) -> int:
        return int(self.input_ids.shape[0])


@dataclass(frozen=True)
class Leftover:
    """A piece that is in no row, and why."""

    doc_id: str
    role: str
    n_tokens: int
    reason: str


class RowPacker:
    """Tokenize pieces in batches and pack them into exact-length rows with provenance."""

    def __init__(
        self,
        counter: TokenCounter,
        config: PackingConfig,
        *,
        batch_chars: int = 1_000_000,
        cache: TokenCache | None = None,
    ) -> None:
        self.counter = counter
        self.config = config
        self.batch_chars = batch_chars
        self.cache = cache or TokenCache(counter, max_tokens=0)
        self.sep_ids = np.asarray(counter.encode(config.separator), dtype=np.int32)

    def pack(self, pieces: Iterable[Piece], leftovers: list[Leftover] | None = None) -> Iterator[PackedRow]:
        """Rows from ``pieces`` in order; pieces in no row are appended to ``leftovers``.

        Memory stays bounded by one row plus one tokenization batch, whatever the number of rows.
        """
        planner = RowPlanner(
            self.config.target_tokens,
            len(self.sep_ids),
            self.config.cut_policy,
            self.config.allow_single_piece_rows,
        )
        pending: dict[int, tuple[Piece, np.ndarray]] = {}
        index = 0
        for batch in _batches(pieces, self.batch_chars):
            encoded = self.cache.encode_batch([p.text for p in batch])
            for piece, ids in zip(batch, encoded, strict=True):
                pending[index] = (piece, ids)
                index += 1
                yield from self._settle(planner.push(len(ids)), pending, leftovers)
        yield from self._settle(planner.finish(), pending, leftovers)

    def _settle(
        self,
        events: list[PlanEvent],
        pending: dict[int, tuple[Piece, np.ndarray]],
        leftovers: list[Leftover] | None,
    ) -> Iterator[PackedRow]:
        for event in events:
            if isinstance(event, PlannedLeftover):
                piece, ids = pending.pop(event.index)
                if leftovers is not None:
                    leftovers.append(Leftover(piece.doc_id, piece.role, len(ids), event.reason))
            else:
                yield self._build(event, pending)

    def _build(self, plan: PlannedRow, pending: dict[int, tuple[Piece, np.ndarray]]) -> PackedRow:
        arrays: list[np.ndarray] = []
        texts: list[str] = []
        lengths: list[int] = []
        sources: list[dict[str, Any]] = []
        cut = 0
        for part in plan.parts:
            piece, ids = pending.pop(part.index)
            if part.take == len(ids):
                arrays.append(ids)
                texts.append(piece.text)
            else:
                arrays.append(ids[: part.take])
                texts.append(self.counter.decode(ids[: part.take].tolist()))
                cut += len(ids) - part.take
            if part.sep:
                arrays.append(self.sep_ids[: part.sep])
                texts.append(
                    self.config.separator
                    if part.sep == len(self.sep_ids)
                    else self.counter.decode(self.sep_ids[: part.sep].tolist())
                )
            n = part.take + part.sep
            lengths.append(n)
            sources.append({"doc_id": piece.doc_id, "role": piece.role, "n_tokens": n, "score": piece.score})
        input_ids = np.concatenate(arrays) if len(arrays) > 1 else arrays[0].copy()
        return PackedRow(input_ids, "".join(texts), lengths, sources, cut)


def _batches(pieces: Iterable[Piece], max_chars: int) -> Iterator[list[Piece]]:
    batch: list[Piece] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece.text)
        if size >= max_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def summarize_leftovers(leftovers: Sequence[Leftover]) -> dict[str, int]:
    """Count leftovers per reason (for the run report)."""
    counts: dict[str, int] = {}
    for item in leftovers:
        counts[item.reason] = counts.get(item.reason, 0) + 1
    return dict(sorted(counts.items()))
