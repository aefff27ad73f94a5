"""Hierarchical QA's chunk tree: exact cover, order and the size rule as properties, plus the fallbacks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litelong_hf.strategies.chunk_tree import (
    build_tree,
    chunk_units,
    document_windows,
    fit_groups,
    medium_groups,
    small_chunks,
    sub_tree,
    token_cut,
    truncate_to_tokens,
)
from litelong_hf.tokens import TokenCounter

COUNTER = TokenCounter.get()

# Newlines, sentence ends, words, spaces and arbitrary unicode (multi-byte characters end up split across
# byte-level tokens), so paragraphs, sentences and unsplittable runs of every length occur.
_PIECES = st.one_of(
    st.sampled_from(list("aab cd.!?\n\n \"')\u201d")),
    st.sampled_from(["é", "日本", "🙂", "42", "1999. ", "word ", "Sentence ends. "]),
    st.characters(codec="utf-8"),
)
texts = st.lists(_PIECES, max_size=700).map("".join)
limits = st.integers(min_value=4, max_value=120)
SETTINGS = settings(max_examples=150, deadline=None)


class CharTokenizer:
    """One token per character whose decode does not give the text back (upper case): forces the
    character-search fallback of :func:`token_cut`."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(chr(i) for i in ids).upper()

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(t) for t in texts]


def _texts(text: str, spans: Sequence[object]) -> list[str]:
    return [text[s.start : s.end] for s in spans]  # type: ignore[attr-defined]


@SETTINGS
@given(text=texts, limit=limits)
def test_small_chunks_cover_the_text_exactly_in_order(text: str, limit: int) -> None:
    chunks = small_chunks(text, limit, COUNTER)
    assert "".join(_texts(text, chunks)) == text
    assert all(c.start < c.end for c in chunks)
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    if text:
        assert chunks[0].start == 0 and chunks[-1].end == len(text)
    else:
        assert chunks == []


@SETTINGS
@given(text=texts, limit=limits)
def test_no_small_chunk_is_over_the_limit_and_counts_are_exact(text: str, limit: int) -> None:
    for chunk in small_chunks(text, limit, COUNTER):
        piece = text[chunk.start : chunk.end]
        assert chunk.n_tokens == COUNTER.count(piece)
        # A byte-level BPE needs at most 4 tokens per character, so with limit >= 4 nothing is unsplittable.
        assert chunk.n_tokens <= limit, (piece, chunk.n_tokens)


@SETTINGS
@given(text=texts, limit=st.integers(min_value=1, max_value=3))
def test_only_a_single_character_may_exceed_a_tiny_limit(text: str, limit: int) -> None:
    for chunk in small_chunks(text, limit, COUNTER):
        assert chunk.n_tokens <= limit or chunk.end - chunk.start == 1


@SETTINGS
@given(text=texts, limit=limits)
def test_units_cover_the_text_and_paragraph_ends_are_kept_when_paragraphs_fit(text: str, limit: int) -> None:
    units = chunk_units(text, limit, COUNTER)
    assert "".join(_texts(text, units)) == text
    paragraphs = text.split("\n")
    if all(COUNTER.count(p + "\n") <= limit for p in paragraphs):
        # Every chunk then ends after a newline run (or at the end of the text).
        for chunk in small_chunks(text, limit, COUNTER):
            assert chunk.end == len(text) or text[chunk.end - 1].isspace()


def test_paragraphs_then_sentences_then_tokens() -> None:
    paragraph = "First sentence here. Second one follows! Third? "
    text = paragraph * 3 + "\n\n" + "Short paragraph.\n" + "x" * 400
    chunks = small_chunks(text, 24, COUNTER)
    pieces = _texts(text, chunks)
    assert "".join(pieces) == text
    # The long first paragraph is cut after sentence ends, the short one stays whole, the run of x's is cut
    # at token boundaries.
    assert pieces[0].endswith(("! ", "? ", ". "))
    assert any("Short paragraph.\n" in p for p in pieces)
    assert all(c.n_tokens <= 24 for c in chunks)
    assert sum(1 for p in pieces if set(p) == {"x"}) >= 2


def test_token_cut_falls_back_to_a_character_search() -> None:
    tokenizer = CharTokenizer()
    text = "abcdefghij" * 5
    assert token_cut(text, 0, len(text), 7, tokenizer) == 7
    chunks = small_chunks(text, 7, tokenizer)
    assert [c.n_tokens for c in chunks] == [7] * 7 + [1]
    assert "".join(_texts(text, chunks)) == text


@SETTINGS
@given(text=texts, limit=limits)
def test_truncate_gives_a_prefix_within_the_limit(text: str, limit: int) -> None:
    cut = truncate_to_tokens(text, limit, COUNTER)
    assert text.startswith(cut)
    assert COUNTER.count(cut) <= limit
    if COUNTER.count(text) <= limit:
        assert cut == text


@given(n=st.integers(min_value=0, max_value=50), size=st.integers(min_value=1, max_value=8))
def test_medium_groups_are_consecutive_runs(n: int, size: int) -> None:
    groups = medium_groups(n, size)
    assert [i for g in groups for i in g] == list(range(n))
    assert all(len(g) == size for g in groups[:-1])
    assert not groups or 1 <= len(groups[-1]) <= size


@given(
    tokens=st.lists(st.integers(min_value=1, max_value=100), max_size=40),
    max_tokens=st.integers(min_value=1, max_value=300),
    min_tokens=st.integers(min_value=0, max_value=300),
)
def test_document_windows_are_whole_mediums_within_the_limit(
    tokens: list[int], max_tokens: int, min_tokens: int
) -> None:
    kept, dropped = document_windows(tokens, max_tokens, min_tokens)
    windows = sorted(kept + dropped, key=lambda r: r.start)
    assert [i for w in windows for i in w] == list(range(len(tokens)))
    for window in windows:
        total = sum(tokens[i] for i in window)
        assert total <= max_tokens or len(window) == 1
        assert (total >= min_tokens) == (window in kept)
        # greedy: the next medium would not have fitted
        if window.stop < len(tokens):
            assert total + tokens[window.stop] > max_tokens


@given(sizes=st.lists(st.integers(min_value=1, max_value=50), max_size=30), budget=st.integers(1, 120))
def test_fit_groups(sizes: list[int], budget: int) -> None:
    groups = fit_groups(sizes, budget)
    assert [i for g in groups for i in g] == list(range(len(sizes)))
    assert all(sum(sizes[i] for i in g) <= budget or len(g) == 1 for g in groups)


def test_windows_of_a_tree_share_their_chunks(demo_documents: list) -> None:
    text = "\n\n".join(d.text.strip() for d in demo_documents[:40])
    tree = build_tree(text, 300, 3, COUNTER)
    assert "".join(text[s.start : s.end] for s in tree.small) == text
    assert tree.n_tokens == sum(tree.medium_tokens())
    start, end, window = sub_tree(tree, range(2, 4))
    assert (start, end) == (tree.medium_span(2)[0], tree.medium_span(3)[1])
    body = text[start:end]
    assert [body[s.start : s.end] for s in window.small] == [
        text[s.start : s.end] for s in tree.small[tree.medium[2].start : tree.medium[3].stop]
    ]
    assert [len(g) for g in window.medium] == [len(tree.medium[2]), len(tree.medium[3])]
    assert window.medium[0].start == 0


def test_bad_limits_raise() -> None:
    with pytest.raises(ValueError, match="limit"):
        small_chunks("text", 0, COUNTER)
    with pytest.raises(ValueError, match="size"):
        medium_groups(3, 0)
