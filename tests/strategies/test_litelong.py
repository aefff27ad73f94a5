"""LiteLong end to end on the demo corpus with the real embedded SmolLM2 and a real llama.cpp server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from resume_helpers import kill_after_answers

import litelong_hf
from litelong_hf.config import ConfigError, make_config
from litelong_hf.index import Hit
from litelong_hf.llm import RequestCache
from litelong_hf.pipeline import NoRowsError, checkpoint_dir, iter_transcripts, merged_report
from litelong_hf.strategies.debate import Candidate, candidates_from, clean_title, keep_topics, union_dedup
from litelong_hf.strategies.litelong import hits_needed, order_documents, seed_for
from litelong_hf.taxonomy import TaxonomyError
from litelong_hf.tokens import TokenCounter

# Two subcategories, four candidate topics per debater, short answers: 10 LLM calls on the 135M model.
# Two, not one: a 135M judge may reject every candidate of a subcategory on some CPU builds of llama.cpp.
SMALL = {
    "categories": ["POL"],
    "max_subcategories": 2,
    "expansion_factor": 2,
    "llm_max_tokens": 300,
    "rows_per_topic": 1,
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("litelong-run")


@pytest.fixture(scope="module")
def small_dataset(run_dir: Path) -> Any:
    return litelong_hf.load("litelong-128k", cache_dir=str(run_dir), **SMALL)


def test_rows_are_exact_and_traceable(small_dataset: Any, demo_documents: list) -> None:
    assert len(small_dataset) >= 1
    counter = TokenCounter.get()
    texts = {d.id: d.text for d in demo_documents}
    for row in small_dataset:
        assert len(row["input_ids"]) == row["n_tokens"] == 131_072 == sum(row["piece_lengths"])
        assert [s["n_tokens"] for s in row["sources"]] == row["piece_lengths"]
        assert counter.decode(row["input_ids"]) == row["text"]
        assert row["strategy"] == "litelong" and row["tokenizer"] == "llama-3"
        assert row["topic"]["top"] == "POLITICAL SCIENCE" and row["topic"]["title"]
        *whole, last = row["sources"]
        for source in whole:
            assert texts[source["doc_id"]] in row["text"]
            assert source["role"] == "retrieved" and source["score"] > 0
        # The last document may be cut: the row ends with a prefix of it (demo articles have no newlines).
        tail = row["text"].rsplit("\n\n", 1)[-1].rstrip("\ufffd")
        assert tail and texts[last["doc_id"]].startswith(tail)


@pytest.mark.integration
@pytest.mark.slow
def test_same_run_twice_gives_identical_rows_from_cached_answers(small_dataset: Any, run_dir: Path) -> None:
    config = make_config("litelong-128k", cache_dir=str(run_dir), **SMALL)
    # Forget the rows (shard checkpoints and the datasets cache) but keep the LLM answers.
    shutil.rmtree(checkpoint_dir(config))
    for path in run_dir.glob("litelong_hf*"):
        shutil.rmtree(path)
    again = litelong_hf.load("litelong-128k", cache_dir=str(run_dir), **SMALL)
    for column in ("id", "input_ids", "text", "sources"):
        assert list(again[column]) == list(small_dataset[column])
    report = merged_report(config)
    assert report.llm["requests"] == 0 and report.llm["cache_hits"] >= 5


def test_report_and_transcripts(small_dataset: Any, run_dir: Path) -> None:
    config = make_config("litelong-128k", cache_dir=str(run_dir), **SMALL)
    report = merged_report(config)
    assert report.stats["categories_processed"] == 2
    assert report.stats["rows"] == len(small_dataset)
    kept = report.stats["topics_kept"]
    assert kept == report.stats["topics_candidates"] - report.stats["topics_rejected"]
    # every kept topic either made rows or is counted as skipped, with a reason
    assert report.stats.get("topics_with_rows", 0) + report.total_skipped("topic") == kept
    transcripts = list(iter_transcripts(config))
    assert len(transcripts) == 2 and len({t["sub"] for t in transcripts}) == 2
    for transcript in transcripts:
        assert transcript["top"] == "POLITICAL SCIENCE"
        assert set(transcript["generated"]) == {"debater_a", "debater_b"}
        assert transcript["prompt_version"].startswith("litelong-v1@")
    kept = {k["topic"] for t in transcripts for k in t["kept"]}
    assert {r["topic"]["title"] for r in small_dataset} <= kept


_KILL_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import litelong_hf
    ds = litelong_hf.load("litelong-128k", cache_dir=sys.argv[1], **json.loads(sys.argv[2]))
    print(json.dumps(list(ds["id"])))
    """
)


@pytest.mark.integration
@pytest.mark.slow
def test_killed_run_resumes_without_repeating_requests(small_dataset: Any, tmp_path: Path) -> None:
    cache = tmp_path / "killed"
    cache.mkdir()
    args = [sys.executable, "-c", _KILL_SCRIPT, str(cache), json.dumps(SMALL)]
    before = kill_after_answers(args, cache, min_answers=2)

    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=600)
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    config = make_config("litelong-128k", cache_dir=str(cache), **SMALL)
    report = merged_report(config)
    # Only the requests that had no answer yet were sent again.
    assert report.llm["cache_hits"] == before
    assert report.llm["requests"] + report.llm["cache_hits"] == len(RequestCache(cache / "llm"))
    resumed = litelong_hf.load("litelong-128k", cache_dir=str(cache), **SMALL)
    assert ids == list(resumed["id"])
    assert list(resumed["input_ids"]) == list(small_dataset["input_ids"])


@pytest.mark.integration
@pytest.mark.slow
def test_litelong_against_a_real_llama_cpp_server(tmp_path: Path) -> None:
    from litelong_hf.llm import local_server

    with local_server(n_ctx=4096) as url:
        ds = litelong_hf.load("litelong-64k", endpoint=url, cache_dir=str(tmp_path), **SMALL)
    assert len(ds) >= 1
    assert all(len(ids) == 65_536 for ids in ds["input_ids"])
    config = make_config("litelong-64k", endpoint=url, cache_dir=str(tmp_path), **SMALL)
    report = merged_report(config)
    assert report.llm["requests"] >= 5
    assert not any(model.startswith("embedded/") for model in report.extra["models"].values())


def test_unparseable_answers_are_reported_not_fatal(tmp_path: Path) -> None:
    # Five-token answers cannot hold the JSON asked for: every step is unparseable.
    with pytest.raises(NoRowsError, match="unparseable"):
        litelong_hf.load("litelong-128k", cache_dir=str(tmp_path), **{**SMALL, "llm_max_tokens": 5})
    report = merged_report(
        make_config("litelong-128k", cache_dir=str(tmp_path), **{**SMALL, "llm_max_tokens": 5})
    )
    assert report.stats["llm_unparseable_answers"] >= 2
    assert report.skipped["category"] == {"debate kept no topics (unparseable LLM answers)": 2}


def test_zero_hit_topic_is_skipped_with_reason(tmp_path: Path) -> None:
    topics = tmp_path / "topics.jsonl"
    rows = [
        {"top": "POLITICAL SCIENCE", "sub": "Civil Rights", "title": "Xyzzyq Quuxblorp"},
        {"top": "POLITICAL SCIENCE", "sub": "Civil Rights", "title": "Voting rights and elections"},
    ]
    topics.write_text("".join(json.dumps(r) + "\n" for r in rows))
    overrides = {"topics_file": str(topics), "categories": ["POL"], "subcategories": ["Civil Rights"]}
    ds = litelong_hf.load("litelong-64k", cache_dir=str(tmp_path), rows_per_topic=1, **overrides)
    assert [r["topic"]["title"] for r in ds] == ["Voting rights and elections"]
    report = merged_report(
        make_config("litelong-64k", cache_dir=str(tmp_path), rows_per_topic=1, **overrides)
    )
    assert report.skipped["topic"] == {"zero BM25 hits": 1}
    assert "llm" not in report.extra.get("models", {})


def test_bad_inputs_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Valid config names: .*litelong-128k"):
        litelong_hf.load("litelong-100k")
    with pytest.raises(ConfigError, match="Unknown field"):
        litelong_hf.load("litelong-128k", rows_per_topc=2)
    with pytest.raises(TaxonomyError):
        litelong_hf.load("litelong-128k", cache_dir=str(tmp_path), categories=["NOT A CATEGORY"])
    with pytest.raises(ConfigError, match="order"):
        make_config("litelong-128k", order="random")
    with pytest.raises(ConfigError, match="API key"):
        make_config(
            "litelong-128k", roles={"judge": {"endpoint": "http://x:1", "api_key": "hf_secret"}}
        ).roles_config()


def test_debate_arithmetic_is_pure() -> None:
    a = [Candidate("Voting Rights", "", "debater_a"), Candidate("Civil Disobedience", "", "debater_a")]
    b = [Candidate("voting rights ", "", "debater_b"), Candidate("Segregation", "", "debater_b")]
    union = union_dedup(a, b)
    assert [c.topic for c in union] == ["Voting Rights", "Civil Disobedience", "Segregation"]
    assert [c.topic for c in keep_topics(union, ["CIVIL DISOBEDIENCE."])] == ["Voting Rights", "Segregation"]
    assert clean_title('  "Colonialism & Post-Colonialism,"  ') == "Colonialism & Post-Colonialism"
    parsed = candidates_from([{"title": "A thing"}, "Plain string", {"topic": ""}, 7], "x")
    assert [c.topic for c in parsed] == ["A thing", "Plain string", "7"]
    assert candidates_from({"topics": [{"topic": "Nested"}]}, "x")[0].topic == "Nested"
    assert candidates_from("not a list", "x") == []


def test_retrieval_arithmetic_is_pure() -> None:
    assert hits_needed(4, 131_072, 680.0, 1.5, 4000) == 1157
    assert hits_needed(4, 1_048_576, 100.0, 1.5, 4000) == 4000
    texts = {"a": "same", "b": "same", "c": "other", "d": "more"}
    hits = [Hit("a", 3.0), Hit("b", 2.0), Hit("c", 1.5), Hit("d", 1.0)]
    assert [h.doc_id for h in order_documents(hits, texts, "score", 0)] == ["a", "c", "d"]
    shuffled = order_documents(hits, texts, "shuffle", seed_for(42, "t"))
    assert shuffled == order_documents(hits, texts, "shuffle", seed_for(42, "t"))
    assert sorted(h.doc_id for h in shuffled) == ["a", "c", "d"]
    assert seed_for(1, "x") != seed_for(1, "y")


def test_generate_cli_writes_transcripts_and_debate_summary(
    small_dataset: Any, run_dir: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from litelong_hf.cli import app

    out = tmp_path / "out"
    args = ["generate", "litelong-128k", "--out", str(out), "--cache-dir", str(run_dir)]
    args += ["--categories", "POL", "--max-subcategories", "2", "--expansion-factor", "2"]
    args += ["--llm-max-tokens", "300", "--rows-per-topic", "1"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = (out / "transcripts.jsonl").read_text().splitlines()
    assert [json.loads(line)["top"] for line in lines] == ["POLITICAL SCIENCE"] * 2
    report = json.loads((out / "report.json").read_text())
    assert report["extra"]["debates_total"] == 2
    assert report["extra"]["debates"][0]["kept"] == [k["topic"] for k in json.loads(lines[0])["kept"]]
    assert report["stats"]["rows"] == len(small_dataset)
