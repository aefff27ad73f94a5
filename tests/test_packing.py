from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from litelong_hf.boundaries import first_anchor, is_anchor, last_anchor, supports_anchors
from litelong_hf.packing import (
    REASON_EMPTY,
    REASON_TAIL,
    REASON_TOO_LONG,
    Leftover,
    PackedRow,
    PackingConfig,
    Piece,
    RowPacker,
)
from litelong_hf.tokens import TokenCounter


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter.get()


def check_canonical(counter: TokenCounter, row: PackedRow, target: int) -> None:
    """The invariant of every pretraining row: exact length, and text and ids agree both ways."""
    ids = row.input_ids.tolist()
    assert len(ids) == row.n_tokens == sum(row.piece_lengths) == target
    assert row.input_ids.dtype == np.int32
    assert counter.encode(row.text) == ids
    assert counter.decode(ids) == row.text
    assert [s["n_tokens"] for s in row.sources] == row.piece_lengths
    # A piece may own no token of its own only when it fused into a neighbour's (no separator, e.g. "a"+"a").
    assert all(n >= 0 for n in row.piece_lengths)


def piece_starts_agree(counter: TokenCounter, row: PackedRow, texts: dict[str, str], separator: str) -> None:
    """``piece_lengths`` mark where each piece's tokens start: the token at a piece's start index holds the
    piece's first character (a separator merged into it, e.g. " " + "word", comes along)."""
    begin, start = 0, 0
    for source, length in zip(row.sources, row.piece_lengths, strict=True):
        before = len(counter.decode(row.input_ids[:start].tolist()))
        through = len(counter.decode(row.input_ids[: start + 1].tolist()))
        assert before <= begin < through
        begin += len(texts[source["doc_id"]]) + len(separator)
        start += length


# Adversarial texts: whitespace runs, newlines at edges, emoji and other multi-byte characters, digits, CJK.
ALPHABET = st.sampled_from(
    [
        *list("ab cdXY .,;!?'\"\n\t"),
        "  ",
        "\n\n",
        "\r\n",
        "🙂",
        "👩\u200d👩\u200d👧",
        "é",
        "naïve",
        "日本語",
        "中文",
        "１２",
        "123",
        "4567",
        "—",
        "’s",
        "\u200b",
    ]
)
texts = st.lists(ALPHABET, max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(texts, max_size=20),
    target=st.integers(min_value=1, max_value=120),
    separator=st.sampled_from(["\n\n", " ", "", "\n<doc>\n", " \n "]),
    single=st.booleans(),
)
def test_packer_rows_are_canonical_and_lose_nothing(
    counter: TokenCounter, pieces: list[str], target: int, separator: str, single: bool
) -> None:
    items = [Piece(t, f"d{i}") for i, t in enumerate(pieces)]
    leftovers: list[Leftover] = []
    config = PackingConfig(target_tokens=target, separator=separator, allow_single_piece_rows=single)
    rows = list(RowPacker(counter, config, batch_chars=50).pack(items, leftovers))
    used: list[str] = []
    for row in rows:
        check_canonical(counter, row, target)
        order = [int(s["doc_id"][1:]) for s in row.sources]
        assert order == sorted(order)
        used += [s["doc_id"] for s in row.sources]
    # Every piece is in exactly one row or one leftover, never both, never lost, in order.
    accounted = sorted(used + [lo.doc_id for lo in leftovers], key=lambda d: int(d[1:]))
    pushed_back = [d for d in accounted if accounted.count(d) > 1]
    assert not pushed_back
    assert accounted == [p.doc_id for p in items]
    # Rows come out in the order of their first piece (a single-piece row waits for the open row).
    firsts = [int(row.sources[0]["doc_id"][1:]) for row in rows]
    if not single:
        assert firsts == sorted(firsts)


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(texts, max_size=20), target=st.integers(min_value=1, max_value=120))
# Found by CI: no piece could close the open row exactly, and the packer stopped reading the stream.
@example(
    pieces=[
        *["a", "a", "aX", "aanaïvea", "aXbnaïve", "aanaïveaXaX👩\u200d👩\u200d👧"],
        "aXaaabX👩\u200d👩\u200d👧👩\u200d👩\u200d👧aXaX!aXa  aab👩\u200d👩\u200d👧👩\u200d👩\u200d👧a  aXa  １２a🙂",
        *["a"] * 8,
        "",
    ],
    target=113,
)
def test_drop_row_rows_are_canonical_and_cut_only_a_filler(
    counter: TokenCounter, pieces: list[str], target: int
) -> None:
    items = [Piece(t, f"d{i}") for i, t in enumerate(pieces)]
    leftovers: list[Leftover] = []
    config = PackingConfig(target_tokens=target, cut_policy="drop_row")
    rows = list(RowPacker(counter, config, lookahead=8).pack(items, leftovers))
    used: list[str] = []
    for row in rows:
        check_canonical(counter, row, target)
        used += [s["doc_id"] for s in row.sources]
        if not row.filler:
            assert row.cut_tokens == 0
        for source in row.sources[:-1]:  # every piece but the last is whole
            assert pieces[int(source["doc_id"][1:])] in row.text
    assert sorted(used + [lo.doc_id for lo in leftovers], key=lambda d: int(d[1:])) == [
        p.doc_id for p in items
    ]


def test_join_that_merges_tokens_is_canonical(counter: TokenCounter) -> None:
    # "end." + "\n\n" is one ".\n\n"-style token when joined: the old packer wrote [.., 13, 271].
    pieces = [Piece("This is the end.", "a"), Piece("Next one starts here and goes on for a while.", "b")]
    (row,) = RowPacker(counter, PackingConfig(target_tokens=12)).pack(pieces)
    check_canonical(counter, row, 12)
    assert row.text.startswith("This is the end.\n\nNext")
    assert row.piece_lengths[0] == len(counter.encode("This is the end.\n\n"))


def test_rows_from_demo_corpus_are_canonical(counter: TokenCounter, demo_documents) -> None:
    pieces = [Piece(d.text, d.id, score=1.0) for d in demo_documents]
    texts = {d.id: d.text for d in demo_documents}
    leftovers: list[Leftover] = []
    rows = list(RowPacker(counter, PackingConfig(target_tokens=16_384)).pack(pieces, leftovers))
    assert len(rows) >= 100
    for row in rows:
        check_canonical(counter, row, 16_384)
        for source in row.sources[:-1]:
            assert texts[source["doc_id"]] in row.text  # whole documents, except possibly the last
        assert row.text.startswith(texts[row.sources[0]["doc_id"]])
    for row in rows[:20]:
        piece_starts_agree(counter, row, texts, "\n\n")
    assert {lo.reason for lo in leftovers} <= {REASON_TAIL}


def test_drop_row_yields_rows_on_the_demo_corpus(counter: TokenCounter, demo_documents) -> None:
    pieces = [Piece(d.text, d.id) for d in demo_documents[:800]]
    leftovers: list[Leftover] = []
    config = PackingConfig(target_tokens=32_768, cut_policy="drop_row")
    rows = list(RowPacker(counter, config).pack(pieces, leftovers))
    assert len(rows) >= 10  # the old drop_row made 0 rows from such documents
    texts = {d.id: d.text for d in demo_documents}
    for row in rows:
        check_canonical(counter, row, 32_768)
        for source in row.sources[:-1]:
            assert texts[source["doc_id"]] in row.text
    # Most rows end on a document boundary; the filler is the shortest piece, so little text is cut.
    cut = sum(r.cut_tokens for r in rows)
    assert cut < 0.05 * 32_768 * len(rows)


def test_reasons(counter: TokenCounter) -> None:
    leftovers: list[Leftover] = []
    rows = list(
        RowPacker(counter, PackingConfig(target_tokens=5)).pack(
            [Piece("", "empty"), Piece("one two three four five six seven", "long"), Piece("hi", "tail")],
            leftovers,
        )
    )
    assert rows == []
    assert [(lo.doc_id, lo.reason) for lo in leftovers] == [
        ("empty", REASON_EMPTY),
        ("long", REASON_TOO_LONG),
        ("tail", REASON_TAIL),
    ]
    (row,) = RowPacker(counter, PackingConfig(target_tokens=5, allow_single_piece_rows=True)).pack(
        [Piece("one two three four five six seven", "long")]
    )
    check_canonical(counter, row, 5)
    assert row.cut_tokens == 2


def test_custom_separator_counts_toward_previous_piece(counter: TokenCounter) -> None:
    sep = "\n<doc>\n"
    pieces = [Piece("alpha beta gamma", "a"), Piece("delta epsilon zeta eta theta iota kappa lambda", "b")]
    first = len(counter.encode("alpha beta gamma" + sep))
    (row,) = list(RowPacker(counter, PackingConfig(target_tokens=first + 3, separator=sep)).pack(pieces))
    check_canonical(counter, row, first + 3)
    assert row.piece_lengths == [first, 3]
    assert row.text.startswith("alpha beta gamma" + sep)
    assert row.cut_tokens == len(counter.encode(pieces[1].text)) - 3


def test_anchor_rule() -> None:
    assert is_anchor("a b", 1) and is_anchor("9 b", 1)
    assert not is_anchor("a  b", 1) and not is_anchor(". b", 1) and not is_anchor("a 9", 1)
    text = "one two. three"
    assert first_anchor(text) == 3 and last_anchor(text) == 3
    assert first_anchor("日本 語") == 2
    assert last_anchor("x" * 1000 + " y" + "." * 5000) == 1000


@settings(max_examples=200, deadline=None)
@given(left=texts, right=texts)
def test_text_splits_exactly_at_anchors(counter: TokenCounter, left: str, right: str) -> None:
    text = left + "ab cd" + right
    position = len(left) + 2
    assert is_anchor(text, position)
    assert counter.encode(text) == counter.encode(text[:position]) + counter.encode(text[position:])


def test_llama3_supports_anchors(counter: TokenCounter) -> None:
    assert supports_anchors(counter)


def test_bad_packing_config() -> None:
    with pytest.raises(ValueError, match="target_tokens"):
        PackingConfig(target_tokens=0)
    with pytest.raises(ValueError, match="cut_policy"):
        PackingConfig(target_tokens=5, cut_policy="chop")  # type: ignore[arg-type]
