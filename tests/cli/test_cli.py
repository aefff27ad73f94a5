"""The `litelong-hf` command line: help everywhere, real work on the demo corpus, clear failing exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from litelong_hf.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["corpus"],
        ["corpus", "stats"],
        ["index"],
        ["index", "build"],
        ["generate"],
        ["topics"],
        ["push"],
        ["serve-local"],
    ],
)
def test_help_everywhere(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_generate_help_lists_config_fields() -> None:
    litelong = runner.invoke(app, ["generate", "litelong-128k", "--help"], env={"COLUMNS": "200"})
    for flag in ("--rows-per-topic", "--target-tokens", "--categories", "--cut-policy"):
        assert flag in litelong.output
    nextlong = runner.invoke(app, ["generate", "nextlong-64k", "--help"], env={"COLUMNS": "200"})
    assert "--chunk-chars" in nextlong.output and "--rows-per-topic" not in nextlong.output


def test_corpus_stats_on_demo() -> None:
    result = runner.invoke(app, ["corpus", "stats", "--max-documents", "200"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "200" in result.output and "tokens per document" in result.output


def test_index_build_twice_reuses_the_index(tmp_path: Path) -> None:
    args = ["index", "build", "--max-documents", "300", "--cache-dir", str(tmp_path), "-q", "election"]
    first = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "index of 300 documents" in first.output and "news-" in first.output
    built = sorted(p for p in (tmp_path / "indexes").iterdir() if p.is_dir())  # not the build lock files
    assert len(built) == 1
    stamp = (built[0] / "litelong_index.json").stat().st_mtime_ns
    second = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert second.exit_code == 0
    assert sorted(p for p in (tmp_path / "indexes").iterdir() if p.is_dir()) == built
    assert (built[0] / "litelong_index.json").stat().st_mtime_ns == stamp


def test_bad_input_exits_nonzero_with_the_fix(tmp_path: Path) -> None:
    result = runner.invoke(app, ["corpus", "stats", "--corpus", str(tmp_path / "none" / "*.parquet")])
    assert result.exit_code == 2
    assert "No files match" in result.output
    (tmp_path / "a.jsonl").write_text(json.dumps({"body": "some document text here"}) + "\n")
    result = runner.invoke(
        app, ["index", "build", "--corpus", str(tmp_path / "a.jsonl")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "text_column" in result.output and "body" in result.output


def test_generate_unknown_config_and_field(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["generate", "litelong-100k", "--out", str(tmp_path / "o")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "Valid config names" in result.output
    result = runner.invoke(
        app,
        ["generate", "litelong-128k", "--out", str(tmp_path / "o"), "--chunk-chars", "10"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert "--chunk-chars" in result.output
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_generate_writes_dataset_parquet_and_report(tmp_path: Path) -> None:
    topics = tmp_path / "topics.jsonl"
    topics.write_text(
        json.dumps({"top": "POLITICAL SCIENCE", "sub": "Civil Rights", "title": "Voting rights"}) + "\n"
    )
    out = tmp_path / "out"
    args = ["generate", "litelong-64k", "--out", str(out), "--topics-file", str(topics)]
    args += [
        "--categories",
        "POL",
        "--subcategories",
        "Civil Rights",
        "--rows-per-topic",
        "2",
        "--cache-dir",
        str(tmp_path),
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["stats"]["rows"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "parquet", "report.json"]
    assert "run report" in result.output
    again = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert again.exit_code == 2 and "--overwrite" in again.output
