"""Pieces to rows of exactly ``target_tokens`` tokens.

A *piece* is a text with provenance (a retrieved document, a meta-chunk, a negative). Pieces are joined in
order with a separator (default a blank line) whose tokens count toward the piece before it; the piece
that overflows a row is cut at a token boundary (``cut_policy="truncate"``) or the row is dropped
(``"drop_row"``). Every piece ends up either in a row or in the leftovers with a reason: nothing is lost
silently.

:class:`RowPacker` decides which piece goes into which row; the exact text and ids of a row under
construction are :class:`~litelong_hf.row_assembler.RowAssembler`'s (``Piece`` and ``PackedRow`` are
defined there and re-exported here).

Example::

    packer = RowPacker(TokenCounter.get(), PackingConfig(target_tokens=131_072))
    leftovers: list[Leftover] = []
    for row in packer.pack(pieces, leftovers):
        assert len(row.input_ids) == 131_072
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .boundaries import supports_anchors
from .row_assembler import Join, PackedRow, Piece, RowAssembler
from .tokens import TokenCache, TokenCounter

__all__ = [
    "REASON_EMPTY",
    "REASON_NO_EXACT_CUT",
    "REASON_TAIL",
    "REASON_TOO_LONG",
    "CutPolicy",
    "Leftover",
    "PackedRow",
    "PackingConfig",
    "Piece",
    "RowAssembler",
    "RowPacker",
    "summarize_leftovers",
]

CutPolicy = Literal["truncate", "drop_row"]

REASON_TOO_LONG = "longer than target_tokens (allow_single_piece_rows=False)"
REASON_EMPTY = "empty piece (0 tokens)"
REASON_TAIL = "end of input: not enough pieces left to fill a row"
REASON_NO_EXACT_CUT = "no cut point gives exactly target_tokens (a multi-token character at the cut)"


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
class Leftover:
    """A piece that is in no row, and why."""

    doc_id: str
    role: str
    n_tokens: int
    reason: str


class RowPacker:
    """Tokenize pieces in batches and pack them into exact-length, canonical rows with provenance.

    ``truncate``: pieces are added in order; the one that overflows is cut at the character where the row
    has exactly ``target_tokens`` tokens. ``drop_row``: documents are never cut mid-way: when the next
    piece does not fit, the best-fitting piece of a look-ahead window takes its place, and a row that no
    whole piece can finish gets the shortest remaining piece, cut, as its final filler (counted in
    ``PackedRow.filler``).
    """

    def __init__(
        self,
        counter: TokenCounter,
        config: PackingConfig,
        *,
        batch_chars: int = 1_000_000,
        cache: TokenCache | None = None,
        lookahead: int = 64,
    ) -> None:
        self.counter = counter
        self.config = config
        self.batch_chars = batch_chars
        self.cache = cache or TokenCache(counter, max_tokens=0)
        self.lookahead = lookahead
        self.anchors = supports_anchors(counter)

    def _assembler(self) -> RowAssembler:
        return RowAssembler(self.counter, self.config.separator, anchors=self.anchors)

    def _encoded(self, pieces: Iterable[Piece]) -> Iterator[tuple[Piece, np.ndarray]]:
        for batch in _batches(pieces, self.batch_chars):
            encoded = self.cache.encode_batch([p.text for p in batch])
            yield from zip(batch, encoded, strict=True)

    def pack(self, pieces: Iterable[Piece], leftovers: list[Leftover] | None = None) -> Iterator[PackedRow]:
        """Rows from ``pieces``; pieces in no row are appended to ``leftovers`` with a reason.

        Memory stays bounded by one row plus one tokenization batch, whatever the number of rows.
        """
        sink: list[Leftover] = [] if leftovers is None else leftovers
        if self.config.cut_policy == "drop_row":
            yield from self._pack_fitting(self._encoded(pieces), sink)
        else:
            yield from self._pack_in_order(self._encoded(pieces), sink)

    def _usable(self, piece: Piece, ids: np.ndarray, sink: list[Leftover], *, long_ok: bool) -> bool:
        """False, with a leftover, for an empty piece or one longer than a row (unless ``long_ok``)."""
        if len(ids) == 0:
            reason = REASON_EMPTY
        elif len(ids) > self.config.target_tokens and not long_ok:
            reason = REASON_TOO_LONG
        else:
            return True
        sink.append(Leftover(piece.doc_id, piece.role, len(ids), reason))
        return False

    def _single(self, piece: Piece, ids: np.ndarray, sink: list[Leftover]) -> PackedRow | None:
        """A piece longer than a row, alone in its own row (``allow_single_piece_rows``)."""
        row = self._assembler()
        join = row.cut(piece, ids, self.config.target_tokens)
        if join is None:
            sink.append(Leftover(piece.doc_id, piece.role, len(ids), REASON_NO_EXACT_CUT))
            return None
        row.commit(join)
        packed = row.finish()
        packed.cut_tokens = max(0, len(ids) - packed.n_tokens)
        return packed

    def _pack_in_order(
        self, encoded: Iterable[tuple[Piece, np.ndarray]], sink: list[Leftover]
    ) -> Iterator[PackedRow]:
        target = self.config.target_tokens
        row = self._assembler()
        deferred: list[PackedRow] = []  # single-piece rows wait for the open row: rows keep piece order
        queue: list[tuple[Piece, np.ndarray]] = []
        stream = iter(encoded)
        while True:
            if queue:
                piece, ids = queue.pop()
            else:
                item = next(stream, None)
                if item is None:
                    break
                piece, ids = item
            if not self._usable(piece, ids, sink, long_ok=self.config.allow_single_piece_rows):
                continue
            if len(ids) > target:
                single = self._single(piece, ids, sink)
                if single is not None:
                    if row.empty:
                        yield single
                    else:
                        deferred.append(single)
                continue
            join = row.plan(piece, ids)
            if join.n_tokens < target:
                row.commit(join)
                continue
            if join.n_tokens > target:
                cut = row.cut(piece, ids, target)
                if cut is None:
                    sink.append(Leftover(piece.doc_id, piece.role, len(ids), REASON_NO_EXACT_CUT))
                    continue
                join = cut
                if join.stop == 0:
                    queue.append((piece, ids))  # only the separator fitted: the piece opens the next row
            row.commit(join)
            packed = row.finish()
            if 0 < join.stop < len(piece.text):
                packed.cut_tokens = max(0, len(ids) - packed.piece_lengths[-1])
            yield packed
            yield from deferred
            deferred, row = [], self._assembler()
        for piece, count in row.slots:
            sink.append(Leftover(piece.doc_id, piece.role, count, REASON_TAIL))
        yield from deferred

    def _best_fit(self, row: RowAssembler, window: list[tuple[Piece, np.ndarray]]) -> tuple[int, Join] | None:
        """The next piece when it fits whole, else the longest piece of ``window`` that fits (exactly
        planned; standalone lengths only choose which to plan), else None."""
        target = self.config.target_tokens
        join = row.plan(*window[0])
        if join.n_tokens <= target:
            return 0, join
        room = target - row.n_tokens
        by_length = sorted(range(1, len(window)), key=lambda i: (-len(window[i][1]), i))
        for i in by_length:
            if len(window[i][1]) > room:
                continue
            join = row.plan(*window[i])
            if join.n_tokens <= target:
                return i, join
        return None

    def _pack_fitting(
        self, encoded: Iterable[tuple[Piece, np.ndarray]], sink: list[Leftover]
    ) -> Iterator[PackedRow]:
        target = self.config.target_tokens
        stream = iter(encoded)
        window: list[tuple[Piece, np.ndarray]] = []
        row = self._assembler()
        while True:
            while len(window) < self.lookahead:
                item = next(stream, None)
                if item is None:
                    break
                if self._usable(*item, sink, long_ok=False):
                    window.append(item)
            if not window:
                break
            choice = self._best_fit(row, window)
            if choice is not None:
                index, join = choice
                row.commit(join)
                window.pop(index)
                if join.n_tokens == target:
                    yield row.finish()
                    row = self._assembler()
                continue
            # Nothing fits whole: the shortest piece that can close the row is cut as its filler.
            for i in sorted(range(len(window)), key=lambda i: (len(window[i][1]), i)):
                piece, ids = window[i]
                filler = row.cut(piece, ids, target)
                if filler is not None and filler.stop > 0:
                    row.commit(filler)
                    window.pop(i)
                    packed = row.finish()
                    packed.cut_tokens = max(0, len(ids) - packed.piece_lengths[-1])
                    packed.filler = True
                    yield packed
                    row = self._assembler()
                    break
            else:
                # No piece can close this row exactly (token merges at every cut): its pieces become
                # leftovers and the window opens a fresh row, so the rest of the stream is still packed.
                for piece, count in row.slots:
                    sink.append(Leftover(piece.doc_id, piece.role, count, REASON_NO_EXACT_CUT))
                row = self._assembler()
        for piece, count in row.slots:
            sink.append(Leftover(piece.doc_id, piece.role, count, REASON_TAIL))
        for piece, ids in window:
            sink.append(Leftover(piece.doc_id, piece.role, len(ids), REASON_TAIL))


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
