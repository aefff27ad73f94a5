"""litelong-nextlong: LiteLong retrieval, then NExtLong negatives mined only among the topic's documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import litelong_hf
from litelong_hf.config import ConfigError
from litelong_hf.pipeline import merged_report
from litelong_hf.presets import make_config
from litelong_hf.report import RunReport
from litelong_hf.strategies.litelong_nextlong import LiteLongNExtLongStrategy
from litelong_hf.strategies.negatives import chunk_doc_id

TOPIC = {"top": "POLITICAL SCIENCE", "sub": "Civil Rights", "title": "Voting rights and elections"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("ln")
    topics = tmp / "topics.jsonl"
    topics.write_text(json.dumps(TOPIC) + "\n")
    overrides = {
        "topics_file": str(topics),
        "categories": ["POL"],
        "subcategories": ["Civil Rights"],
        "rows_per_topic": 2,
        "cache_dir": str(tmp),
    }
    ds = litelong_hf.load("litelong-nextlong-128k", **overrides)
    return ds, make_config("litelong-nextlong-128k", **overrides)


def test_negatives_come_only_from_the_topics_documents(run) -> None:
    ds, config = run
    # The topic's relevant documents, as LiteLong's retrieval plans them (query, feedback, floor).
    [(topic, plan)] = list(LiteLongNExtLongStrategy(config).retrieved(0, 1, RunReport()))
    assert topic.title == TOPIC["title"] and plan.rows == 2
    topic_docs = {h.doc_id for h in plan.hits}
    assert len(ds) == 2
    for row in ds:
        assert len(row["input_ids"]) == sum(row["piece_lengths"]) == row["n_tokens"] == 131_072
        assert row["topic"] == TOPIC and row["strategy"] == "litelong-nextlong"
        seed = chunk_doc_id(row["sources"][0]["doc_id"])
        assert seed in topic_docs
        roles = [s["role"] for s in row["sources"]]
        assert roles[0] == "meta" and "negative" in roles
        negative_docs = {chunk_doc_id(s["doc_id"]) for s in row["sources"] if s["role"] == "negative"}
        assert negative_docs <= topic_docs
        assert seed not in negative_docs
        ids = [s["doc_id"] for s in row["sources"]]
        assert len(ids) == len(set(ids))  # no chunk twice in a row


def test_hardness_report(run) -> None:
    _, config = run
    hardness = merged_report(config).extra["hardness"]
    assert hardness["negatives_scored"] > 0
    assert hardness["negative_mean_score"] > hardness["random_mean_score"]


def test_combined_config_validates(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="split_long_lines"):
        make_config("litelong-nextlong-128k", split_long_lines="words")
    with pytest.raises(ConfigError, match="truncate"):
        make_config("litelong-nextlong-128k", cut_policy="drop_row")
    nl = make_config("litelong-nextlong-128k", chunk_chars=1024).nextlong_config()  # type: ignore[attr-defined]
    assert nl.strategy == "nextlong" and nl.chunk_chars == 1024
