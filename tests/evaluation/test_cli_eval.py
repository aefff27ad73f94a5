"""`litelong-hf eval`: real runs of the suite (oracle reader), comparisons, quality, and clear bad-input exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from litelong_hf.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args", [["eval"], ["eval", "ruler"], ["eval", "quality"], ["eval", "compare"], ["eval", "generate"]]
)
def test_help(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_ruler_with_the_oracle_writes_every_output_and_compares(tmp_path: Path) -> None:
    common = ["--oracle", "--tasks", "passkey,vt", "--lengths", "512,1k", "--depths", "0,1"]
    first = runner.invoke(app, ["eval", "ruler", *common, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    data = json.loads((tmp_path / "a" / "results.json").read_text())
    assert data["overall"] == 100.0
    assert set(data["scores"]) == {"passkey", "vt"}
    assert set(data["scores"]["vt"]) == {"512", "1024"}
    assert (tmp_path / "a" / "heatmap.png").stat().st_size > 1000
    second = runner.invoke(
        app, ["eval", "ruler", *common, "--out", str(tmp_path / "b"), "--compare", str(tmp_path / "a")]
    )
    assert second.exit_code == 0, second.output
    assert "+0.0" in (tmp_path / "b" / "compare.md").read_text()
    both = runner.invoke(
        app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]
    )
    assert both.exit_code == 0, both.output
    assert (tmp_path / "c" / "heatmap.png").is_file()


def test_generate_writes_jsonl_at_exact_lengths(tmp_path: Path) -> None:
    from litelong_hf.tokens import TokenCounter

    out = tmp_path / "suite.jsonl"
    result = runner.invoke(
        app,
        [
            "eval",
            "generate",
            "--tasks",
            "cwe,niah_multivalue",
            "--lengths",
            "900",
            "--depths",
            "0.5",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    samples = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["task"] for s in samples] == ["cwe", "niah_multivalue"]
    assert all(len(TokenCounter.get().encode(s["input"])) == 900 for s in samples)


def test_unknown_task_is_one_clear_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "ruler", "--oracle", "--tasks", "niah_9", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown task 'niah_9'" in result.output
    assert "Traceback" not in result.output


def test_unreachable_endpoint_is_one_clear_message(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["eval", "ruler", "--endpoint", "http://127.0.0.1:9", "--tasks", "passkey", "--out", str(tmp_path)],
    )
    assert result.exit_code == 2, result.output
    assert "127.0.0.1:9" in result.output
    assert "Traceback" not in result.output


def test_quality_on_a_folder_without_rows_is_one_clear_message(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{}")
    result = runner.invoke(app, ["eval", "quality", str(tmp_path), "--lm", "none"])
    assert result.exit_code == 2
    assert "has no rows" in result.output
    assert "Traceback" not in result.output


@pytest.mark.integration
def test_quality_of_a_generated_run_is_stored_in_its_report(tmp_path: Path) -> None:
    run = tmp_path / "run"
    made = runner.invoke(
        app,
        ["generate", "random-concat-64k", "--target-tokens", "2048", "--num-rows", "2", "--out", str(run)],
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["eval", "quality", str(run), "--lm", "none"])
    assert result.exit_code == 0, result.output
    quality = json.loads((run / "report.json").read_text())["extra"]["quality"]
    assert quality["rows"] == quality["baseline_rows"] == 2
    assert quality["target_tokens"] == 2048
    assert quality["topic_purity"]["label_field"] == "source"
    assert 0 < quality["topic_purity"]["value"] <= 1
    assert quality["source_reuse"] == {"value": 1.0, "baseline": 1.0, "higher_is_better": False}


@pytest.mark.parametrize(
    ("command", "config_path", "fields"),
    [
        ("ruler", "litelong_hf.evaluation.tasks:SuiteConfig", "SUITE_FIELDS"),
        ("generate", "litelong_hf.evaluation.tasks:SuiteConfig", "SUITE_FIELDS"),
        ("quality", "litelong_hf.evaluation.quality:QualityConfig", "QUALITY_FIELDS"),
        ("quality", "litelong_hf.evaluation.dependency:DependencyConfig", "DEPENDENCY_FIELDS"),
    ],
)
def test_eval_options_are_the_config_fields(command: str, config_path: str, fields: str) -> None:
    """Each flag of `eval ruler/generate/quality` is a config field: its name, its help, no restated default."""
    import dataclasses
    import importlib

    from litelong_hf.cli import eval as eval_cli
    from litelong_hf.cli.options import flag

    module, name = config_path.split(":")
    config_class = getattr(importlib.import_module(module), name)
    by_name = {f.name: f for f in dataclasses.fields(config_class)}
    result = runner.invoke(app, ["eval", command, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    for field_name in getattr(eval_cli, fields):
        assert flag(field_name) in result.output
        assert str(by_name[field_name].metadata["help"])[:30] in result.output


def test_suite_flags_are_checked_by_the_config(tmp_path: Path) -> None:
    bad = runner.invoke(app, ["eval", "generate", "--samples", "0", "--out", str(tmp_path / "s.jsonl")])
    assert bad.exit_code == 2 and "samples must be positive" in bad.output
    length = runner.invoke(app, ["eval", "generate", "--lengths", "4q", "--out", str(tmp_path / "s.jsonl")])
    assert length.exit_code == 2 and "cannot read length '4q'" in length.output
