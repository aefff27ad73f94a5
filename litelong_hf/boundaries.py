"""Exact tokens of joined texts, re-encoding only a small window around each join.

Tokenizing ``a + sep + b`` is not ``encode(a) + encode(sep) + encode(b)``: byte-level BPE tokenizers
(Llama-3, GPT-2 style, SmolLM2) first split text with a regex, and a split can span the join
(``"end." + "\\n\\n"`` is one ``".\\n\\n"`` match, one token instead of two). Rows must be canonical
(``encode(text) == input_ids``), so every join is re-tokenized, but only locally.

The trick is an *anchor*: a space between a letter or digit and a letter (``"word| word"``). For the
regexes of these tokenizers such a space always starts a new match (``" word"``), whatever text comes
before or after, and the matches before it do not look past it. So the tokens of a text split exactly at
anchors: ``encode(x + y) == encode(x) + encode(y)`` when ``len(x)`` is an anchor of ``x + y``. A join is
re-encoded from the last anchor before it to the first anchor after it; everything else keeps the ids
the pieces already had (and that a token cache may hold).

Tokenizers without that property (SentencePiece/Metaspace, normalizers) are handled by
:func:`supports_anchors` returning False; the packer then re-encodes the whole row text instead (exact,
slower).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import numpy as np

from .tokens import TokenCounter

# A candidate anchor: a space with an alphanumeric character before it and a letter after it. Python's
# [^\W_] also admits a few numeric symbols; `is_anchor` checks the exact classes.
_CANDIDATE = re.compile(r"(?<=[^\W_]) (?=[^\W\d_])")


def is_anchor(text: str, position: int) -> bool:
    """Whether ``text[position]`` is a space that starts a regex match in any context (pure)."""
    if not 0 < position < len(text) - 1 or text[position] != " ":
        return False
    before, after = text[position - 1], text[position + 1]
    return (before.isalpha() or before.isnumeric()) and after.isalpha()


def first_anchor(text: str, start: int = 0, stop: int | None = None) -> int | None:
    """The first anchor at or after ``start`` (and before ``stop``), or None."""
    end = len(text) if stop is None else stop
    for match in _CANDIDATE.finditer(text, start, end):
        if is_anchor(text, match.start()):
            return match.start()
    return None


def last_anchor(text: str, start: int = 0, stop: int | None = None, *, span: int = 256) -> int | None:
    """The last anchor in ``text[start:stop]``, or None (an anchor needs the letter after it inside).

    The last few spaces are tried directly (in prose the last one usually is an anchor); past them the
    search goes backwards in steps of ``span`` chars with the candidate regex.
    """
    end = len(text) if stop is None else stop
    if end - 2 < start:
        return None
    position = text.rfind(" ", start, end - 1)  # a space at p needs p + 1 < end
    for _ in range(_DIRECT_TRIES):
        if position < 0:
            return None
        if is_anchor(text, position):
            return position
        position = text.rfind(" ", start, position)
    # No anchor after ``position``: scan from it back.
    return None if position < 0 else _last_anchor_scan(text, start, position + 2, span)


_DIRECT_TRIES = 8


def _last_anchor_scan(text: str, start: int, end: int, span: int) -> int | None:
    while end > start:
        begin = max(start, end - span)
        # The candidates of the span, checked from the last one back: the first that passes is the answer.
        for match in reversed(list(_CANDIDATE.finditer(text, begin, end))):
            if is_anchor(text, match.start()):
                return match.start()
        if begin == start:
            return None
        end = begin + 1  # overlap by one character so an anchor on the seam is not missed
        span *= 2
    return None


@cache
def supports_anchors(counter: TokenCounter) -> bool:
    """Whether ``counter``'s tokenizer splits text exactly at anchors (byte-level BPE with a GPT-2 or
    Llama-3 style split regex, no normalizer). Checked on probes, so a tokenizer that breaks the rule is
    never trusted."""
    if counter.token_byte_lengths() is None:
        return False
    probes = [
        "Hello world",
        "end. The start",
        "x  y\n\nz words",
        "12345 apples and 3 pears",
        "naïve café über",
        "日本 語 text",
        "emoji 🙂 here now",
    ]
    for text in probes:
        for position in range(len(text)):
            if is_anchor(text, position):
                whole = counter.encode(text)
                if whole != counter.encode(text[:position]) + counter.encode(text[position:]):
                    return False
    return True


def token_char_offsets(counter: TokenCounter, text: str, ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """Start character offset in ``text`` of every token of ``ids`` (``ids == encode(text)``).

    A token that starts inside a multi-byte character gets the offset of the character after it.
    """
    lengths = counter.token_byte_lengths()
    assert lengths is not None
    ids_array = np.asarray(ids, dtype=np.int64)
    if ids_array.size == 0:
        return np.zeros(0, dtype=np.int64)
    byte_starts = np.concatenate(([0], np.cumsum(lengths[ids_array])[:-1]))
    data = text.encode("utf-8")
    # Character index of every byte offset: count the non-continuation bytes before it.
    is_start = np.frombuffer(data, dtype=np.uint8) & 0xC0 != 0x80
    char_of_byte = np.concatenate(([0], np.cumsum(is_start)))
    return np.asarray(char_of_byte[np.minimum(byte_starts, len(data))], dtype=np.int64)


def token_index_at(counter: TokenCounter, text: str, ids: np.ndarray, position: int) -> int:
    """Index of the token of ``ids`` (``== encode(text)``) that starts at character ``position``, which must
    be an anchor (or 0 or ``len(text)``). Walks from the nearer end, so anchors near either end are cheap."""
    if position <= 0:
        return 0
    if position >= len(text):
        return len(ids)
    lengths = counter.token_byte_lengths()
    assert lengths is not None
    near_start = position <= len(text) // 2
    target = len(text[:position].encode("utf-8")) if near_start else len(text[position:].encode("utf-8"))
    if target <= 256:  # an anchor near an end: walk a few tokens
        total, index = 0, 0 if near_start else len(ids)
        while total < target:
            if near_start:
                total += int(lengths[ids[index]])
                index += 1
            else:
                index -= 1
                total += int(lengths[ids[index]])
    else:
        sizes = lengths[np.asarray(ids, dtype=np.int64)]
        if near_start:
            ends = np.cumsum(sizes)
            index = int(np.searchsorted(ends, target, side="left")) + 1
            total = int(ends[index - 1])
        else:
            ends = np.cumsum(sizes[::-1])
            back = int(np.searchsorted(ends, target, side="left")) + 1
            index, total = len(ids) - back, int(ends[back - 1])
    if total != target:
        raise AssertionError(f"no token starts at character {position}: it is not an anchor")
    return index
