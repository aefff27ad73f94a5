from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litelong_hf.packing import (
    REASON_DROP_ROW,
    REASON_EMPTY,
    REASON_TAIL,
    REASON_TOO_LONG,
    Leftover,
    PackingConfig,
    Piece,
    PlannedLeftover,
    PlannedRow,
    RowPacker,
    RowPlanner,
)
from litelong_hf.tokens import TokenCounter


def plan_all(lengths: list[int], target: int, sep: int, policy: str = "truncate", single: bool = False):
    planner = RowPlanner(target, sep, policy, single)  # type: ignore[arg-type]
    events = [e for n in lengths for e in planner.push(n)]
    return events + planner.finish()


@settings(max_examples=500, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=60), max_size=60),
    target=st.integers(min_value=1, max_value=100),
    sep=st.integers(min_value=0, max_value=5),
    policy=st.sampled_from(["truncate", "drop_row"]),
    single=st.booleans(),
)
def test_planner_properties(lengths: list[int], target: int, sep: int, policy: str, single: bool) -> None:
    events = plan_all(lengths, target, sep, policy, single)
    seen: list[int] = []
    for event in events:
        if isinstance(event, PlannedRow):
            assert event.n_tokens == target  # exact length, always
            for part in event.parts:
                assert 0 < part.take <= lengths[part.index]
                assert part.sep <= sep
            # only the last part of a row may be cut, and only it may carry a partial separator
            for part in event.parts[:-1]:
                assert part.take == lengths[part.index] and part.sep == sep
            if policy == "drop_row" and lengths[event.parts[-1].index] <= target:
                assert event.parts[-1].take == lengths[event.parts[-1].index]
            seen += [p.index for p in event.parts]
        else:
            assert isinstance(event, PlannedLeftover)
            seen.append(event.index)
    # every piece is accounted for exactly once: in a row or a leftover, never both, never lost
    assert sorted(seen) == list(range(len(lengths)))
    # pieces keep their order within rows, and rows come in the order of their first piece
    rows = [[p.index for p in e.parts] for e in events if isinstance(e, PlannedRow)]
    assert all(r == sorted(r) for r in rows)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_planner_reasons() -> None:
    events = plan_all([0, 50, 4], target=10, sep=1)
    assert events == [
        PlannedLeftover(0, REASON_EMPTY),
        PlannedLeftover(1, REASON_TOO_LONG),
        PlannedLeftover(2, REASON_TAIL),
    ]
    (row,) = plan_all([50], target=10, sep=1, single=True)
    assert isinstance(row, PlannedRow) and row.parts[0].take == 10
    events = plan_all([6, 6], target=10, sep=1, policy="drop_row")
    assert events == [PlannedLeftover(0, REASON_DROP_ROW), PlannedLeftover(1, REASON_TAIL)]


def test_planner_partial_separator_when_only_separator_fits() -> None:
    # 8 tokens + 3 separator tokens > 10: the row ends with 2 of the separator's tokens.
    events = plan_all([8, 5, 5], target=10, sep=3)
    first = events[0]
    assert isinstance(first, PlannedRow)
    assert [(p.index, p.take, p.sep) for p in first.parts] == [(0, 8, 2)]


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter.get()


words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=120)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(words, max_size=25), target=st.integers(min_value=1, max_value=200))
def test_packer_properties(counter: TokenCounter, texts: list[str], target: int) -> None:
    pieces = [Piece(t, f"d{i}") for i, t in enumerate(texts)]
    leftovers: list[Leftover] = []
    rows = list(
        RowPacker(counter, PackingConfig(target_tokens=target), batch_chars=200).pack(pieces, leftovers)
    )
    used: list[str] = []
    for row in rows:
        assert len(row.input_ids) == sum(row.piece_lengths) == row.n_tokens == target
        assert row.input_ids.dtype == np.int32
        assert [s["n_tokens"] for s in row.sources] == row.piece_lengths
        assert counter.decode(row.input_ids.tolist()) == row.text
        used += [s["doc_id"] for s in row.sources]
    assert len(used) == len(set(used))  # no piece appears twice
    assert used == sorted(used, key=lambda d: int(d[1:]))  # order kept
    assert sorted(used + [lo.doc_id for lo in leftovers], key=lambda d: int(d[1:])) == [
        p.doc_id for p in pieces
    ]


def test_rows_from_demo_corpus(counter: TokenCounter, demo_documents) -> None:
    pieces = [Piece(d.text, d.id, score=1.0) for d in demo_documents[:400]]
    leftovers: list[Leftover] = []
    rows = list(RowPacker(counter, PackingConfig(target_tokens=32_768)).pack(pieces, leftovers))
    assert len(rows) >= 5
    texts = {d.id: d.text for d in demo_documents}
    for row in rows:
        assert row.n_tokens == 32_768
        for source in row.sources[:-1]:
            assert texts[source["doc_id"]] in row.text  # whole documents, except possibly the last
        assert row.text.startswith(texts[row.sources[0]["doc_id"]])
    assert rows[0].text.split("\n\n")[0] == texts[rows[0].sources[0]["doc_id"]]
    assert {lo.reason for lo in leftovers} <= {REASON_TAIL}


def test_custom_separator_counts_toward_previous_piece(counter: TokenCounter) -> None:
    sep = "\n<doc>\n"
    n_sep = len(counter.encode(sep))
    pieces = [Piece("alpha beta gamma", "a"), Piece("delta epsilon zeta eta theta iota kappa lambda", "b")]
    n_a = len(counter.encode("alpha beta gamma"))
    (row,) = list(
        RowPacker(counter, PackingConfig(target_tokens=n_a + n_sep + 3, separator=sep)).pack(pieces)
    )
    assert row.piece_lengths == [n_a + n_sep, 3]
    assert row.text.startswith("alpha beta gamma" + sep)
    assert row.cut_tokens == len(counter.encode(pieces[1].text)) - 3


def test_bad_packing_config() -> None:
    with pytest.raises(ValueError, match="target_tokens"):
        PackingConfig(target_tokens=0)
    with pytest.raises(ValueError, match="cut_policy"):
        PackingConfig(target_tokens=5, cut_policy="chop")  # type: ignore[arg-type]
