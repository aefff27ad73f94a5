"""Hierarchical QA: row structure, exact chat-template counts, determinism, sharing and resume.

Fast tests run the strategy on the demo corpus with a scripted LLM (instant, deterministic answers, real
request cache); the integration tests run the presets end to end on the embedded SmolLM2 model with tiny
chunks and targets, so the 135M model's ~30 requests stay within a minute or so.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from resume_helpers import kill_after_answers

import litelong_hf
import litelong_hf.strategies.hierarchical  # registers the strategy before any preset is loaded
from litelong_hf.chat import chat_format
from litelong_hf.config import ConfigError, make_config
from litelong_hf.corpus import Document
from litelong_hf.llm import ChatLLM, ChatRequest, RawCompletion, RequestCache
from litelong_hf.llm.errors import ContextLengthExceeded
from litelong_hf.pipeline import checkpoint_dir, iter_transcripts, merged_report
from litelong_hf.report import RunReport
from litelong_hf.strategies.hierarchical import (
    QUESTION_TYPES,
    HierarchicalConfig,
    HierarchicalStrategy,
    cost_summary,
    diverse_choices,
    group_streams,
    qa_max_tokens,
    qa_pairs_from,
    qa_schema,
    revisit_chunk,
    revisit_draws,
    trim_summary,
)
from litelong_hf.tokens import TokenCounter

RECOUNT = TokenCounter.get("llama-3", prefer_tiktoken=False)  # independent of the tiktoken fast path
LEVEL_RANK = {"global": 0, "medium": 1, "small": 1, "diverse": 2}

# Fast runs: small chunks so documents have several medium chunks, short documents grouped by outlet.
FAST: dict[str, Any] = {
    "max_documents": 300,
    "small_chunk_tokens": 400,
    "medium_chunk_size": 2,
    "document_tokens": 2400,
    "min_document_tokens": 1200,
    "target_tokens": 12_000,
    "global_questions": 2,
    "medium_questions": 1,
    "small_questions": 1,
    "diverse_questions": 3,
}


class ScriptedLLM(ChatLLM):
    """Answers instantly: summaries name a digest of the prompt, QA requests get the JSON asked for. Refuses
    (like a server) a prompt that does not fit its window, and records what it was sent."""

    def __init__(
        self,
        cache: RequestCache | None,
        *,
        window: int = 8192,
        garbage: bool = False,
        long_summaries: bool = False,
    ) -> None:
        super().__init__(cache=cache)
        self.window = window
        self.garbage = garbage
        self.long_summaries = long_summaries
        self.sent: list[str] = []

    @property
    def model_id(self) -> str:
        return "scripted/test"

    @property
    def context_window(self) -> int:
        return self.window

    @property
    def max_concurrency(self) -> int:
        return 8

    async def _complete(self, request: ChatRequest) -> RawCompletion:
        prompt = "\n".join(m["content"] for m in request.messages)
        used = len(TokenCounter.get().encode(prompt)) + request.max_tokens
        if used > self.window:
            raise ContextLengthExceeded(f"{used} > {self.window}")
        self.sent.append(request.messages[-1]["content"])
        digest = hashlib.sha1(f"{prompt}|{request.seed}".encode()).hexdigest()[:8]
        if request.schema is None and self.long_summaries:  # as long as allowed, ~8 tokens a sentence
            text = " ".join(f"Sentence {i} of summary {digest}." for i in range(request.max_tokens // 9))
        elif request.schema is None:
            text = f"Summary {digest} of the material. It ends here"
        elif self.garbage:
            text = "I cannot answer that"
        else:
            n = request.schema["minItems"]
            pairs = [
                {"question": f"What is fact {digest}-{i}?", "answer": f"Fact {digest}-{i}."} for i in range(n)
            ]
            text = json.dumps(pairs)
        return RawCompletion(text, len(prompt) // 4, len(text) // 4)


def fast_config(tmp: Path, **overrides: Any) -> HierarchicalConfig:
    return HierarchicalConfig(name="hierarchical-test", cache_dir=str(tmp), **{**FAST, **overrides})


def run_rows(
    config: HierarchicalConfig, llm: ChatLLM, quota: int | None = None
) -> tuple[list[dict[str, Any]], RunReport]:
    report = RunReport()
    rows = list(HierarchicalStrategy(config, llm=llm).instruction_rows(0, 1, report, quota))
    return rows, report


# -- structure checks shared by the fast and the real rows --------------------------------------------


def document_texts(first_message: str, n: int) -> list[str]:
    texts = []
    for k in range(1, n + 1):
        match = re.search(rf'<document index="{k}">\n(.*?)\n</document>', first_message, re.DOTALL)
        assert match, f"document {k} is not in the first user turn"
        texts.append(match.group(1))
    return texts


def sha1(text: str) -> str:
    return hashlib.sha1(text.strip().encode()).hexdigest()


def check_row(row: dict[str, Any], transcript: dict[str, Any], target: int) -> None:
    messages, questions, documents = row["messages"], row["questions"], row["documents"]
    # Turn order: user (documents + first question), then assistant/user alternating, ending with an answer.
    assert [m["role"] for m in messages] == ["user", "assistant"] * len(questions)
    texts = document_texts(messages[0]["content"], len(documents))
    for d, text in zip(documents, texts, strict=True):
        assert d["n_tokens"] == TokenCounter.get().count(text)
    # Each question says which document it is about.
    for q, message in zip(questions, messages[0::2], strict=True):
        shown = message["content"].rsplit("</document>\n\n", 1)[-1]
        word = "Back to" if q["level"] == "revisit" else "About"
        assert shown.startswith(f"{word} document {q['doc_index'] + 1}: "), shown[:80]
    # Levels in hierarchical order; revisits only about earlier documents.
    assert [t["level"] for t in transcript["turns"]] == [q["level"] for q in questions]
    current = -1
    position: tuple[int, int] = (-1, -1)
    for turn in transcript["turns"]:
        doc = transcript["documents"][turn["doc_index"]]
        if turn["level"] == "revisit":
            assert turn["doc_index"] < current, "a revisit question must be about an earlier document"
            continue
        if turn["doc_index"] != current:
            assert turn["doc_index"] == current + 1, "documents' own questions come in document order"
            current, position = turn["doc_index"], (-1, -1)
        rank = LEVEL_RANK[turn["level"]]
        if turn["level"] == "medium":
            medium = int(turn["chunks"][0][1:])
            here = (rank, medium * 10_000)
        elif turn["level"] == "small":
            small = turn["chunks"][0]
            medium = next(m for m, info in enumerate(doc["medium"]) if small in info["small"])
            here = (rank, medium * 10_000 + 1 + int(small[1:]))
        else:
            here = (rank, 0)
        assert here >= position, f"{turn} comes after {position}: not in reading order"
        position = here
    # Every answer's source chunks are inside the context.
    for turn in transcript["turns"]:
        doc = transcript["documents"][turn["doc_index"]]
        text = texts[turn["doc_index"]]
        spans = {c["id"]: c for c in doc["small"] + doc["medium"]}
        for chunk in turn["chunks"]:
            if chunk == "doc":
                continue
            span = spans[chunk]
            assert sha1(text[span["start"] : span["end"]]) == span["sha1"], f"chunk {chunk} is not in the row"
    # Token count with the chat template: within the target, and equal to an independent recount.
    fmt = chat_format(row["tokenizer"])
    assert row["n_tokens"] <= target
    assert row["n_tokens"] == fmt.count(messages) == len(RECOUNT.encode(fmt.render(messages)))


# -- fast tests (scripted LLM) -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[dict[str, Any]], RunReport, ScriptedLLM]:
    tmp = tmp_path_factory.mktemp("hierarchical-fast")
    llm = ScriptedLLM(RequestCache(tmp / "llm"))
    rows, report = run_rows(fast_config(tmp), llm, quota=3)
    return tmp, rows, report, llm


def test_rows_have_the_structure_of_the_method(fast_run: Any) -> None:
    _, rows, report, _ = fast_run
    assert len(rows) == 3
    transcripts = report.extra["transcripts"]
    for row, transcript in zip(rows, transcripts, strict=True):
        assert row["strategy"] == "hierarchical" and row["tokenizer"] == "llama-3"
        assert len(row["documents"]) >= 3
        check_row(row, transcript, FAST["target_tokens"])
        levels = {q["level"] for q in row["questions"]}
        assert {"global", "medium", "small", "diverse", "revisit"} <= levels
        # Grouped documents: the demo's short articles, joined per outlet.
        for doc in transcript["documents"]:
            assert doc["doc_id"].startswith("source=") == (len(doc["members"]) > 1 or doc["group"] != "")
    grouped = [d for t in transcripts for d in t["documents"] if d["group"]]
    assert grouped and all(len(d["members"]) > 1 for d in grouped)
    assert report.stats.get("rows_planned_inexactly", 0) == 0
    assert report.stats["rows"] == 3


def test_fixed_counts_per_level(fast_run: Any) -> None:
    _, rows, report, _ = fast_run
    for row, transcript in zip(rows, report.extra["transcripts"], strict=True):
        for index, doc in enumerate(transcript["documents"]):
            own = [
                q["level"] for q in row["questions"] if q["doc_index"] == index and q["level"] != "revisit"
            ]
            assert own.count("global") == FAST["global_questions"]
            assert own.count("medium") == FAST["medium_questions"] * len(doc["medium"])
            assert own.count("small") == FAST["small_questions"] * len(doc["small"])
            assert own.count("diverse") == FAST["diverse_questions"]
            kinds = [
                q["kind"] for q in row["questions"] if q["doc_index"] == index and q["level"] == "diverse"
            ]
            assert len(set(kinds)) == len(kinds) and set(kinds) <= set(QUESTION_TYPES)
        revisits = [q for q in row["questions"] if q["level"] == "revisit"]
        assert len(revisits) % 3 == 0


def test_cost_report(fast_run: Any) -> None:
    _, rows, report, llm = fast_run
    cost = report.extra["cost"]
    assert cost["rows"] == 3 and cost["context_tokens"] == sum(r["n_tokens"] for r in rows)
    assert cost["llm_calls"] == report.llm["calls"] == report.llm["requests"] + report.llm["cache_hits"]
    assert report.llm["requests"] == len(llm.sent)
    assert cost["llm_calls_per_1m_context_tokens"] == pytest.approx(
        cost["llm_calls"] / cost["context_tokens"] * 1e6
    )
    assert cost["llm_tokens_per_row"] > 0 and cost["llm_unparseable"] == 0
    assert report.extra["models"] == {"qa": "scripted/test"}
    assert report.extra["prompt_versions"]["hierarchical"].startswith("hierarchical-v1@")


def test_same_config_gives_identical_rows_from_cached_answers(fast_run: Any) -> None:
    tmp, rows, _, _ = fast_run
    llm = ScriptedLLM(RequestCache(tmp / "llm"))
    again, report = run_rows(fast_config(tmp), llm, quota=3)
    assert again == rows
    assert llm.sent == [] and report.llm["requests"] == 0 and report.llm["cache_hits"] == report.llm["calls"]


def test_llm_work_is_shared_between_configs(tmp_path: Path) -> None:
    """Another config (other row and document sizes) asks nothing again about a chunk the first one had."""
    shared = {"min_document_tokens": 800, "min_row_fill": 0.0, "max_documents": 120}
    first_config = fast_config(tmp_path, **shared)
    first = ScriptedLLM(RequestCache(tmp_path / "llm"))
    run_rows(first_config, first)
    seen = {
        doc.text[s.start : s.end].strip()
        for doc in HierarchicalStrategy(first_config).document_set().documents
        for s in doc.tree.small
    }
    second = ScriptedLLM(RequestCache(tmp_path / "llm"))
    rows, report = run_rows(
        fast_config(tmp_path, target_tokens=20_000, document_tokens=3200, **shared), second
    )
    assert rows and report.llm["cache_hits"] > 2 * report.llm["requests"]
    # Small-chunk summaries and detail questions depend on the chunk alone (document-level questions, diverse
    # and revisit questions depend on the document, which differs between the two configs).
    chunk_level = ("Summarize the passage above", "Write 1 question about specific details of the passage")
    passages = [
        p.split("Passage:\n", 1)[1].rsplit("\n\n", 1)[0]
        for p in second.sent
        if p.startswith("Passage:\n") and any(marker in p for marker in chunk_level)
    ]
    assert not [p for p in passages if p in seen]


def test_inputs_are_fitted_to_a_short_context_window(tmp_path: Path) -> None:
    # A 1,200-token window holds neither a 900-token passage nor six long summaries plus the answer budget:
    # passages are truncated, summary lists summarized in groups, and the LLM never refuses a request.
    config = fast_config(
        tmp_path,
        small_chunk_tokens=900,
        medium_chunk_size=6,
        document_tokens=8000,
        target_tokens=20_000,
        summary_max_tokens=200,
        min_document_tokens=2000,
        question_max_chars=60,
        answer_max_chars=60,
    )
    llm = ScriptedLLM(RequestCache(tmp_path / "llm"), window=1200, long_summaries=True)
    rows, report = run_rows(config, llm, quota=1)
    assert rows
    assert report.stats["llm_inputs_truncated"] > 0 and report.stats["llm_inputs_split"] > 0
    assert report.llm["context_length"] == 0
    with pytest.raises(ConfigError, match="almost no room"):
        run_rows(fast_config(tmp_path, summary_max_tokens=100), ScriptedLLM(None, window=1400))


def test_unparseable_answers_are_counted_not_fatal(tmp_path: Path) -> None:
    rows, report = run_rows(
        fast_config(tmp_path), ScriptedLLM(RequestCache(tmp_path / "llm"), garbage=True), 1
    )
    assert rows == []
    assert (
        report.llm["unparseable"] > 0 and report.stats["llm_unparseable_answers"] == report.llm["unparseable"]
    )
    assert report.skipped["row"]["no question/answer turns (every LLM answer was unparseable)"] >= 1
    assert report.extra["llm_failures"][0]["error"]


def test_documents_too_short_are_skipped_with_a_reason(tmp_path: Path) -> None:
    config = fast_config(tmp_path, grouping="none", max_documents=50)
    rows, report = run_rows(config, ScriptedLLM(RequestCache(tmp_path / "llm")))
    assert rows == []
    reasons = report.skipped["document"]
    assert reasons["shorter than min_document_tokens=1200 (grouping=none)"] > 0


def test_topic_grouping_uses_litelong_retrieval(tmp_path: Path) -> None:
    config = fast_config(tmp_path, grouping="topic", topic_queries=["election vote", "football match"])
    rows, report = run_rows(config, ScriptedLLM(RequestCache(tmp_path / "llm")), quota=1)
    assert rows
    assert all(d["doc_id"].startswith("topic=") for d in rows[0]["documents"])
    check_row(rows[0], report.extra["transcripts"][0], config.target_tokens)


def test_shards_split_the_documents(tmp_path: Path) -> None:
    config = fast_config(tmp_path, max_documents=120, min_row_fill=0.0, min_document_tokens=800)
    ids = []
    for shard in range(2):
        report = RunReport()
        strategy = HierarchicalStrategy(config, llm=ScriptedLLM(RequestCache(tmp_path / "llm")))
        rows = list(strategy.instruction_rows(shard, 2, report))
        ids.append({d["doc_id"] for r in rows for d in r["documents"]})
        # Corpus-wide counts are reported once per run (by shard 0), not once per shard.
        assert report.stats.get("documents", 0) == (120 if shard == 0 else 0)
    assert ids[0] and ids[1] and not ids[0] & ids[1]


# -- pure helpers ---------------------------------------------------------------------------------------


def test_helpers_are_pure() -> None:
    assert qa_pairs_from([{"question": " Who? ", "answer": "Ann."}, {"question": "x"}, "y"]) == [
        ("Who?", "Ann.")
    ]
    assert qa_pairs_from({"questions": [{"q": "Why?", "a": "So."}]}) == [("Why?", "So.")]
    assert qa_pairs_from("nothing") == []
    assert qa_max_tokens(2, 100, 50) == 2 * 182 + 8
    assert trim_summary("One. Two is cut off mid") == "One."
    assert trim_summary("No end at all") == "No end at all"
    assert trim_summary("Summary:  It rained. And then") == "It rained."
    schema = qa_schema(2, 100, 50)
    assert schema["minItems"] == schema["maxItems"] == 2
    question = re.compile(schema["items"]["properties"]["question"]["pattern"])
    assert (
        question.match("What is it?")
        and not question.match('Say "hi"?')
        and not question.match("no capital?")
    )


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


def test_group_streams() -> None:
    docs = [
        Document("a", "x", {"source": "one"}),
        Document("b", "y" * 10, {"source": "two"}),
        Document("c", "z", {"source": "one"}),
    ]
    streams, skipped = group_streams(docs, [5, 100, 5], "source", "source", 50)
    assert [(s.key, [d.id for d in s.parts], s.standalone) for s in streams] == [
        ("source=one", ["a", "c"], False),
        ("b", ["b"], True),
    ]
    assert streams[0].text_and_offsets() == ("x\n\nz", [(0, 1), (3, 4)])
    streams, skipped = group_streams(docs, [5, 100, 5], "none", "source", 50)
    assert [s.key for s in streams] == ["b"] and sum(skipped.values()) == 2
    with pytest.raises(ConfigError, match="group_field"):
        group_streams(docs, [5, 5, 5], "source", "outlet", 50)


def test_cost_summary() -> None:
    cost = cost_summary(
        {"rows": 2, "row_tokens": 500_000},
        {"calls": 100, "requests": 40, "cache_hits": 60, "call_tokens_in": 900, "call_tokens_out": 100},
    )
    assert cost["llm_calls_per_row"] == 50 and cost["llm_calls_per_1m_context_tokens"] == 200
    assert cost["llm_tokens_per_1m_context_tokens"] == 2000 and cost["llm_cache_hits"] == 60
    assert cost_summary({}, {})["llm_calls_per_row"] == 0


def test_bad_configs_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="grouping"):
        HierarchicalConfig(grouping="outlet")
    with pytest.raises(ConfigError, match="question_types"):
        HierarchicalConfig(question_types=["riddles"])
    with pytest.raises(ConfigError, match="Lower document_tokens"):
        HierarchicalConfig(target_tokens=50_000, document_tokens=60_000)
    with pytest.raises(ConfigError, match="min_document_tokens"):
        HierarchicalConfig(min_document_tokens=90_000)
    with pytest.raises(ConfigError, match="revisit_probability"):
        HierarchicalConfig(revisit_probability=1.5)
    with pytest.raises(ConfigError, match="topics_file"):
        HierarchicalStrategy(HierarchicalConfig(grouping="topic")).validate()
    with pytest.raises(ConfigError, match="does not exist"):
        HierarchicalStrategy(
            HierarchicalConfig(grouping="topic", topics_file=str(tmp_path / "no.jsonl"))
        ).validate()
    with pytest.raises(ValueError, match="chat_template"):
        HierarchicalStrategy(HierarchicalConfig(chat_template="missing.jinja")).validate()
    with pytest.raises(ConfigError, match="context window"):
        run_rows(fast_config(tmp_path, summary_max_tokens=900), ScriptedLLM(None, window=1000))


def test_presets() -> None:
    expected = {
        "hierarchical-128k": 131_072,
        "hierarchical-350k": 358_400,
        "hierarchical-650k": 665_600,
        "hierarchical-1m": 1_048_576,
    }
    chunking = set()
    for name, target in expected.items():
        config = make_config(name)
        assert isinstance(config, HierarchicalConfig) and config.target_tokens == target
        HierarchicalStrategy(config).validate()
        chunking.add((config.small_chunk_tokens, config.medium_chunk_size, config.temperature, config.seed))
    assert len(chunking) == 1  # every preset cuts and asks alike: they share the LLM work per chunk
    with pytest.raises(ConfigError, match="Unknown field"):
        make_config("hierarchical-1m", revisit_probabilty=0.5)


# -- integration: the presets end to end on the embedded model ------------------------------------------

# Two-chunk documents of ~300 tokens (standalone articles), one question per level and a revisit of every
# earlier document: ~27 requests to the 135M model for one row of 2-3 documents.
SMALL: dict[str, Any] = {
    "max_documents": 30,
    "small_chunk_tokens": 160,
    "medium_chunk_size": 2,
    "document_tokens": 320,
    "min_document_tokens": 150,
    "target_tokens": 1700,
    "global_questions": 1,
    "medium_questions": 1,
    "small_questions": 1,
    "diverse_questions": 1,
    "revisit_questions": 1,
    "revisit_probability": 1.0,
    "summary_max_tokens": 48,
    "question_max_chars": 100,
    "answer_max_chars": 100,
    "num_rows": 1,
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hierarchical-run")


@pytest.fixture(scope="module")
def small_dataset(run_dir: Path) -> Any:
    return litelong_hf.load("hierarchical-128k", cache_dir=str(run_dir), **SMALL)


def _transcripts(config: Any) -> dict[str, dict[str, Any]]:
    return {t["row_id"]: t for t in iter_transcripts(config)}


@pytest.mark.integration
@pytest.mark.slow
def test_real_rows_have_the_structure_of_the_method(small_dataset: Any, run_dir: Path) -> None:
    config = make_config("hierarchical-128k", cache_dir=str(run_dir), **SMALL)
    transcripts = _transcripts(config)
    assert len(small_dataset) == 1
    for row in small_dataset:
        assert len(row["documents"]) >= 2
        check_row(row, transcripts[row["id"]], SMALL["target_tokens"])
        assert "revisit" in {q["level"] for q in row["questions"]}
    report = merged_report(config)
    assert report.llm["requests"] >= 10 and report.extra["models"]["qa"].startswith("embedded/")
    assert report.extra["cost"]["llm_calls"] == report.llm["calls"]


@pytest.mark.integration
@pytest.mark.slow
def test_same_run_twice_gives_identical_rows_from_cached_answers(small_dataset: Any, run_dir: Path) -> None:
    config = make_config("hierarchical-128k", cache_dir=str(run_dir), **SMALL)
    shutil.rmtree(checkpoint_dir(config))
    for path in run_dir.glob("litelong_hf*"):
        shutil.rmtree(path)
    again = litelong_hf.load("hierarchical-128k", cache_dir=str(run_dir), **SMALL)
    for column in ("id", "messages", "n_tokens", "documents", "questions"):
        assert list(again[column]) == list(small_dataset[column])
    report = merged_report(config)
    assert report.llm["requests"] == 0 and report.llm["cache_hits"] == report.llm["calls"] > 10


_KILL_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import litelong_hf
    import litelong_hf.strategies.hierarchical
    ds = litelong_hf.load("hierarchical-128k", cache_dir=sys.argv[1], **json.loads(sys.argv[2]))
    print(json.dumps(list(ds["id"])))
    """
)


@pytest.mark.integration
@pytest.mark.slow
def test_killed_run_resumes_without_repeating_requests(small_dataset: Any, tmp_path: Path) -> None:
    cache = tmp_path / "killed"
    cache.mkdir()
    args = [sys.executable, "-c", _KILL_SCRIPT, str(cache), json.dumps(SMALL)]
    before = kill_after_answers(args, cache, min_answers=3)

    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=600)
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    config = make_config("hierarchical-128k", cache_dir=str(cache), **SMALL)
    report = merged_report(config)
    # Only the requests that had no answer yet were sent again.
    assert report.llm["cache_hits"] == before
    assert report.llm["requests"] + report.llm["cache_hits"] == len(RequestCache(cache / "llm"))
    assert ids == list(small_dataset["id"])
    resumed = litelong_hf.load("hierarchical-128k", cache_dir=str(cache), **SMALL)
    check_row(resumed[0], _transcripts(config)[resumed[0]["id"]], SMALL["target_tokens"])
    # The same rows as the uninterrupted run (the embedded model is deterministic for a given seed).
    assert list(resumed["messages"]) == list(small_dataset["messages"])
