"""Suite results: aggregates, markdown, side-by-side comparison, heatmap PNG, result-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from litelong_hf.evaluation.results import (
    ResultError,
    SuiteResult,
    compare_table,
    markdown_table,
    run_suite,
    write_outputs,
)
from litelong_hf.evaluation.ruler import Sample, SuiteConfig, generate_suite
from litelong_hf.evaluation.runners import ScriptedRunner, oracle_answer
from litelong_hf.tokens import TokenCounter


def _half_right(sample: Sample) -> str:
    """Right at depth 0 and 0.5, wrong elsewhere: a model that loses the needle deep in the context."""
    return oracle_answer(sample) if sample.depth in (0.0, 0.5, None) else "no idea"


@pytest.fixture(scope="module")
def results() -> tuple[SuiteResult, SuiteResult]:
    counter = TokenCounter.get("llama-3")
    config = SuiteConfig(
        tasks=("passkey", "niah_single_noise_number"), lengths=(400, 800), depths=(0.0, 0.5, 1.0)
    )
    samples = list(generate_suite(config, counter))
    before = run_suite(ScriptedRunner("before", _half_right, counter), samples, config)
    after = run_suite(ScriptedRunner("after", oracle_answer, counter), samples, config)
    return before, after


def test_aggregates_follow_the_samples(results: tuple[SuiteResult, SuiteResult]) -> None:
    before, after = results
    assert before.scores["passkey"] == {"400": pytest.approx(66.67), "800": pytest.approx(66.67)}
    assert before.heatmap["400"] == {"0": 100.0, "0.5": 100.0, "1": 0.0}
    assert after.overall == 100.0


def test_markdown_and_comparison(results: tuple[SuiteResult, SuiteResult]) -> None:
    before, after = results
    table = markdown_table(before)
    assert "| passkey | 66.7 | 66.7 |" in table
    assert "| task | 400 | 800 |" in table
    side = compare_table(before, after)
    assert "| passkey | 66.7 | 100.0 | +33.3 |" in side
    assert "overall: A 66.7, B 100.0 (+33.3)" in side


def test_outputs_are_written_and_reload(results: tuple[SuiteResult, SuiteResult], tmp_path: Path) -> None:
    before, after = results
    written = write_outputs(after, tmp_path, compare=before)
    assert [p.name for p in written] == ["results.json", "results.md", "heatmap.png", "compare.md"]
    assert (tmp_path / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = SuiteResult.load(tmp_path)
    assert again.scores == after.scores
    assert len(again.samples) == len(after.samples)


def test_a_bad_result_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="does not exist"):
        SuiteResult.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": "x"}))
    with pytest.raises(ResultError, match="not a suite result"):
        SuiteResult.load(bad)
