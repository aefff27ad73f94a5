"""Contamination: 13-word shingles shared with the RULER-style suite and with named eval files, in the card."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
from typer.testing import CliRunner

from litelong_hf.card import CardInputs, compute_stats, preview_row, render_config_section
from litelong_hf.cli import app
from litelong_hf.evaluation.contamination import (
    ContaminationError,
    ShingleIndex,
    contamination_scores,
    score_run,
    shingles,
    suite_texts,
)
from litelong_hf.evaluation.ruler import SuiteConfig
from litelong_hf.layout import RunDir
from litelong_hf.report import RunReport

SUITE = SuiteConfig(tasks=("niah_single_corpus_number",), lengths=(1024,), depths=(0.5,))
FILLER = " ".join(f"filler{i} word{i % 7}" for i in range(400))  # 800 words no eval text shares


def test_shingles_ignore_case_spacing_and_punctuation() -> None:
    text = " ".join(f"w{i}" for i in range(20))
    assert len(shingles(text)) == 20 - 13 + 1
    assert shingles(text).tolist() == shingles(text.upper().replace(" ", " ,\n ")).tolist()
    assert shingles("only twelve words here " * 1).size == 0
    assert shingles(text + " " + text).size > shingles(text).size  # the seam makes new shingles


def test_share_is_the_fraction_of_row_shingles_found() -> None:
    passage = " ".join(f"eval{i}" for i in range(40))
    index = ShingleIndex.from_texts("evals", [passage])
    assert len(index) == 40 - 12
    row = f"{FILLER} {passage} {FILLER}"
    expected = (40 - 12) / len(shingles(row))
    assert index.shares([row, FILLER]) == [pytest.approx(expected), 0.0]
    scores = contamination_scores([row, FILLER], ["a", "b"], [index], threshold=0.01)
    assert scores["flagged_rows"] == 1 and scores["flagged"] == [
        {"id": "a", "share": pytest.approx(expected)}
    ]
    assert scores["sources"][0]["shingles"] == 28 and scores["max_share"] == pytest.approx(expected)


def _run(tmp_path: Path, texts: list[str]) -> Path:
    rows = [
        {"id": f"r{i}", "text": t, "input_ids": [1], "n_tokens": 1, "tokenizer": "llama-3"}
        for i, t in enumerate(texts)
    ]
    run = RunDir(tmp_path / "run")
    datasets.Dataset.from_list(rows).save_to_disk(str(run.dataset))
    run.report.write_text(json.dumps({"config_name": "litelong-64k", "extra": {}}), encoding="utf-8")
    return run.root


def test_rows_holding_a_suite_haystack_or_an_eval_record_are_flagged(tmp_path: Path) -> None:
    haystack = suite_texts(SUITE, "llama-3")[0]  # a real prompt: corpus haystack, needle, question
    evals = tmp_path / "evals.jsonl"
    held_out = " ".join(f"held{i}" for i in range(60))
    evals.write_text(json.dumps({"context": held_out, "answers": ["x"]}) + "\n")
    run = _run(tmp_path, [f"{FILLER} {haystack[:3000]}", FILLER, f"{FILLER} {held_out}"])
    scores = score_run(run, eval_files=[evals], suite=SUITE)
    suite, named = scores["sources"]
    assert suite["name"].startswith("RULER-style suite") and suite["flagged_rows"] == 1
    assert named["name"] == "evals.jsonl" and named["flagged_rows"] == 1
    assert [f["id"] for f in scores["flagged"]] == ["r0", "r2"]
    stored = json.loads((run / "report.json").read_text())["extra"]["contamination"]
    assert stored["flagged_rows"] == 2 and stored["rows"] == 3


def test_the_card_shows_contamination(tmp_path: Path) -> None:
    passage = " ".join(f"eval{i}" for i in range(40))
    scores = contamination_scores(
        [f"{FILLER} {passage}"], ["row-1"], [ShingleIndex.from_texts("evals.jsonl", [passage])]
    )
    report = RunReport()
    report.extra["contamination"] = scores
    row = {
        "id": "row-1",
        "text": "x",
        "input_ids": [1, 2],
        "n_tokens": 2,
        "piece_lengths": [2],
        "sources": [],
        "topic": None,
    }
    ds = datasets.Dataset.from_list([row])
    section = render_config_section(
        CardInputs(
            repo_id="me/long",
            config_name="litelong-64k",
            stats=compute_stats(ds, "litelong-64k", "pretraining"),
            data_files="litelong-64k/train-*",
            histogram_path="assets/x.png",
            preview=preview_row(ds[0], "pretraining"),
            report=report,
        )
    )
    assert "### Contamination" in section and "13-word shingles" in section
    assert "| evals.jsonl | 28 | 3.4% | 3.4% | 1 of 1 |" in section
    assert "**1 row(s) flagged**" in section and "row-1 (3.4%)" in section


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    run = _run(tmp_path, [FILLER])
    runner = CliRunner()
    missing = runner.invoke(app, ["eval", "contamination", str(run), "--contamination-check", "nope.jsonl"])
    assert missing.exit_code == 2 and "no such file" in missing.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    broken = runner.invoke(
        app, ["eval", "contamination", str(run), "--no-suite", "--contamination-check", str(bad)]
    )
    assert broken.exit_code == 2 and "line 1: not JSON" in broken.output
    with pytest.raises(ContaminationError, match="Nothing to compare"):
        score_run(run)
