"""Hierarchical QA's pure parts: the quality gates, answer reading, seeded choices and room sharing."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from litelong_hf.llm import run_sync
from litelong_hf.strategies.hierarchical import (
    QUESTION_TYPES,
    HierarchicalConfig,
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
    content_words,
    grounding_gate,
    missing_specifics,
    question_gate,
    specifics,
    trim_answer,
    words,
)
from litelong_hf.strategies.hierarchical.planning import (
    hierarchical_walk,
    questions_per_document,
    sentence_prefix,
)
from litelong_hf.strategies.hierarchical.writer import QAWriter
from litelong_hf.testing.scripted import ScriptedLLM
from litelong_hf.tokens import TokenCounter

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
    assert grounding_gate("The president visited Paris in spring.", MATERIAL) == (
        "names or numbers not in its material"
    )
    assert grounding_gate("The president visited the capital in spring.", MATERIAL) == "not in its material"
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


TRIPLES = json.loads(
    (Path(__file__).parent / "data" / "hierarchical_smollm2_triples.json").read_text(encoding="utf-8")
)["triples"]


def test_names_and_numbers_of_the_answer_must_be_in_its_material() -> None:
    # The issue's row: most words come from the passage, so the content-word share alone let it through.
    material = MaterialWords.of(
        "EU negotiator Michel Barnier said on Monday that talks with Britain would resume. The European "
        "Union's foreign ministers meet in Brussels, and a deal is wanted by the end of next year."
    )
    hallucinated = (
        "Michel Barnier, the EU's Foreign and Security Affairs (FSA) Minister, will be considered for a role "
        "in next election."
    )
    assert grounding_gate(hallucinated, material) == "names or numbers not in its material"
    assert missing_specifics(hallucinated, material) == ["security", "affair", "fsa"]
    assert grounding_gate("Barnier said talks with Britain would resume on Monday.", material) is None
    # A sentence's first word is an ordinary word; dotted and plain acronyms are one name; figures count.
    assert specifics("Officials in the U.S. said 40 buses run. Residents of NATO states agreed.") == [
        "us",
        "nato",
        "40",
    ]
    assert missing_specifics("The US team won.", MaterialWords.of("A U.S. team won.")) == []
    assert missing_specifics("It cost 41 dollars.", MaterialWords.of("It cost 40 dollars.")) == ["41"]
    # A question naming what its material does not is a hallucinated question.
    assert grounding_gate("He said talks resume.", material, question="What did Angela Merkel say?") == (
        "question names what its material does not"
    )


def test_grounding_gate_on_real_smollm2_output() -> None:
    hallucinated = [t for t in TRIPLES if t["label"] == "hallucinated"]
    grounded = [t for t in TRIPLES if t["label"] == "grounded"]
    assert len(hallucinated) >= 5 and len(grounded) >= 2
    for t in hallucinated:
        material = MaterialWords.of(t["source"])
        assert grounding_gate(t["answer"], material, question=t["question"]) is not None, t["answer"]
    for t in grounded:
        material = MaterialWords.of(t["source"])
        assert grounding_gate(t["answer"], material, question=t["question"]) is None, t["answer"]
    # The content-word share alone (the gate before) passed some of the hallucinations.
    share_only = [
        t
        for t in hallucinated
        if (content := content_words(words(t["answer"])))
        and sum(w in MaterialWords.of(t["source"]).vocabulary for w in content) >= 0.5 * len(content)
    ]
    assert len(share_only) >= 2


def test_support_scorer_sets_a_floor_for_what_words_cannot_see() -> None:
    # "Lexically supported, wrong": every word is in the source, the claim is false (Iohannis is Romania's
    # president; the source names a prime minister too). The lexical floor passes it; a scorer can fail it.
    wrong = [t for t in TRIPLES if t["label"] == "lexically supported, wrong"]
    assert wrong
    for t in wrong:
        material = MaterialWords.of(t["source"])
        assert grounding_gate(t["answer"], material, question=t["question"]) is None
        seen: list[tuple[str, tuple[str, ...]]] = []

        def scorer(
            answer: str, texts: Sequence[str], seen: list[tuple[str, tuple[str, ...]]] = seen
        ) -> float:
            seen.append((answer, tuple(texts)))
            return 0.1

        verdict = grounding_gate(t["answer"], material, scorer=scorer, texts=[t["source"]], min_score=0.5)
        assert verdict == "low support score" and seen == [(t["answer"], (t["source"],))]


def test_questions_about_questions_or_their_prompt_fail() -> None:
    # Seen in the issue and from SmolLM2: a question about a question, or about "the section".
    issue = (
        "What is the answer to the question about the quote about the White House's response to a recent "
        "attack on the president's supporters?"
    )
    assert question_gate(issue, MATERIAL) == "about nothing"
    assert question_gate("What is the main point of the section?", MATERIAL) == "refers to its prompt"
    assert question_gate("Who answered the question first?", MATERIAL) is None


@given(
    n=st.integers(0, 12),
    sizes=st.lists(st.integers(1, 4), min_size=0, max_size=6),
    seed=st.integers(0, 2**32),
)
def test_hierarchical_walk_goes_down_the_tree_in_reading_order(n: int, sizes: list[int], seed: int) -> None:
    members = []
    start = 0
    for size in sizes:
        members.append(range(start, start + size))
        start += size
    walk = hierarchical_walk(n, members, seed)
    assert walk == hierarchical_walk(n, members, seed)  # seeded
    assert len(walk) == (min(n, 1) if not members else n)
    if n:
        assert walk[0] == ("global", 0, 0)
    mediums = [i for level, i, _ in walk if level == "medium"]
    assert mediums == sorted(mediums)
    if len(members) >= n // 2:
        assert len(set(mediums)) == len(mediums)  # enough medium chunks: none asked twice
    for (level, index, _), (next_level, next_index, _) in itertools.pairwise(walk):
        if next_level == "small":
            assert level == "medium" and next_index in members[index]
    nodes = [(level, index) for level, index, _ in walk]
    assert [variant for _, _, variant in walk] == [nodes[:i].count(node) for i, node in enumerate(nodes)]


def test_questions_per_document_by_plan() -> None:
    counts = {
        "hierarchical_questions": 5,
        "diverse_questions": 9,
        "global_questions": 3,
        "medium_questions": 2,
        "small_questions": 1,
    }
    assert questions_per_document("sampled", counts, 5, 19) == 14
    assert questions_per_document("exhaustive", counts, 5, 19) == 3 + 10 + 19 + 9


CHUNK_A = (
    "Officials in Lisbon opened the new harbour bridge on Tuesday. The bridge cost 90 million euros and took "
    "four years to build."
)
CHUNK_B = "Farmers near Porto reported a record olive harvest this autumn after a wet spring."


def _writer(tmp_path: Path, answer: str, **kwargs: object) -> tuple[QAWriter, ScriptedLLM]:
    llm = ScriptedLLM(
        "grounding", lambda prompt, request: [{"question": "What happened on Tuesday?", "answer": answer}]
    )
    config = HierarchicalConfig(
        name="hierarchical-test", cache_dir=str(tmp_path), target_tokens=12_000, qa_retries=0
    )
    return QAWriter(llm, config, TokenCounter.get(), **kwargs), llm  # type: ignore[arg-type]


def _ask(writer: QAWriter, text: str) -> list[tuple[str, str]]:
    n = writer.counter.count(text)
    return run_sync(writer.questions("questions_small", 1, 7, {"text": (text, n)}))


def test_writer_grounds_each_answer_in_the_chunk_it_was_asked_from(tmp_path: Path) -> None:
    # The answer is true of the document (chunk A) but the request was about chunk B: it fails there.
    answer = "Officials in Lisbon opened the harbour bridge."
    writer, _ = _writer(tmp_path / "b", answer)
    assert _ask(writer, CHUNK_B) == [] and writer.stats["qa_gate_grounding_failed"] == 1
    writer, _ = _writer(tmp_path / "a", answer)
    assert _ask(writer, CHUNK_A) == [("What happened on Tuesday?", answer)]


def test_writer_passes_the_request_material_to_the_support_scorer(tmp_path: Path) -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []

    def scorer(answer: str, texts: Sequence[str]) -> float:
        seen.append((answer, tuple(texts)))
        return 0.2

    answer = "Officials in Lisbon opened the harbour bridge."
    writer, _ = _writer(tmp_path, answer, scorer=scorer, min_score=0.5)
    assert _ask(writer, CHUNK_A) == []
    assert seen == [(answer, (CHUNK_A,))] and writer.stats["qa_gate_grounding_failed"] == 1
