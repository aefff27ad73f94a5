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


def test_space_metadata_matches_the_installed_gradio() -> None:
    import gradio

    readme = (REPO_ROOT / "space" / "README.md").read_text()
    front = readme.split("---")[1]
    assert "sdk: gradio" in front and "app_file: app.py" in front and 'python_version: "3.11"' in front
    assert f"sdk_version: {gradio.__version__}" in front
    requirements = (REPO_ROOT / "space" / "requirements.txt").read_text()
    assert "litelong-hf" in requirements


def test_check_upload(space_app: ModuleType, tmp_path: Path) -> None:
    check = space_app.check_upload
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


def test_demo_overrides_make_valid_small_configs(space_app: ModuleType) -> None:
    overrides = space_app.demo_overrides
    lite = overrides("litelong", 16384, ["POL"], 2)
    assert lite["target_tokens"] == 16384 and lite["max_subcategories"] == 2 and lite["expansion_factor"] == 2
    make_config("litelong-128k", **lite)
    hier = overrides("hierarchical", 32768, None, 1)
    config = make_config("hierarchical-128k", **hier)
    assert config.document_tokens < config.target_tokens  # type: ignore[attr-defined]
    make_config("nextlong-64k", **overrides("nextlong", 8192, None, 1))
    with pytest.raises(space_app.SpaceInputError, match="at least one LiteLong category"):
        overrides("litelong", 16384, [], 2)
    with pytest.raises(space_app.SpaceInputError, match="at least 16,384"):
        overrides("hierarchical", 8192, None, 1)
    with pytest.raises(space_app.SpaceInputError, match="between 8,192 and 32,768"):
        overrides("nextlong", 65536, None, 1)


def test_row_view_shades_every_piece(space_app: ModuleType) -> None:
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
    pieces = space_app.row_pieces(row)
    view = space_app.row_html(row, pieces)
    spans = re.findall(r"<span class='ll-piece' data-role='(\w+)'[^>]*>(.*?)</span>", view, flags=re.S)
    assert [r for r, _ in spans] == ["meta", "negative", "negative"]
    assert "".join(html.unescape(t) for _, t in spans) == row["text"]
    assert "&lt;document&gt;" in view and "score 3.142" in view
    table = space_app.piece_table(pieces)
    assert [r[4] for r in table] == row["piece_lengths"] and table[1][3] == 3.142


def test_debate_view_shows_both_lists_critiques_and_judge(space_app: ModuleType) -> None:
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
    view = space_app.debate_html([transcript], topic)
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
    assert "No saved debate" in space_app.debate_html([], topic)
    assert "no LiteLong topic" in space_app.debate_html([transcript], None)


def test_chat_tags_each_question(space_app: ModuleType) -> None:
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
    chat = space_app.chat_messages(row)
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
