"""Hierarchical QA's chunk tree (METHODS.md §3.2) as pure functions: small chunks, medium chunks, documents.

*Small chunks* hold at most ``limit`` tokens and are cut on the largest boundary that works: after a
paragraph (a run of newlines), else after a sentence end, else at a token boundary. Paragraph and sentence
units are packed greedily, in order, while the chunk stays within the limit; every chunk's size is then
checked with an exact count of its own text, so no chunk is over the limit unless it is one unsplittable
character. Chunks are character spans that cover the text exactly, in order, without gaps.

*Medium chunks* are runs of ``size`` consecutive small chunks counted from the start of the text, so two
windows of the same text that start on a medium boundary share every small and medium chunk: the LLM work
done for a chunk (keyed by the chunk's text) is reused by every document, row and config that holds it.

*Documents* are windows of whole medium chunks (:func:`document_windows`).

The tokenizer is injected (anything with ``encode``, ``decode`` and ``count_batch``, e.g.
:class:`~litelong_hf.tokens.TokenCounter`), so these functions never load anything themselves.

Example::

    tree = build_tree(text, small_limit=4096, medium_size=4, tokenizer=TokenCounter.get())
    [text[s.start : s.end] for s in tree.small]          # the small chunks, in order
    tree.medium_span(0)                                   # (start, end) of the first medium chunk
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# A paragraph ends after a newline and any whitespace that follows it (blank lines, indentation), so the
# next unit starts with visible text.
_PARAGRAPH_END = re.compile(r"\n\s*")
# A sentence ends at . ! or ? (repeated or not), optional closing quotes or brackets, then whitespace.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+")
_REPLACEMENT = "\ufffd"
_DECODE_TRIES = 8
"""Token-boundary cuts tried (from ``limit`` tokens down) before falling back to a character search."""


class ChunkTokenizer(Protocol):
    """What the chunker needs from a tokenizer (:class:`~litelong_hf.tokens.TokenCounter` has it)."""

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def count_batch(self, texts: Sequence[str]) -> list[int]: ...


@dataclass(frozen=True)
class Span:
    """A character range ``[start, end)`` of a text and the exact token count of that range."""

    start: int
    end: int
    n_tokens: int


@dataclass(frozen=True)
class ChunkTree:
    """Small chunks (spans of the text) and medium chunks (ranges of small-chunk indices)."""

    small: tuple[Span, ...]
    medium: tuple[range, ...]

    def medium_span(self, index: int) -> tuple[int, int]:
        """``(start, end)`` characters of medium chunk ``index``."""
        group = self.medium[index]
        return self.small[group.start].start, self.small[group.stop - 1].end

    def medium_tokens(self) -> list[int]:
        """Token count of each medium chunk (the sum of its small chunks)."""
        return [sum(self.small[i].n_tokens for i in group) for group in self.medium]

    @property
    def n_tokens(self) -> int:
        return sum(s.n_tokens for s in self.small)


def _count(tokenizer: ChunkTokenizer, text: str) -> int:
    return len(tokenizer.encode(text))


def cut_after(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """``[start, end)`` cut after every match of ``pattern`` inside it (pure). The spans cover it exactly."""
    spans: list[tuple[int, int]] = []
    position = start
    for match in pattern.finditer(text, start, end):
        if position < match.end() < end:
            spans.append((position, match.end()))
            position = match.end()
    if position < end:
        spans.append((position, end))
    return spans


def token_cut(text: str, start: int, end: int, limit: int, tokenizer: ChunkTokenizer) -> int:
    """The end of the longest prefix of ``text[start:end]`` that is cut at a token boundary and holds at most
    ``limit`` tokens; at least one character is always taken (a character needing more than ``limit`` tokens
    is the one unsplittable unit).

    The cut falls where the tokenizer's own encoding of the text has a token boundary; when decoding does not
    give back a prefix of the text (another tokenizer's normalisation), a binary search over character
    positions finds the longest prefix within the limit instead.
    """
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}.")
    segment = text[start:end]
    window = min(len(segment), max(64, limit * 8))
    while True:
        ids = tokenizer.encode(segment[:window])
        if len(ids) > limit or window >= len(segment):
            break
        window = min(len(segment), window * 2)
    if len(ids) <= limit:
        return end
    for k in range(limit, max(0, limit - _DECODE_TRIES), -1):
        piece = tokenizer.decode(ids[:k]).rstrip(_REPLACEMENT)  # a cut inside a multi-byte character
        if piece and segment.startswith(piece) and _count(tokenizer, piece) <= limit:
            return start + len(piece)
    if _count(tokenizer, segment[:1]) > limit:
        return start + 1
    low, high = 1, window
    while low < high:
        middle = (low + high + 1) // 2
        if _count(tokenizer, segment[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return start + low


def token_pieces(
    text: str, start: int, end: int, limit: int, tokenizer: ChunkTokenizer
) -> list[tuple[int, int]]:
    """``[start, end)`` cut at token boundaries into consecutive pieces of at most ``limit`` tokens."""
    pieces: list[tuple[int, int]] = []
    position = start
    while position < end:
        cut = token_cut(text, position, end, limit, tokenizer)
        pieces.append((position, cut))
        position = cut
    return pieces


def chunk_units(text: str, limit: int, tokenizer: ChunkTokenizer) -> list[Span]:
    """The units small chunks are packed from: paragraphs; sentences of a paragraph over ``limit``; token
    pieces of a sentence over ``limit``. They cover ``text`` exactly, in order."""
    units: list[Span] = []
    paragraphs = cut_after(text, 0, len(text), _PARAGRAPH_END)
    counts = tokenizer.count_batch([text[s:e] for s, e in paragraphs])
    for (start, end), n in zip(paragraphs, counts, strict=True):
        if n <= limit:
            units.append(Span(start, end, n))
            continue
        sentences = cut_after(text, start, end, _SENTENCE_END)
        sentence_counts = tokenizer.count_batch([text[s:e] for s, e in sentences])
        for (s_start, s_end), s_n in zip(sentences, sentence_counts, strict=True):
            if s_n <= limit:
                units.append(Span(s_start, s_end, s_n))
                continue
            pieces = token_pieces(text, s_start, s_end, limit, tokenizer)
            piece_counts = tokenizer.count_batch([text[p:q] for p, q in pieces])
            units.extend(Span(p, q, c) for (p, q), c in zip(pieces, piece_counts, strict=True))
    return units


def small_chunks(text: str, limit: int, tokenizer: ChunkTokenizer) -> list[Span]:
    """Cut ``text`` into small chunks of at most ``limit`` tokens (see the module docstring).

    Units are packed greedily while the sum of their token counts fits; the chunk is then counted exactly
    (joining texts can change the count by a token) and shrinks by a unit until it fits.

    >>> from litelong_hf.tokens import TokenCounter
    >>> spans = small_chunks("One. Two.\\nThree four.\\n", 5, TokenCounter.get())
    >>> [(s.start, s.end) for s in spans]
    [(0, 10), (10, 22)]
    """
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}.")
    units = chunk_units(text, limit, tokenizer)
    chunks: list[Span] = []
    i = 0
    while i < len(units):
        j, total = i + 1, units[i].n_tokens
        while j < len(units) and total + units[j].n_tokens <= limit:
            total += units[j].n_tokens
            j += 1
        while True:
            start, end = units[i].start, units[j - 1].end
            n = total if j - i == 1 else _count(tokenizer, text[start:end])
            if n <= limit or j - i == 1:
                break
            j -= 1
            total -= units[j].n_tokens
        chunks.append(Span(start, end, n))
        i = j
    return chunks


def medium_groups(n_small: int, size: int) -> list[range]:
    """Consecutive runs of ``size`` small-chunk indices from the start; the last run may be shorter (pure)."""
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}.")
    return [range(i, min(i + size, n_small)) for i in range(0, n_small, size)]


def build_tree(text: str, small_limit: int, medium_size: int, tokenizer: ChunkTokenizer) -> ChunkTree:
    """The small and medium chunks of ``text``."""
    small = small_chunks(text, small_limit, tokenizer)
    return ChunkTree(tuple(small), tuple(medium_groups(len(small), medium_size)))


def document_windows(
    medium_tokens: Sequence[int], max_tokens: int, min_tokens: int
) -> tuple[list[range], list[range]]:
    """Split a sequence of medium chunks into documents of whole medium chunks (pure).

    Greedy from the start: a document takes consecutive medium chunks while their tokens stay within
    ``max_tokens`` (always at least one). Returns ``(kept, dropped)``: documents with fewer than
    ``min_tokens`` tokens are dropped. Both are ranges of medium-chunk indices, in order.
    """
    kept: list[range] = []
    dropped: list[range] = []
    for window in fit_groups(medium_tokens, max_tokens):
        total = sum(medium_tokens[window.start : window.stop])
        (kept if total >= min_tokens else dropped).append(window)
    return kept, dropped


def sub_tree(tree: ChunkTree, mediums: range) -> tuple[int, int, ChunkTree]:
    """The tree of a window of whole medium chunks: ``(start, end, tree)`` with spans relative to ``start``."""
    first, last = tree.medium[mediums.start], tree.medium[mediums.stop - 1]
    start, end = tree.small[first.start].start, tree.small[last.stop - 1].end
    small = tuple(
        Span(s.start - start, s.end - start, s.n_tokens) for s in tree.small[first.start : last.stop]
    )
    offset = first.start
    medium = tuple(
        range(g.start - offset, g.stop - offset) for g in tree.medium[mediums.start : mediums.stop]
    )
    return start, end, ChunkTree(small, medium)


def fit_groups(sizes: Sequence[int], budget: int) -> list[range]:
    """Consecutive groups of items whose sizes sum to at most ``budget`` (an item over it is alone; pure)."""
    groups: list[range] = []
    i = 0
    while i < len(sizes):
        j, total = i + 1, sizes[i]
        while j < len(sizes) and total + sizes[j] <= budget:
            total += sizes[j]
            j += 1
        groups.append(range(i, j))
        i = j
    return groups


def truncate_to_tokens(text: str, limit: int, tokenizer: ChunkTokenizer) -> str:
    """The longest prefix of ``text`` cut at a token boundary with at most ``limit`` tokens."""
    if not text:
        return text
    return text[: token_cut(text, 0, len(text), limit, tokenizer)]
