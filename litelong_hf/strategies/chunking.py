"""NExtLong meta-chunking: split a document into chunks of at most ``chunk_chars`` characters (pure).

The rule of METHODS.md §2: split the text on newlines and greedily group consecutive lines while the group
(lines joined by ``"\\n"``) stays within ``chunk_chars``; a single longer line is its own chunk.

Corpora without line breaks (the bundled news articles are one line each) would then give one chunk per
document, and NExtLong would degenerate into "one meta-chunk followed by all of its negatives". With
``split_long_lines="sentences"`` a line longer than ``chunk_chars`` is first cut after sentence ends
(``.``, ``!`` or ``?``, optional closing quotes or brackets, then whitespace), and a sentence that is still
longer is cut after whitespace runs; the pieces are then grouped by the same greedy rule. For text whose
lines all fit (the paper's setting), both modes give the same chunks.

Every chunk records the text that followed it in the document (``"\\n"`` at a line end, ``""`` inside a
line that was cut, ``""`` after the last chunk), so :func:`restore_text` rebuilds the input exactly.

Example::

    chunks = chunk_text("a\\nb\\n" + "c" * 5000, chunk_chars=2048)
    [c.text for c in chunks]            # ["a\\nb", "ccc...c"]  (the long line is its own chunk)
    restore_text(chunks) == "a\\nb\\n" + "c" * 5000
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Literal, NamedTuple

SplitLongLines = Literal["sentences", "none"]
SPLIT_MODES: tuple[str, ...] = ("sentences", "none")

# A sentence ends at . ! or ? (possibly repeated), optionally followed by closing quotes or brackets, then
# whitespace. The cut goes after the whitespace, so the whitespace stays with the sentence before it.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+")
_WHITESPACE_RUN = re.compile(r"\s+")


class TextChunk(NamedTuple):
    """One chunk of a document and the text that followed it there."""

    text: str
    joiner: str
    """``"\\n"`` when the chunk ended a line, ``""`` when a long line was cut after it or it ends the text."""


def _cut(text: str, points: Sequence[int]) -> list[str]:
    """``text`` cut at the given increasing interior positions."""
    pieces: list[str] = []
    start = 0
    for point in points:
        if start < point < len(text):
            pieces.append(text[start:point])
            start = point
    pieces.append(text[start:])
    return pieces


def split_line(line: str, chunk_chars: int) -> list[str]:
    """Cut one over-long line after sentence ends, and an over-long sentence after whitespace runs.

    The pieces concatenate to ``line``. A piece is longer than ``chunk_chars`` only when it holds no
    whitespace except at its end (one very long "word").
    """
    pieces: list[str] = []
    for sentence in _cut(line, [m.end() for m in _SENTENCE_END.finditer(line)]):
        if len(sentence) <= chunk_chars:
            pieces.append(sentence)
        else:
            pieces.extend(_cut(sentence, [m.end() for m in _WHITESPACE_RUN.finditer(sentence)]))
    return pieces


def _units(text: str, chunk_chars: int, split_long_lines: str) -> Iterator[tuple[str, str]]:
    """The smallest pieces chunks are built from, each with the text that follows it."""
    lines = text.split("\n")
    last = len(lines) - 1
    for i, line in enumerate(lines):
        end = "" if i == last else "\n"
        if split_long_lines == "sentences" and len(line) > chunk_chars:
            pieces = split_line(line, chunk_chars)
            for piece in pieces[:-1]:
                yield piece, ""
            yield pieces[-1], end
        else:
            yield line, end


def chunk_text(text: str, chunk_chars: int = 2048, split_long_lines: str = "sentences") -> list[TextChunk]:
    """Greedy grouping of lines (or line pieces) into chunks of at most ``chunk_chars`` characters.

    Args:
        text: the document.
        chunk_chars: the largest chunk, in characters, counting the newlines inside it.
        split_long_lines: ``"sentences"`` cuts lines longer than ``chunk_chars`` (see the module docstring);
            ``"none"`` keeps METHODS.md's literal rule (a long line is one chunk).

    Returns:
        At least one chunk (the empty text gives one empty chunk); ``restore_text`` of the result is
        ``text``. In ``"none"`` mode ``"\\n".join(c.text for c in chunks) == text``.
    """
    if chunk_chars <= 0:
        raise ValueError(f"chunk_chars must be positive, got {chunk_chars}.")
    if split_long_lines not in SPLIT_MODES:
        raise ValueError(f"split_long_lines must be one of {SPLIT_MODES}, got {split_long_lines!r}.")
    chunks: list[TextChunk] = []
    parts: list[str] = []  # the open chunk: unit texts interleaved with the joiners between them
    size = 0
    joiner = ""  # what follows the last unit of the open chunk
    for unit, follows in _units(text, chunk_chars, split_long_lines):
        if parts and size + len(joiner) + len(unit) > chunk_chars:
            chunks.append(TextChunk("".join(parts), joiner))
            parts, size = [], 0
        if parts:
            parts.append(joiner)
            size += len(joiner)
        parts.append(unit)
        size += len(unit)
        joiner = follows
    chunks.append(TextChunk("".join(parts), joiner))
    return chunks


def restore_text(chunks: Sequence[TextChunk]) -> str:
    """The document the chunks came from: each chunk followed by its joiner."""
    return "".join(chunk.text + chunk.joiner for chunk in chunks)
