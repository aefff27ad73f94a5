"""The Space's pure helpers: upload checks, demo-size configs, the row, debate and chat views."""

from __future__ import annotations

import html
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from space_helpers import APP, REPO_ROOT

from litelong_hf.presets import make_config
from litelong_hf.tokens import TokenCounter


@pytest.fixture(scope="module")
def space_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("litelong_space_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def views(space_app: ModuleType) -> ModuleType:
    import views  # space/views.py: importable once the app has put its folder on the path

    return views


@pytest.fixture(scope="module")
def inputs(space_app: ModuleType) -> ModuleType:
    import inputs  # space/inputs.py

    return inputs


def test_space_metadata_matches_the_installed_gradio() -> None:
    import gradio

    readme = (REPO_ROOT / "space" / "README.md").read_text()
    front = readme.split("---")[1]
    assert "sdk: gradio" in front and "app_file: app.py" in front and 'python_version: "3.11"' in front
    assert f"sdk_version: {gradio.__version__}" in front
    requirements = (REPO_ROOT / "space" / "requirements.txt").read_text()
    assert "litelong-hf" in requirements


def test_check_upload(inputs: ModuleType, tmp_path: Path) -> None:
    check = inputs.check_upload
    assert "Upload at least one" in check([])
    a, b = tmp_path / "a.jsonl", tmp_path / "b.txt"
    a.write_text(json.dumps({"text": "hello world"}) + "\n")
    b.write_text("hello")
    assert "mix formats" in check([str(a), str(b)])
    assert check([str(a)]) == ""
    assert "no 'body' field" in check([str(a)], "body")
    lst = tmp_path / "list.jsonl"
    lst.write_text("[1, 2]\n")
    assert "not a JSON object" in check([str(lst)])
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    assert "not UTF-8" in check([str(latin)])
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n ")
    assert "only whitespace" in check([str(blank)])
    zero = tmp_path / "zero.parquet"
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), zero)
    assert "no rows" in check([str(zero)])
    csv = tmp_path / "data.csv"
    csv.write_text("text\nx\n")
    assert "unsupported file type" in check([str(csv)])


def test_demo_overrides_make_valid_small_configs(inputs: ModuleType) -> None:
    overrides = inputs.demo_overrides
    lite = overrides("litelong", 16384, ["POL"], 2)
    assert lite["target_tokens"] == 16384 and lite["max_subcategories"] == 2 and lite["expansion_factor"] == 2
    make_config("litelong-128k", **lite)
    hier = overrides("hierarchical", 32768, None, 1)
    config = make_config("hierarchical-128k", **hier)
    assert config.document_tokens < config.target_tokens  # type: ignore[attr-defined]
    make_config("nextlong-64k", **overrides("nextlong", 8192, None, 1))
    with pytest.raises(inputs.SpaceInputError, match="at least one LiteLong category"):
        overrides("litelong", 16384, [], 2)
    with pytest.raises(inputs.SpaceInputError, match="at least 16,384"):
        overrides("hierarchical", 8192, None, 1)
    with pytest.raises(inputs.SpaceInputError, match="between 8,192 and 32,768"):
        overrides("nextlong", 65536, None, 1)


def test_row_view_shades_every_piece(views: ModuleType) -> None:
    counter = TokenCounter.get("llama-3")
    texts = ["A first <document> & its end.\n\n", "Second one about votes.\n\n", "Third, cut here"]
    ids = [counter.encode(t) for t in texts]
    row: dict[str, Any] = {
        "id": "x/0/0",
        "text": "".join(texts),
        "input_ids": [i for part in ids for i in part],
        "n_tokens": sum(map(len, ids)),
        "piece_lengths": [len(i) for i in ids],
        "sources": [
            {"doc_id": "d1", "role": "meta", "n_tokens": len(ids[0]), "score": None},
            {"doc_id": "d2", "role": "negative", "n_tokens": len(ids[1]), "score": 3.14159},
            {"doc_id": "d3", "role": "negative", "n_tokens": len(ids[2]), "score": 1.5},
        ],
        "topic": None,
        "tokenizer": "llama-3",
    }
    pieces = views.row_pieces(row)
    view = views.row_html(row, pieces)
    spans = re.findall(r"<span class='ll-piece' data-role='(\w+)'[^>]*>(.*?)</span>", view, flags=re.S)
    assert [r for r, _ in spans] == ["meta", "negative", "negative"]
    assert "".join(html.unescape(t) for _, t in spans) == row["text"]
    assert "&lt;document&gt;" in view and "score 3.142" in view
    table = views.piece_table(pieces)
    assert [r[4] for r in table] == row["piece_lengths"] and table[1][3] == 3.142


def test_debate_view_shows_both_lists_critiques_and_judge(views: ModuleType) -> None:
    transcript = {
        "top": "POLITICAL SCIENCE",
        "sub": "Elections",
        "prompt_version": "litelong_v1@abc",
        "models": {"debater_a": "m"},
        "generated": {
            "debater_a": [{"topic": "Voter turnout", "explanation": "Why people vote."}],
            "debater_b": [{"topic": "Ballot <design>", "explanation": "Forms."}],
        },
        "critiques": {
            "debater_a_on_debater_b": {
                "accepted": [],
                "rejected": [{"topic": "Ballot <design>", "reason": "Narrow."}],
            },
            "debater_b_on_debater_a": None,
        },
        "judge": {
            "rejected_topics": [{"title": "Ballot <design>", "reason": "Too narrow."}],
            "summary": "Ok.",
        },
        "kept": [{"topic": "Voter turnout", "explanation": "", "source": "debater_a"}],
        "rejected": [{"topic": "Ballot <design>", "source": "debater_b"}],
        "unparseable": [],
    }
    topic = {"top": "POLITICAL SCIENCE", "sub": "Elections", "title": "Voter turnout"}
    view = views.debate_html([transcript], topic)
    for needle in (
        "Debater A proposed (1)",
        "Debater B proposed (1)",
        "✘ reject",
        "Judge rejected (1)",
        "Too narrow.",
    ):
        assert needle in view
    assert "<mark>Voter turnout</mark> ← this row" in view and "Ballot &lt;design&gt;" in view
    assert "No usable critique" in view
    assert "No saved debate" in views.debate_html([], topic)
    assert "no LiteLong topic" in views.debate_html([transcript], None)


def test_chat_tags_each_question(views: ModuleType) -> None:
    doc = "word " * 2000
    row = {
        "messages": [
            {"role": "user", "content": doc + "What happened?"},
            {"role": "assistant", "content": "Things."},
            {"role": "user", "content": "And then?"},
            {"role": "assistant", "content": "More."},
        ],
        "questions": [
            {"level": "global", "kind": "summary", "doc_index": 0},
            {"level": "diverse", "kind": "counting", "doc_index": 0},
        ],
    }
    chat = views.chat_messages(row)
    assert [m["role"] for m in chat] == ["user", "assistant", "user", "assistant"]
    assert chat[0]["content"].startswith("**[global · summary · document 0]**")
    assert "characters of the documents" in chat[0]["content"] and chat[0]["content"].endswith(
        "What happened?"
    )
    assert len(chat[0]["content"]) < len(doc)
    assert chat[2]["content"] == "**[diverse · counting · document 0]**\n\nAnd then?"


def test_progress_listeners_hear_every_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    from litelong_hf.progress import listen, progress_bar

    monkeypatch.setenv("LITELONG_HF_NO_PROGRESS", "1")  # silenced in the terminal, still heard by the page
    heard: list[tuple[str, int, int | None]] = []
    with listen(lambda *event: heard.append(event)):
        with progress_bar("Debating topics", total=2) as advance:
            advance(1)
            advance(1)
        with progress_bar("Indexing", total=None) as advance:
            advance(5)
    with progress_bar("Not heard", total=1) as advance:
        advance(1)
    assert heard == [
        ("Debating topics", 0, 2),
        ("Debating topics", 1, 2),
        ("Debating topics", 2, 2),
        ("Indexing", 0, None),
        ("Indexing", 5, None),
    ]


# ------------------------------------------------------------------------------------ the run path


def test_method_differences_come_from_the_strategies(inputs: ModuleType) -> None:
    from dataclasses import fields

    from litelong_hf.strategies import row_kind_of, strategy_config_class, strategy_names

    for strategy in strategy_names():
        takes = {f.name for f in fields(strategy_config_class(strategy))}
        assert inputs.debates_topics(strategy) == ("categories" in takes)
        instruction = row_kind_of(strategy) == "instruction"
        assert inputs.min_tokens(strategy) == (
            inputs.INSTRUCTION_MIN_TOKENS if instruction else inputs.MIN_TOKENS
        )
    for path in (REPO_ROOT / "space").glob("*.py"):
        assert '== "hierarchical"' not in path.read_text(), f"{path.name} tests a strategy by name"


def _generate(app: Any, config_name: str, **given: Any) -> tuple[Any, ...]:
    args = {
        "target_tokens": 8192,
        "num_rows": 1,
        "categories": ["POL"],
        "max_subcategories": 1,
        "corpus": "demo",
        "files": None,
        "text_column": "text",
        "llm": "embedded",
        "endpoint": "",
        "model": "",
        "api_key": "",
    } | given
    return tuple(app.generate(config_name, **args, progress=lambda *a, **k: None))


def test_the_space_generates_through_the_run_path(space_app: ModuleType, tmp_path: Path) -> None:
    import litelong_hf.run

    app = space_app.App(tmp_path)
    status, run, *_ = _generate(app, "random-concat-64k")
    assert status.startswith("✔"), status
    page_rows = pq.read_table(run["parquet"]).to_pylist()
    assert run["row_kind"] == "pretraining" and len(page_rows) == 1
    # The same inputs through the library's run path: the same config, and its rows are the page's rows
    # (already on disk: the page made them there).
    direct = litelong_hf.run.generate(
        "random-concat-64k", cache_dir=str(tmp_path / "cache"), target_tokens=8192, num_rows=1
    )
    assert [r["id"] for r in direct.dataset] == [r["id"] for r in page_rows]
    assert direct.dataset[0]["input_ids"] == page_rows[0]["input_ids"]


def test_preflight_errors_reach_the_page_before_any_work(space_app: ModuleType, tmp_path: Path) -> None:
    app = space_app.App(tmp_path)
    status, run, *_ = _generate(app, "litelong-128k", llm="endpoint", endpoint="http://127.0.0.1:9")
    assert status.startswith("✘") and "127.0.0.1:9" in status and "Traceback" not in status, status
    assert run is None
    # Preflight stopped it: no BM25 index was built and no shard was started.
    assert not list((tmp_path / "cache").rglob("litelong_index.json"))
    assert not list((tmp_path / "cache").rglob("*.parquet"))
