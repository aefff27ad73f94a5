"""LiteLong end to end on the demo corpus with the real embedded SmolLM2 and a real llama.cpp server."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from resume_helpers import kill_and_rerun

import litelong_hf
from litelong_hf.config import ConfigError
from litelong_hf.index import Hit, IndexBuildError, get_or_build_index
from litelong_hf.layout import TopicsFileError, write_topics
from litelong_hf.pipeline import NoRowsError, checkpoint_root, iter_transcripts, merged_report, shard_rows
from litelong_hf.presets import make_config
from litelong_hf.report import RunReport
from litelong_hf.strategies.common import hits_needed, order_documents, seed_for
from litelong_hf.strategies.debate import match_title, normalize_title
from litelong_hf.strategies.litelong import LiteLongStrategy, Topic, plan_topic, rows_per_turn, topic_query
from litelong_hf.strategies.topic_plan import feedback_words, word_sets
from litelong_hf.taxonomy import TaxonomyError
from litelong_hf.testing.scripted import ScriptedLLM, step_of
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
    shutil.rmtree(checkpoint_root(config))
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
    transcripts = list(iter_transcripts(config))
    assert len(transcripts) == 2 and len({t["sub"] for t in transcripts}) == 2
    for transcript in transcripts:
        assert transcript["top"] == "POLITICAL SCIENCE"
        assert set(transcript["generated"]) == {"debater_a", "debater_b"}
        assert transcript["prompt_version"].startswith("litelong-v2@")
        # Filter-Reject, recomputed from what the debaters and the judge said: the union of both lists
        # (case-insensitive) minus every candidate a judge rejection names.
        union: list[str] = []
        for role in ("debater_a", "debater_b"):
            for item in transcript["generated"][role]:
                if normalize_title(item["topic"]) not in {normalize_title(t) for t in union}:
                    union.append(item["topic"])
        judged = (transcript["judge"] or {}).get("rejected_topics") or []
        banned = {match_title(str(r.get("title", "")), union)[0] for r in judged if isinstance(r, dict)}
        if transcript["failed"]:
            assert transcript["kept"] == []
        else:
            assert [k["topic"] for k in transcript["kept"]] == [
                t for i, t in enumerate(union) if i not in banned
            ]
        assert transcript["unmatched_rejections"] == sum(
            m["matched"] is None for m in transcript["judge_matches"]
        )
    kept = {k["topic"] for t in transcripts for k in t["kept"]}
    rejected = {r["topic"] for t in transcripts for r in t["rejected"]}
    titles = {r["topic"]["title"] for r in small_dataset}
    assert titles <= kept and not titles & rejected


@pytest.mark.integration
@pytest.mark.slow
def test_killed_run_resumes_without_repeating_requests(small_dataset: Any, tmp_path: Path) -> None:
    cache = tmp_path / "killed"
    cache.mkdir()
    ids = kill_and_rerun("litelong-128k", cache, SMALL, min_answers=2)
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
    overrides["relevance_floor"] = 0.2  # the title filter on feedback hits leaves fewer above 0.35
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


# ---------------------------------------------------------------------------------------------------------
# Rows on demand, spread over the taxonomy, coherent (scripted debaters: fast and deterministic)

_ENTRY = re.compile(r'subtopics of the subject "(?P<sub>[^"]+)" within the category "(?P<top>[^"]+)"')


def heading_debaters() -> dict[str, ScriptedLLM]:
    """Debaters proposing the subcategory's heading segments; a judge that rejects nothing."""

    def debater(prompt: str, request: Any) -> Any:
        if step_of(prompt) == "critique":
            return {"accepted": [], "rejected": []}
        found = _ENTRY.search(prompt)
        assert found, prompt
        segments = [s.strip() for s in found["sub"].split("/") if s.strip().lower() != "general"]
        return [{"topic": s, "explanation": f"News about {s.lower()}."} for s in reversed(segments)]

    llm = ScriptedLLM("debater", debater)
    judge = ScriptedLLM("judge", lambda prompt, request: {"rejected_topics": [], "summary": "All kept."})
    return {"debater_a": llm, "debater_b": llm, "judge": judge}


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache (demo index, corpus stats) for the scripted tests of this module."""
    return str(tmp_path_factory.mktemp("litelong-demo-cache"))


def test_drafts_debate_lazily_in_a_spread_order(demo_cache: str) -> None:
    config = make_config("litelong-64k", cache_dir=demo_cache, target_tokens=8192)
    llms = heading_debaters()
    strategy = LiteLongStrategy(config, llms=llms)
    report = RunReport()
    drafts = strategy.drafts(0, 1, report)
    first = [next(drafts) for _ in range(4)]
    debated = len(llms["judge"].requests)
    # Only the subcategories the first four bundles needed were debated, not the taxonomy's thousands.
    assert 4 <= debated < 60 < len(strategy.entries)
    assert report.stats["categories_processed"] == debated
    assert len(strategy.take_transcripts()) == debated and "transcripts" not in report.extra
    # One topic per subcategory per turn, and the spread order puts each early subcategory in another
    # top category.
    assert len({d.topic["top"] for d in first if d.topic}) == 4
    assert all(d.max_rows is not None and 1 <= d.max_rows <= 4 for d in first)
    drafts.close()


def test_few_rows_come_from_several_top_categories(demo_cache: str) -> None:
    config = make_config("litelong-64k", cache_dir=demo_cache, target_tokens=8192, num_rows=8)
    strategy = LiteLongStrategy(config, llms=heading_debaters())
    report = RunReport(config_name="litelong-64k", config_hash=config.config_hash())
    rows = list(shard_rows(strategy, 0, 1, report, 8))
    assert len(rows) == 8
    # num_rows=8 with min_top_categories=4: at most 2 rows per topic, so at least 4 top categories.
    assert len({row["topic"]["top"] for row in rows}) >= 4
    assert all(len(row["input_ids"]) == 8192 for row in rows)


def test_work_items_do_not_depend_on_the_shard_count(tmp_path: Path) -> None:
    config = make_config("litelong-64k", cache_dir=str(tmp_path), categories=["POL", "SCI", "HIS"])
    strategy = LiteLongStrategy(config)
    order = strategy.entries
    assert order == LiteLongStrategy(config).entries  # a pure function of the config
    for n in (1, 2, 3):
        shards = [strategy.shard_entries(s, n) for s in range(n)]
        assert sorted(e.key for part in shards for e in part) == sorted(e.key for e in order)
        assert [shards[i % n][i // n] for i in range(len(order))] == order
    assert [e.top for e in order[:3]] != [order[0].top] * 3  # not "first category first"


def test_plan_topic_uses_the_best_relevant_documents() -> None:
    hits = [Hit(f"d{i}", 10.0 - i) for i in range(10)]  # scores 10 .. 1
    lengths = {h.doc_id: 100 for h in hits}
    plan = plan_topic(
        hits,
        lengths,
        target_tokens=250,
        separator_tokens=0,
        max_rows=4,
        relevance_floor=0.5,
        order="score",
        seed=1,
    )
    # Scores >= 5 are relevant: d0..d5, 600 tokens: two rows of 250 (each loses about a document).
    assert plan.relevant == 6 and plan.possible == 2 and plan.rows == 2
    assert [h.doc_id for h in plan.hits] == [f"d{i}" for i in range(6)]
    shuffled = plan_topic(
        hits,
        lengths,
        target_tokens=250,
        separator_tokens=0,
        max_rows=1,
        relevance_floor=0.5,
        order="shuffle",
        seed=1,
    )
    # One row: the best four documents (shuffled) come first, the other relevant ones after, best first.
    assert shuffled.rows == 1
    assert sorted(h.doc_id for h in shuffled.hits[:4]) == ["d0", "d1", "d2", "d3"]
    assert [h.doc_id for h in shuffled.hits[4:]] == ["d4", "d5"]
    thin = plan_topic(
        hits,
        lengths,
        target_tokens=700,
        separator_tokens=0,
        max_rows=4,
        relevance_floor=0.5,
        order="score",
        seed=1,
    )
    assert thin.rows == 0 and thin.relevant == 6
    everything = plan_topic(
        hits,
        lengths,
        target_tokens=250,
        separator_tokens=0,
        max_rows=9,
        relevance_floor=0.0,
        order="score",
        seed=1,
    )
    assert everything.relevant == 10 and everything.rows == 3
    assert (
        plan_topic(
            [],
            {},
            target_tokens=9,
            separator_tokens=0,
            max_rows=1,
            relevance_floor=0.3,
            order="score",
            seed=1,
        ).rows
        == 0
    )


def test_rows_per_turn_and_query() -> None:
    assert [rows_per_turn(4, n, 4) for n in (None, 1, 7, 8, 9, 1000)] == [4, 1, 2, 2, 3, 4]
    topic = Topic("HISTORY", "Europe / Great Britain", "Tudor monarchy", "The Tudor kings and queens.")
    assert topic_query(topic, "title") == "Tudor monarchy"
    assert topic_query(topic, "rich") == (
        "Tudor monarchy. The Tudor kings and queens. Europe / Great Britain. HISTORY"
    )


def test_feedback_words_stand_out_from_the_background() -> None:
    core = [
        "The striker scored twice and the league leaders said the season was long.",
        "A late goal from the striker kept the league title race open, officials said this year.",
        "The league fined the club after the striker was sent off this year.",
    ]
    background = word_sets(
        ["Officials said this year the budget was long.", "This year prices rose, officials said."] * 3
    )
    words = feedback_words(core, 3, background)
    assert words == ["league", "striker", "club"]  # in every core text first, then alphabetical ties
    assert "officials" not in words and "year" not in words  # common in the background
    assert feedback_words([], 5, background) == []
    # Without a background, the most widely shared words win.
    assert feedback_words(core, 2) == ["league", "striker"]


def test_thin_topics_give_fewer_rows_and_are_counted(tmp_path: Path, demo_cache: str) -> None:
    topics = tmp_path / "topics.jsonl"
    write_topics(
        topics,
        [{"top": "POLITICAL SCIENCE", "sub": "Civil Rights", "title": "Voting rights and elections"}],
    )
    overrides = {"topics_file": str(topics), "categories": ["POL"], "subcategories": ["Civil Rights"]}
    config = make_config(
        "litelong-128k", cache_dir=demo_cache, rows_per_topic=50, relevance_floor=0.25, **overrides
    )
    report = RunReport()
    [(_, plan)] = list(LiteLongStrategy(config).retrieved(0, 1, report))
    assert 1 <= plan.rows == plan.possible < 50
    assert report.stats["topics_thin"] == 1
    assert report.stats["rows_not_made_thin_topics"] == 50 - plan.possible
    # A lower floor lets more (weaker) documents in.
    looser = make_config(
        "litelong-128k", cache_dir=demo_cache, rows_per_topic=50, relevance_floor=0.15, **overrides
    )
    [(_, loose_plan)] = list(LiteLongStrategy(looser).retrieved(0, 1, RunReport()))
    assert loose_plan.relevant > plan.relevant and loose_plan.possible >= plan.possible


def test_malformed_topics_file_fails_validation(tmp_path: Path) -> None:
    bad = tmp_path / "topics.jsonl"
    bad.write_text('{"top": "POLITICAL SCIENCE", "sub": "Civil Rights"}\n')
    config = make_config("litelong-64k", cache_dir=str(tmp_path), topics_file=str(bad))
    with pytest.raises(TopicsFileError, match="line 1: missing or empty title"):
        LiteLongStrategy(config).validate()
    bad.write_text("not json\n")
    with pytest.raises(TopicsFileError, match="line 1: not JSON"):
        LiteLongStrategy(make_config("litelong-64k", topics_file=str(bad))).validate()


def test_custom_taxonomy_content_is_part_of_the_config_hash(tmp_path: Path) -> None:
    taxonomy = tmp_path / "tax.csv"
    taxonomy.write_text("top_category,subcategory\nSCIENCE,Astronomy\n")
    first = make_config("litelong-64k", taxonomy=str(taxonomy)).config_hash()
    assert make_config("litelong-64k", taxonomy=str(taxonomy)).config_hash() == first
    taxonomy.write_text("top_category,subcategory\nSCIENCE,Astrology\n")  # same size, other content
    assert make_config("litelong-64k", taxonomy=str(taxonomy)).config_hash() != first


def test_a_cached_index_of_other_documents_is_not_reused(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"text": f"article {i} about elections " * 5}) + "\n" for i in range(30))
    )
    config = make_config("litelong-64k", corpus=str(corpus), cache_dir=str(tmp_path / "cache"))
    spec = config.corpus_config()
    # An index under this corpus's key that was built from other documents (a stale snapshot).
    get_or_build_index(
        f"docs-{spec.fingerprint()}",
        lambda: (["x", "y"], ["other text", "more text"]),
        config.index_config(),
        cache_dir=config.cache_dir,
    )
    with pytest.raises(IndexBuildError, match="not the 30 documents"):
        LiteLongStrategy(config).corpus()


# ---------------------------------------------------------------------------------------------------------
# `litelong-hf topics` with bad input: one line naming the fix, exit 2, no traceback


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["litelong-100k"], "Valid config names"),
        (["nextlong-64k"], "not a LiteLong config"),
        (["litelong-64k", "--subcategories", "Underwater Basket Weaving"], "match no entry"),
        (["litelong-64k", "--categories", " "], "categories is empty"),
        (["litelong-64k", "--taxonomy", "{bad_taxonomy}"], "no top-category column"),
        (["litelong-64k", "--endpoint", "http://127.0.0.1:9", "--max-subcategories", "1"], "127.0.0.1:9"),
        (["litelong-64k", "--out", "{file}/topics.jsonl"], "--out"),
    ],
)
def test_topics_cli_bad_input(args: list[str], message: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from litelong_hf.cli import app

    bad_taxonomy = tmp_path / "tax.csv"
    bad_taxonomy.write_text("name,heading\nSCIENCE,Astronomy\n")
    a_file = tmp_path / "plain-file"
    a_file.write_text("x")
    args = [a.format(bad_taxonomy=bad_taxonomy, file=a_file) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "topics.jsonl")]
    result = CliRunner().invoke(app, ["topics", *args, "--cache-dir", str(tmp_path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and result.output.startswith("error:")
    assert not (tmp_path / "topics.jsonl").exists()


# ---------------------------------------------------------------------------------------------------------
# Issue 19: faithful to the paper (title filter on feedback hits, the paper recipe, single-piece rows)


def _topic_corpus(tmp_path: Path) -> Path:
    """Five documents on the topic's title, one that shares their vocabulary but not the title, filler."""
    on_topic = [
        f"Tidal energy story {i}: the turbines in the estuary barrage and the lagoon generators hum."
        for i in range(5)
    ]
    look_alike = ["Turbines, estuary barrage, lagoon generators: a hum over the turbines and the barrage."]
    filler = [f"Recipe {i}: bake the bread with flour, butter and sugar until golden." for i in range(40)]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in on_topic + look_alike + filler))
    return corpus


def _topic_plan(tmp_path: Path, preset: str, **overrides: Any) -> tuple[list[str], LiteLongStrategy]:
    topics = tmp_path / "topics.jsonl"
    write_topics(topics, [{"top": "SCIENCE", "sub": "Biotechnology", "title": "Tidal energy"}])
    config = make_config(
        preset,
        corpus=str(_topic_corpus(tmp_path)),
        cache_dir=str(tmp_path / "cache"),
        topics_file=str(topics),
        categories=["SCI"],
        subcategories=["Biotechnology"],
        target_tokens=64,
        **overrides,
    )
    strategy = LiteLongStrategy(config)
    [(_, plan)] = list(strategy.retrieved(0, 1, RunReport()))
    _, docs = strategy.corpus()
    return [docs[h.doc_id].text for h in plan.hits], strategy


def test_feedback_hits_must_match_the_title(tmp_path: Path) -> None:
    # The look-alike shares every feedback word of the topic's documents: the expanded query ranks it,
    # but it never names the title, so the title filter keeps it out (docs/litelong.md, Retrieval).
    texts, strategy = _topic_plan(tmp_path, "litelong-64k", relevance_floor=0.0)
    assert len(texts) == 5 and all(t.startswith("Tidal energy story") for t in texts)
    # Unfiltered, the expanded query does rank the look-alike (so the filter is what keeps it out).
    index, docs = strategy.corpus()
    words = feedback_words(texts, 80, strategy.background_words(docs))
    [expanded] = index.search([" ".join(["Tidal energy", *words])], k=len(index))
    assert any(docs[h.doc_id].text.startswith("Turbines, estuary") for h in expanded)
    no_feedback, _ = _topic_plan(tmp_path, "litelong-64k", relevance_floor=0.0, feedback_docs=0)
    assert sorted(no_feedback) == sorted(texts)


def test_paper_recipe_requires_every_title_term_and_shuffles_all_hits(tmp_path: Path) -> None:
    config = make_config("litelong-paper-64k")
    assert (config.query, config.require_all_terms, config.feedback_docs, config.relevance_floor) == (
        "title",
        True,
        0,
        0.0,
    )
    assert (config.order, config.rows_per_topic, config.prompts) == ("shuffle_all", 4, "litelong_paper_v1")
    assert config.allow_single_piece_rows and config.target_tokens == 65_536
    assert make_config("litelong-paper-128k").target_tokens == 131_072
    assert make_config("litelong-64k").prompts == "litelong_v2"  # ours keeps its tuned retrieval
    texts, _ = _topic_plan(tmp_path, "litelong-paper-64k")
    # Every hit holds both title terms: the look-alike and the filler are out.
    assert len(texts) == 5 and all(t.startswith("Tidal energy story") for t in texts)
    again, _ = _topic_plan(tmp_path / "again", "litelong-paper-64k")
    assert again == texts  # the shuffle is seeded


def test_paper_query_strips_the_scripts_query_syntax() -> None:
    from litelong_hf.strategies.topic_plan import QUERY_SYNTAX_CHARACTERS, strip_query_syntax

    assert strip_query_syntax("Children's Books (Ages 3-5) / Picture Books") == (
        "Children s Books Ages 3-5 Picture Books"
    )
    assert not set(strip_query_syntax(QUERY_SYNTAX_CHARACTERS + "x")) & set(QUERY_SYNTAX_CHARACTERS)
    topic = Topic("JUVENILE FICTION", "Animals / Dogs", 'Dogs & "Puppies": Care | Training!')
    assert topic_query(topic, "title") == "Dogs & Puppies : Care Training"


def test_plan_topic_honors_single_piece_rows_and_shuffle_all() -> None:
    hits = [Hit("long", 9.0), Hit("a", 8.0), Hit("b", 7.0), Hit("c", 6.0), Hit("d", 5.0)]
    lengths = {"long": 500, "a": 60, "b": 60, "c": 60, "d": 60}
    common: dict[str, Any] = dict(
        target_tokens=100, separator_tokens=2, max_rows=4, relevance_floor=0.0, seed=3
    )
    without = plan_topic(hits, lengths, order="score", **common)
    assert "long" not in [h.doc_id for h in without.hits] and without.possible == 1
    single = plan_topic(hits, lengths, order="score", allow_single_piece_rows=True, **common)
    # The long document is one row of its own; the four short ones fill one more.
    assert [h.doc_id for h in single.hits] == ["long", "a", "b", "c", "d"]
    assert (single.possible, single.rows, single.relevant) == (2, 2, 5)
    everything = plan_topic(hits, lengths, order="shuffle_all", allow_single_piece_rows=True, **common)
    assert sorted(h.doc_id for h in everything.hits) == ["a", "b", "c", "d", "long"]
    assert everything.rows == 2
    assert everything == plan_topic(
        hits, lengths, order="shuffle_all", allow_single_piece_rows=True, **common
    )
    orders = {
        tuple(h.doc_id for h in plan_topic(hits, lengths, order="shuffle_all", **{**common, "seed": s}).hits)
        for s in range(8)
    }
    assert len(orders) > 1


def test_paper_recipe_emits_a_long_document_as_its_own_truncated_row(tmp_path: Path) -> None:
    long_text = "Tidal energy " + " ".join(f"turbine{i}" for i in range(400)) + "."
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"text": t}) + "\n"
            for t in [long_text] + [f"Recipe {i}: bake the bread until golden." for i in range(20)]
        )
    )
    topics = tmp_path / "topics.jsonl"
    write_topics(topics, [{"top": "SCIENCE", "sub": "Biotechnology", "title": "Tidal energy"}])
    overrides = {
        "corpus": str(corpus),
        "topics_file": str(topics),
        "categories": ["SCI"],
        "subcategories": ["Biotechnology"],
        "target_tokens": 128,
    }
    ds = litelong_hf.load("litelong-paper-64k", cache_dir=str(tmp_path / "c"), **overrides)
    [row] = list(ds)
    assert row["n_tokens"] == 128 == len(row["input_ids"]) and row["piece_lengths"] == [128]
    assert long_text.startswith(row["text"].rstrip("\ufffd"))
    # Ours leaves such a document out: no row at all.
    with pytest.raises(NoRowsError):
        litelong_hf.load("litelong-64k", cache_dir=str(tmp_path / "d"), **overrides)
