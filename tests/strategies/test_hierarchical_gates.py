"""Hierarchical QA's pure parts: the quality gates, answer reading, seeded choices and room sharing."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from litelong_hf.strategies.hierarchical import (
    QUESTION_TYPES,
    MaterialWords,
    check_pair,
    cost_summary,
    diverse_choices,
    gate_summary,
    qa_max_tokens,
    qa_pairs_from,
    qa_schema,
    revisit_chunk,
    revisit_draws,
    share_room,
    trim_summary,
)
from litelong_hf.strategies.hierarchical.gates import (
    answer_gate,
    grounding_gate,
    question_gate,
    trim_answer,
    words,
)
from litelong_hf.strategies.hierarchical.planning import sentence_prefix

PASSAGE = (
    "The city council approved the new budget on Monday after a long debate. Mayor Ana Ortiz said the plan "
    "adds 40 buses and repairs three bridges. Opponents argued that the tax increase would hurt small shops."
)
MATERIAL = MaterialWords.of(PASSAGE)


def gate(question: str, answer: str, **kw: float) -> tuple[str | None, str | None, str | None]:
    result = check_pair(question, answer, MATERIAL, answer_max_chars=300, **kw)
    return result.question, result.answer, result.grounding


def test_a_good_pair_passes_every_gate() -> None:
    assert (
        gate("When did the council approve the budget?", "The council approved it on Monday.") == (None,) * 3
    )
    assert gate("How many buses does the plan add?", "The plan adds 40 buses.") == (None,) * 3
    assert gate("According to opponents, what would hurt small shops?", "The tax increase.") == (None,) * 3


def test_question_gate_rejects_statements_and_copies() -> None:
    assert question_gate("The council approved the new budget on Monday?", MATERIAL) == "not a question"
    assert question_gate("Budget?", MATERIAL) == "not a question"
    # A source sentence with an interrogative glued in front is still a copy of the material.
    copied = "Did mayor Ana Ortiz said the plan adds 40 buses and repairs three bridges?"
    assert question_gate(copied, MATERIAL) == "copy of its material"
    assert question_gate("What does the plan add besides repairs?", MATERIAL) is None
    # Seen from the 135M model: questions about the prompt itself mean nothing inside a row.
    assert question_gate("What is the passage above?", MATERIAL) == "refers to its prompt"
    assert question_gate("What is the main point of this section?", MATERIAL) == "refers to its prompt"
    assert question_gate("What is the answer?", MATERIAL) == "about nothing"
    # The copy threshold is a knob: a strict one flags shorter shared runs.
    near = "Which mayor said the plan adds 40 buses?"
    assert question_gate(near, MATERIAL, max_copy=0.9) is None
    assert question_gate(near, MATERIAL, max_copy=0.5) == "copy of its material"


def test_answer_gate_rejects_degenerate_answers() -> None:
    question = "What did the council approve?"
    assert answer_gate("The new budget.", question, 300) is None
    assert (
        answer_gate("The budget the budget the budget the budget the budget the budget.", question, 300)
        == "repetition"
    )
    assert answer_gate("Yes yes yes.", question, 300) == "repetition"
    assert answer_gate("The council approved the new budget and then the", question, 300) == "truncated"
    assert answer_gate("A" * 40 + " budget.", question, 44) == "truncated"  # ran into the schema's limit
    assert answer_gate("It is.", question, 300) == "no content"
    # Seen from the 135M model: the schema forces a "." right after the cut.
    assert answer_gate("The support for the Syrian regime is a crucial,.", question, 300) == "truncated"
    assert answer_gate("A list of 78 attacks and a 1-.", question, 300) == "truncated"
    assert answer_gate("It was approved by the.", question, 300) == "truncated"
    assert answer_gate("What did the council approve?", question, 300) == "copy of the question"


def test_grounding_gate_needs_the_answer_in_its_material() -> None:
    assert grounding_gate("Mayor Ortiz announced 40 buses.", MATERIAL) is None
    assert grounding_gate("The president visited Paris in spring.", MATERIAL) == "not in its material"
    assert (
        grounding_gate("The president visited Paris in spring.", MaterialWords.of("spring", "Paris")) is None
    )
    assert grounding_gate("Buses and bridges and trains and planes.", MATERIAL, min_overlap=0.5) is None
    assert grounding_gate("Buses and bridges and trains and planes.", MATERIAL, min_overlap=0.9) is not None


def test_gate_summary_rates() -> None:
    stats = {
        "qa_gate_pairs": 10,
        "qa_gate_question_failed": 2,
        "qa_gate_answer_failed": 1,
        "qa_gate_passed": 7,
        "qa_pairs_kept": 9,
        "qa_pairs_dropped": 1,
        "qa_retry_requests": 3,
    }
    summary = gate_summary(stats)
    assert summary["question_pass_rate"] == 0.8 and summary["answer_pass_rate"] == 0.9
    assert summary["grounding_pass_rate"] == 1.0 and summary["all_gates_pass_rate"] == 0.7
    assert summary["kept_rate"] == 0.9 and summary["retry_requests"] == 3
    assert gate_summary({})["all_gates_pass_rate"] == 1.0


@given(sizes=st.lists(st.integers(0, 5000), min_size=1, max_size=4), room=st.integers(0, 8000))
def test_share_room_fits_and_wastes_nothing(sizes: list[int], room: int) -> None:
    shares = share_room(sizes, room)
    assert sum(shares) <= room and all(0 <= s <= n for s, n in zip(shares, sizes, strict=True))
    if sum(sizes) <= room:
        assert shares == sizes
    else:  # room is used up to rounding, and nobody gets less than an even split unless it needs less
        assert sum(shares) >= room - len(sizes)
        assert all(s >= min(n, room // len(sizes)) for s, n in zip(shares, sizes, strict=True))


def test_sentence_prefix() -> None:
    assert sentence_prefix("One two. Three four. Five si") == "One two. Three four."
    assert (
        sentence_prefix("A long first part of text that goes on. X")
        == "A long first part of text that goes on."
    )
    assert sentence_prefix("Short. Then a very long unfinished sentence without any end at all") == (
        "Short. Then a very long unfinished sentence without any end at all"
    )


def test_answer_reading_is_lenient() -> None:
    assert qa_pairs_from([{"question": " Who? ", "answer": "Ann."}, {"question": "x"}, "y"]) == [
        ("Who?", "Ann.")
    ]
    assert qa_pairs_from({"questions": [{"q": "Why?", "a": "So."}]}) == [("Why?", "So.")]
    assert qa_pairs_from("nothing") == []
    assert qa_max_tokens(2, 100, 50) == 2 * 182 + 8
    assert trim_summary("One. Two is cut off mid") == "One."
    assert trim_summary("Summary:  It rained. And then") == "It rained."


def test_schema_patterns() -> None:
    schema = qa_schema(2, 100, 50)
    assert schema["minItems"] == schema["maxItems"] == 2
    plain = re.compile(schema["items"]["properties"]["question"]["pattern"])
    assert plain.match("What is it?") and not plain.match('Say "hi"?') and not plain.match("no capital?")
    opened = re.compile(qa_schema(1, 100, 50, openers=True)["items"]["properties"]["question"]["pattern"])
    assert opened.match("What is the plan?") and opened.match("In which year did it open?")
    assert not opened.match("The plan is new?")


def test_diverse_and_revisit_choices_are_seeded() -> None:
    choices = diverse_choices(10, QUESTION_TYPES, 6, seed=7)
    assert choices == diverse_choices(10, QUESTION_TYPES, 6, seed=7)
    assert {k for k, _ in choices[:5]} == set(QUESTION_TYPES)  # a full round covers the pool
    for kind, chunks in choices:
        assert len(chunks) == (2 if kind in ("multi_hop", "comparison", "temporal_order") else 1)
        assert list(chunks) == sorted(set(chunks)) and all(0 <= c < 6 for c in chunks)
    assert {k for k, _ in diverse_choices(5, QUESTION_TYPES, 1, seed=1)} <= {"local_detail", "counting"}
    assert sorted(revisit_chunk(k, 3, seed=5)[0] for k in range(3)) == [0, 1, 2]
    assert [revisit_chunk(k, 3, seed=5)[1] for k in range(7)] == [0, 0, 0, 1, 1, 1, 2]
    assert revisit_draws(random.Random(1), 4, 1.0) == [0, 1, 2, 3]
    assert revisit_draws(random.Random(1), 4, 0.0) == []
    draws = [len(revisit_draws(random.Random(i), 10, 0.6)) for i in range(200)]
    assert 5.0 < sum(draws) / len(draws) < 7.0


def test_cost_summary() -> None:
    cost = cost_summary(
        {"rows": 2, "row_tokens": 500_000},
        {"requests": 40, "cache_hits": 60, "call_tokens_in": 900, "call_tokens_out": 100},
    )
    assert cost["llm_calls"] == 100 and cost["llm_calls_per_row"] == 50
    assert cost["llm_calls_per_1m_context_tokens"] == 200 and cost["llm_tokens_per_1m_context_tokens"] == 2000
    assert cost_summary({}, {})["llm_calls_per_row"] == 0


@pytest.mark.parametrize("text", ["", "   ", "?"])
def test_gates_never_crash_on_empty_text(text: str) -> None:
    result = check_pair(text, text, MaterialWords.of(text), answer_max_chars=300)
    assert not result.passed


@pytest.mark.parametrize(
    ("answer", "trimmed"),
    [
        (
            "Paris is the capital of France. Paris is the capital of France. Paris is",
            "Paris is the capital of France.",
        ),
        (
            "The council met on Monday. It approved the budget. The council met on Monday.",
            "The council met on Monday. It approved the budget.",
        ),
        (
            "The U.S. president signed the bill on Monday. It passed",
            "The U.S. president signed the bill on Monday.",
        ),
        (
            'He said "it is over." Then he left the room quietly.',
            'He said "it is over." Then he left the room quietly.',
        ),
        # Nothing whole of four words or more: left for the answer gate to judge.
        ("The U.S. president is", "The U.S. president is"),
        ("Mr. Smith said the plan was good, and the", "Mr. Smith said the plan was good, and the"),
        ("On Monday.", "On Monday."),
    ],
)
def test_trim_answer_keeps_whole_sentences_before_a_repeat_or_a_cut(answer: str, trimmed: str) -> None:
    assert trim_answer(answer) == trimmed


SENTENCE = st.lists(
    st.sampled_from(["the", "council", "budget", "approved", "river", "Monday", "42"]), min_size=4, max_size=9
).map(lambda ws: " ".join(ws).capitalize() + ".")


@given(
    sentences=st.lists(SENTENCE, min_size=1, max_size=4, unique_by=lambda s: tuple(words(s))),
    repeats=st.integers(0, 3),
    cut=st.integers(0, 30),
)
def test_trim_answer_recovers_the_distinct_sentences(sentences: list[str], repeats: int, cut: int) -> None:
    body = " ".join(sentences)
    answer = " ".join([body] * (1 + repeats)) + " " + body[:cut]
    trimmed = trim_answer(answer)
    assert trimmed == body
