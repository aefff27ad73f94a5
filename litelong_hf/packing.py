"""Pieces to rows of exactly ``target_tokens`` tokens.
(Over 400 lines on purpose: the exact row assembler and both packing policies share one join arithmetic.)

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
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .boundaries import first_anchor, last_anchor, supports_anchors, token_char_offsets, token_index_at
from .tokens import TokenCache, TokenCounter

CutPolicy = Literal["truncate", "drop_row"]

REASON_TOO_LONG = "longer than target_tokens (allow_single_piece_rows=False)"
REASON_EMPTY = "empty piece (0 tokens)"
REASON_TAIL = "end of input: not enough pieces left to fill a row"
REASON_NO_EXACT_CUT = "no cut point gives exactly target_tokens (a multi-token character at the cut)"


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
    filler: bool = False
    """``drop_row`` only: the row ends with a cut filler piece because no whole piece fitted."""

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


@dataclass
class _Join:
    """What appending ``prefix + piece.text[:stop]`` to a row does, computed once, committed or not."""

    piece: Piece
    ids: np.ndarray
    prefix: str
    """The separator before the piece (empty for a row's first piece)."""
    stop: int
    """Characters of the piece appended (``len(piece.text)`` for the whole piece)."""
    commit: list[np.ndarray]
    """Exact ids that become final (everything up to the last anchor inside the appended text)."""
    tail_text: str
    tail_ids: np.ndarray
    starts: list[tuple[int, int]]
    """(piece slot, token index relative to ``commit``) of piece starts that become final."""
    pending: list[tuple[int, int]]
    """(piece slot, character offset in ``tail_text``) of piece starts still waiting for their tokens."""
    n_tokens: int
    """Exact tokens of the row after this join."""


def _token_at(offsets: np.ndarray, position: int) -> int:
    """Index of the token that holds character ``position`` (a piece starts in the token holding its first
    character: a separator or space merged into that token belongs to the piece)."""
    return max(0, int(np.searchsorted(offsets, position, side="right")) - 1)


class RowAssembler:
    """The exact text and ids of one row under construction: ``encode(text) == ids`` at every step.

    Pieces are appended with the separator before them. Only the text from the last anchor of the row
    (see :mod:`litelong_hf.boundaries`) to its end is ever re-encoded; before it, ids are final.
    """

    def __init__(self, counter: TokenCounter, separator: str, *, anchors: bool) -> None:
        self.counter = counter
        self.separator = separator
        self.anchors = anchors
        self.committed: list[np.ndarray] = []
        self.committed_len = 0
        self.tail_text = ""
        self.tail_ids = np.zeros(0, dtype=np.int32)
        self.texts: list[str] = []
        self.slots: list[tuple[Piece, int]] = []  # (piece, its standalone token count)
        self.starts: dict[int, int] = {}  # slot -> absolute token index where the piece starts
        self.pending: list[tuple[int, int]] = []  # (slot, char offset in tail_text)

    @property
    def empty(self) -> bool:
        return not self.slots

    @property
    def n_tokens(self) -> int:
        return self.committed_len + len(self.tail_ids)

    def _encode(self, text: str) -> np.ndarray:
        return np.asarray(self.counter.encode(text), dtype=np.int32)

    def _first_anchor(self, text: str, start: int = 0, stop: int | None = None) -> int | None:
        return first_anchor(text, start, stop) if self.anchors else None

    def _last_anchor(self, text: str, start: int = 0, stop: int | None = None) -> int | None:
        return last_anchor(text, start, stop) if self.anchors else None

    def plan(self, piece: Piece, ids: np.ndarray, stop: int | None = None) -> _Join:
        """The effect of appending the separator and ``piece.text[:stop]``, without changing the row."""
        text = piece.text if stop is None or stop >= len(piece.text) else piece.text[:stop]
        whole = text is piece.text
        prefix = self.separator if self.slots else ""
        slot = len(self.slots)
        head = self._first_anchor(text)
        window_text = self.tail_text + prefix + (text if head is None else text[:head])
        piece_offset = len(self.tail_text) + len(prefix)  # where the piece starts in window_text
        if head is None:
            # No anchor in the appended text: it all joins the tail, whose tokens are not final yet.
            tail_ids = ids if whole and not self.tail_text and not prefix else self._encode(window_text)
            pending = [*self.pending, (slot, piece_offset)]
            return _Join(
                piece,
                ids,
                prefix,
                len(text),
                [],
                window_text,
                tail_ids,
                [],
                pending,
                self.committed_len + len(tail_ids),
            )
        if not self.tail_text and not prefix:
            window_ids = ids[: token_index_at(self.counter, piece.text, ids, head)]
        else:
            window_ids = self._encode(window_text)
        offsets = token_char_offsets(self.counter, window_text, window_ids)
        starts = [(s, _token_at(offsets, off)) for s, off in self.pending]
        starts.append((slot, _token_at(offsets, piece_offset)))
        if whole:
            last = self._last_anchor(text, head) or head
            k = token_index_at(self.counter, text, ids, head)
            k2 = token_index_at(self.counter, text, ids, last) if last != head else k
            commit = [window_ids, ids[k:k2]]
            tail_text, tail_ids = text[last:], ids[k2:]
        else:  # a cut piece: the end of the row is re-encoded from the last anchor before the cut
            last = self._last_anchor(text, head) or head
            k = token_index_at(self.counter, piece.text, ids, head)
            k2 = token_index_at(self.counter, piece.text, ids, last) if last != head else k
            commit = [window_ids, ids[k:k2]]
            tail_text = text[last:]
            tail_ids = self._encode(tail_text)
        n_commit = sum(len(a) for a in commit)
        return _Join(
            piece,
            ids,
            prefix,
            len(text),
            commit,
            tail_text,
            tail_ids,
            starts,
            [],
            self.committed_len + n_commit + len(tail_ids),
        )

    def commit(self, join: _Join) -> None:
        """Append the join's text to the row."""
        slot = len(self.slots)
        for s, index in join.starts:
            self.starts[s] = self.committed_len + index
        for array in join.commit:
            if len(array):
                self.committed.append(array)
                self.committed_len += len(array)
        self.tail_text, self.tail_ids, self.pending = join.tail_text, join.tail_ids, join.pending
        if join.stop > 0 or join.piece.text == "":
            self.slots.append((join.piece, len(join.ids)))
            self.texts.append(join.prefix + join.piece.text[: join.stop])
        else:  # only (part of) the separator made it into the row: it belongs to the previous piece
            self.texts.append(join.prefix)
            self.pending = [(s, o) for s, o in self.pending if s != slot]
            self.starts.pop(slot, None)

    def cut(self, piece: Piece, ids: np.ndarray, target: int) -> _Join | None:
        """The join that appends the separator and the longest prefix of ``piece`` giving exactly ``target``
        tokens, or None when no cut point gives exactly ``target`` (a multi-token character at the only
        possible place). A cut inside the separator (``stop == 0``) leaves the piece out of the row."""
        text = piece.text

        def tokens_at(stop: int) -> int:
            return (
                self.plan(piece, ids, stop).n_tokens
                if stop > 0
                else self._separator_tokens(len(self.separator))
            )

        # Smallest stop whose row reaches the target; rows only grow with longer text, up to a few tokens.
        low, high = 0, len(text)
        if tokens_at(high) < target:
            return None
        while low < high:
            mid = (low + high) // 2
            if tokens_at(mid) < target:
                low = mid + 1
            else:
                high = mid
        for stop in range(low, min(len(text), low + 8) + 1):
            n = tokens_at(stop)
            if n == target:
                return self.plan(piece, ids, stop) if stop > 0 else self._separator_join(piece, ids, target)
        return None

    def _separator_tokens(self, chars: int) -> int:
        prefix = (self.separator if self.slots else "")[:chars]
        return self.committed_len + len(self._encode(self.tail_text + prefix))

    def _separator_join(self, piece: Piece, ids: np.ndarray, target: int) -> _Join | None:
        """A join that ends the row inside (or right after) the separator, without any of ``piece``."""
        prefix = self.separator if self.slots else ""
        for chars in range(len(prefix), -1, -1):
            tail_text = self.tail_text + prefix[:chars]
            tail_ids = self._encode(tail_text)
            if self.committed_len + len(tail_ids) == target:
                return _Join(
                    piece, ids, prefix[:chars], 0, [], tail_text, tail_ids, [], list(self.pending), target
                )
        return None

    def finish(self, cut_tokens: int = 0) -> PackedRow:
        """The finished row; the assembler must not be used afterwards."""
        offsets = token_char_offsets(self.counter, self.tail_text, self.tail_ids) if self.pending else None
        for slot, offset in self.pending:
            assert offsets is not None
            self.starts[slot] = self.committed_len + _token_at(offsets, offset)
        parts = [*self.committed, self.tail_ids] if len(self.tail_ids) else self.committed
        input_ids = np.concatenate(parts).astype(np.int32, copy=False) if parts else np.zeros(0, np.int32)
        n = len(input_ids)
        starts = [self.starts[slot] for slot in range(len(self.slots))]
        starts[0] = 0  # the first piece owns any token before it (there is none)
        lengths = [b - a for a, b in zip(starts, [*starts[1:], n], strict=True)]
        sources = [
            {"doc_id": piece.doc_id, "role": piece.role, "n_tokens": length, "score": piece.score}
            for (piece, _), length in zip(self.slots, lengths, strict=True)
        ]
        return PackedRow(input_ids, "".join(self.texts), lengths, sources, cut_tokens)


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

    def _best_fit(
        self, row: RowAssembler, window: list[tuple[Piece, np.ndarray]]
    ) -> tuple[int, _Join] | None:
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
