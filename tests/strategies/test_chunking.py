"""NExtLong meta-chunking: exact restoration and the size rule, as properties (hypothesis) and examples."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litelong_hf.corpus import Document
from litelong_hf.strategies.chunking import chunk_text, restore_text, split_line

# Text made of the characters the rules care about (newlines, whitespace, sentence ends, quotes) plus
# arbitrary unicode, so lines, sentences and "words" of every length occur.
_ALPHABET = st.one_of(
    st.sampled_from(list("aab c.!?\n\n\t \"')]\u201d\u2019\r")),
    st.characters(codec="utf-8"),
)
texts = st.text(alphabet=_ALPHABET, max_size=1500)
limits = st.integers(min_value=1, max_value=300)
SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(text=texts, limit=limits)
def test_newline_mode_restores_the_text_by_joining_with_newlines(text: str, limit: int) -> None:
    chunks = chunk_text(text, limit, "none")
    assert "\n".join(c.text for c in chunks) == text
    assert restore_text(chunks) == text
    assert all(c.joiner == "\n" for c in chunks[:-1]) and chunks[-1].joiner == ""


@SETTINGS
@given(text=texts, limit=limits)
def test_newline_mode_chunk_over_the_limit_is_a_single_line(text: str, limit: int) -> None:
    for chunk in chunk_text(text, limit, "none"):
        assert len(chunk.text) <= limit or "\n" not in chunk.text


@SETTINGS
@given(text=texts, limit=limits)
def test_newline_mode_grouping_is_greedy(text: str, limit: int) -> None:
    """A chunk ends only where its next line would not fit."""
    chunks = chunk_text(text, limit, "none")
    for this, following in itertools.pairwise(chunks):
        next_line = following.text.split("\n", 1)[0]
        assert len(this.text) + 1 + len(next_line) > limit


@SETTINGS
@given(text=texts, limit=limits)
def test_sentence_mode_restores_the_text_exactly(text: str, limit: int) -> None:
    chunks = chunk_text(text, limit, "sentences")
    assert restore_text(chunks) == text
    assert chunks[-1].joiner == ""
    assert all(c.joiner in ("\n", "") for c in chunks)


@SETTINGS
@given(text=texts, limit=limits)
def test_sentence_mode_chunk_over_the_limit_is_one_unsplittable_word(text: str, limit: int) -> None:
    for chunk in chunk_text(text, limit, "sentences"):
        if len(chunk.text) > limit:
            assert "\n" not in chunk.text
            assert re.fullmatch(r"\S*\s*", chunk.text), chunk.text


@SETTINGS
@given(text=texts, limit=limits)
def test_sentence_mode_equals_newline_mode_when_every_line_fits(text: str, limit: int) -> None:
    if all(len(line) <= limit for line in text.split("\n")):
        assert chunk_text(text, limit, "sentences") == chunk_text(text, limit, "none")


@SETTINGS
@given(line=st.text(alphabet=_ALPHABET.filter(lambda c: c != "\n"), max_size=800), limit=limits)
def test_split_line_pieces_concatenate_to_the_line(line: str, limit: int) -> None:
    pieces = split_line(line, limit)
    assert "".join(pieces) == line
    assert all(p for p in pieces) or line == ""


def test_lines_are_grouped_up_to_the_limit_and_a_long_line_is_its_own_chunk() -> None:
    long_line = "x" * 50
    chunks = chunk_text(f"ab\ncd\nef\n{long_line}\ngh", 8, "none")
    assert [c.text for c in chunks] == ["ab\ncd\nef", long_line, "gh"]


def test_long_line_is_cut_after_sentence_ends_in_sentence_mode() -> None:
    line = "First one is here. Second! Third one? " + "Fourth sentence ends the line."
    chunks = chunk_text(line, 30, "sentences")
    assert [c.text for c in chunks] == [
        "First one is here. Second! ",
        "Third one? ",
        "Fourth sentence ends the line.",
    ]
    assert [c.joiner for c in chunks] == ["", "", ""]


def test_sentence_longer_than_the_limit_is_cut_after_whitespace() -> None:
    chunks = chunk_text("aaaa bbbb cccc dddd", 10, "sentences")
    assert [c.text for c in chunks] == ["aaaa bbbb ", "cccc dddd"]


def test_empty_text_is_one_empty_chunk() -> None:
    assert chunk_text("", 2048) == [("", "")]
    assert restore_text(chunk_text("", 2048)) == ""


def test_demo_article_without_newlines_gives_several_chunks(demo_documents: list[Document]) -> None:
    article = max(demo_documents[:200], key=lambda d: len(d.text))
    assert "\n" not in article.text and len(article.text) > 2 * 2048
    literal = chunk_text(article.text, 2048, "none")
    assert len(literal) == 1  # METHODS' literal rule: one line, one chunk
    chunks = chunk_text(article.text, 2048, "sentences")
    assert len(chunks) >= 3
    assert all(len(c.text) <= 2048 for c in chunks)
    assert restore_text(chunks) == article.text


@pytest.mark.parametrize("bad", [{"chunk_chars": 0}, {"chunk_chars": -5}, {"split_long_lines": "words"}])
def test_bad_arguments_raise_value_error(bad: dict[str, object]) -> None:
    kwargs: dict[str, object] = {"chunk_chars": 100, "split_long_lines": "none", **bad}
    with pytest.raises(ValueError, match=r"chunk_chars|split_long_lines"):
        chunk_text("some text", **kwargs)  # type: ignore[arg-type]
