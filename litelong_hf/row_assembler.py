"""The exact text and token ids of one row under construction (the packer's assembler).

A :class:`RowAssembler` appends pieces (with the separator before them) so that ``encode(text) == ids``
at every step, re-encoding only the text after the row's last anchor (:mod:`litelong_hf.boundaries`);
:meth:`RowAssembler.plan` computes what appending would do without doing it (a :class:`Join`), and
:meth:`RowAssembler.cut` finds the longest prefix of a piece that gives exactly the target length.
:class:`~litelong_hf.packing.RowPacker` decides which pieces go where.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .boundaries import first_anchor, last_anchor, token_char_offsets, token_index_at
from .tokens import TokenCounter


@dataclass(frozen=True)
class Piece:
    """A text to place in a row, with where it came from."""

    text: str
    doc_id: str
    role: str = "retrieved"
    """``retrieved`` (LiteLong), ``meta`` or ``negative`` (NExtLong), or any label a strategy uses."""
    score: float | None = None
    """Retrieval score, when the piece was retrieved."""


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


@dataclass
class Join:
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

    def plan(self, piece: Piece, ids: np.ndarray, stop: int | None = None) -> Join:
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
            return Join(
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
        return Join(
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

    def commit(self, join: Join) -> None:
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

    def cut(self, piece: Piece, ids: np.ndarray, target: int) -> Join | None:
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

    def _separator_join(self, piece: Piece, ids: np.ndarray, target: int) -> Join | None:
        """A join that ends the row inside (or right after) the separator, without any of ``piece``."""
        prefix = self.separator if self.slots else ""
        for chars in range(len(prefix), -1, -1):
            tail_text = self.tail_text + prefix[:chars]
            tail_ids = self._encode(tail_text)
            if self.committed_len + len(tail_ids) == target:
                return Join(
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
