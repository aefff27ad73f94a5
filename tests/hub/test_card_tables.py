"""Report → card tables: data-quality scores vs the random-concat baseline, QA gate pass rates, hardness."""

from __future__ import annotations

import pytest
from hub_fixtures import instruction_dataset, pretraining_dataset, sample_report

from litelong_hf.card import CardInputs, compute_stats, preview_row, render_config_section
from litelong_hf.publish.tables import flatten_numbers, gate_rows, hardness_rows, quality_rows

SIDE_BY_SIDE = {
    "rows": {"dependency_gain": 0.42, "purity": {"dominant_share": 0.61}, "duplicate_rate": 0.0},
    "baseline": {
        "dependency_gain": 0.14,
        "purity": {"dominant_share": 0.24},
        "duplicate_rate": 0.01,
        "config": "random-concat-64k",
    },
    "model": "SmolLM2-135M-Instruct (llama.cpp)",
}


def test_quality_side_by_side() -> None:
    rows, notes = quality_rows(SIDE_BY_SIDE)
    by_name = {r.name: r for r in rows}
    assert list(by_name) == ["dependency_gain", "purity.dominant_share", "duplicate_rate"]
    assert by_name["dependency_gain"].ratio == pytest.approx(3.0)
    assert by_name["purity.dominant_share"].baseline == pytest.approx(0.24)
    assert by_name["duplicate_rate"].ratio == 0.0
    assert ("model", "SmolLM2-135M-Instruct (llama.cpp)") in notes
    assert ("baseline.config", "random-concat-64k") in notes


# The shape litelong_hf.evaluation.quality.quality_scores writes (see its module docstring).
EVALUATION_QUALITY = {
    "dependency_gain": {
        "value": 0.142,
        "baseline": 0.031,
        "higher_is_better": True,
        "unit": "nats/token",
        "windows": 16,
    },
    "topic_purity": {"value": 0.62, "baseline": 0.25, "higher_is_better": True, "label_field": "source"},
    "duplicate_rate": {"value": 0.0, "baseline": 0.0, "higher_is_better": False},
    "source_reuse": {"value": 1.8, "baseline": 1.0, "higher_is_better": False},
    "rows": 8,
    "baseline_rows": 8,
    "target_tokens": 131072,
    "baseline_method": "random-concat",
    "lm": "llama.cpp/SmolLM2-135M-Instruct.Q4_1.gguf",
}

# The shape litelong_hf.strategies.hierarchical.gates.gate_summary writes.
HIERARCHICAL_GATES = {
    "pairs_checked": 40,
    "question_pass_rate": 0.9,
    "answer_pass_rate": 0.75,
    "grounding_pass_rate": 0.8,
    "all_gates_pass_rate": 0.6,
    "retry_requests": 12,
    "pairs_kept": 30,
    "pairs_dropped": 2,
    "kept_rate": 0.9375,
}


def test_quality_per_score_as_evaluation_writes_it() -> None:
    rows, notes = quality_rows(EVALUATION_QUALITY)
    by_name = {r.name: r for r in rows}
    assert list(by_name) == ["dependency_gain", "topic_purity", "duplicate_rate", "source_reuse"]
    assert by_name["dependency_gain"].unit == "nats/token"
    assert by_name["dependency_gain"].ratio == pytest.approx(0.142 / 0.031)
    assert by_name["topic_purity"].ratio == pytest.approx(2.48)
    assert by_name["duplicate_rate"].ratio is None  # 0 / 0
    assert by_name["source_reuse"].higher_is_better is False
    assert ("rows", 8) in notes and ("baseline_method", "random-concat") in notes


def test_quality_per_score_partial_and_nested() -> None:
    rows, notes = quality_rows(
        {
            "purity": {"value": 0.5, "baseline": 0.25, "rows": 8},
            "hardness": {"score_ratio": {"value": 2.6}, "negatives": 40},
            "dependency": {"value": 0.3},
            "reuse": 1.2,
        }
    )
    by_name = {r.name: r for r in rows}
    assert by_name["purity"].ratio == pytest.approx(2.0)  # "rows" inside a score is a count, not its value
    assert by_name["hardness.score_ratio"].value == pytest.approx(2.6)
    assert by_name["hardness.score_ratio"].baseline is None
    assert by_name["dependency"].baseline is None and by_name["dependency"].ratio is None
    assert "reuse" not in by_name  # a bare number next to the scores is a note
    assert ("reuse", 1.2) in notes and ("hardness.negatives", 40) in notes


@pytest.mark.parametrize("value", [None, [], "high", 3, {}, {"rows": "n/a"}])
def test_quality_garbage_gives_nothing(value: object) -> None:
    rows, _ = quality_rows(value)
    assert [r for r in rows if r.value is not None or r.baseline is not None] == []


def test_baseline_of_zero_has_no_ratio() -> None:
    rows, _ = quality_rows({"duplicates": {"value": 0.1, "baseline": 0}})
    assert rows[0].ratio is None


def test_flatten_numbers_skips_bools_and_strings() -> None:
    assert flatten_numbers({"a": {"b": 1, "c": True, "d": "x"}, "e": 2.5}) == {"a.b": 1.0, "e": 2.5}


def test_gate_rows_as_hierarchical_writes_them() -> None:
    rows, counters = gate_rows(HIERARCHICAL_GATES)
    assert [(r.name, r.rate) for r in rows] == [
        ("question", 0.9),
        ("answer", 0.75),
        ("grounding", 0.8),
        ("all_gates", 0.6),
        ("kept", 0.9375),
    ]
    assert counters == [
        ("pairs_checked", 40),
        ("retry_requests", 12),
        ("pairs_kept", 30),
        ("pairs_dropped", 2),
    ]


def test_gate_rows_shapes() -> None:
    rows, counters = gate_rows(
        {
            "real_question": {"passed": 45, "total": 50},
            "not_degenerate": {"passed": 40, "failed": 5},
            "grounded": {"rate": 0.8},
            "llm_check": 0.5,
            "retried": 7,
            "dropped": 3,
            "broken": {"note": "n/a"},
        }
    )
    by_name = {r.name: r for r in rows}
    assert by_name["real_question"].rate == pytest.approx(0.9)
    assert (by_name["not_degenerate"].total, by_name["not_degenerate"].rate) == (45, pytest.approx(40 / 45))
    assert by_name["grounded"].passed is None and by_name["grounded"].rate == pytest.approx(0.8)
    assert by_name["llm_check"].rate == pytest.approx(0.5)
    assert "broken" not in by_name
    assert counters == [("retried", 7.0), ("dropped", 3.0)]
    nested, outer = gate_rows({"gates": {"grounded": {"passed": 1, "checked": 4}}, "pairs": 4})
    assert nested[0].rate == pytest.approx(0.25) and outer == [("pairs", 4.0)]
    assert gate_rows(None) == ([], [])


def test_hardness_rows() -> None:
    rows = hardness_rows(
        {
            "negative_mean_score": 36.2,
            "random_mean_score": 13.9,
            "score_ratio": 2.6,
            "same_label_share": 0.35,
            "random_same_label_share": None,
        }
    )
    assert rows[0].ratio == pytest.approx(36.2 / 13.9)
    assert rows[1].value == pytest.approx(0.35) and rows[1].ratio is None
    assert hardness_rows({"negatives_scored": 0}) == []


def _inputs(config: str, extra: dict[str, object]) -> CardInputs:
    instruction = config.startswith("hierarchical")
    ds = instruction_dataset(2, 1) if instruction else pretraining_dataset(2, 64, 1)
    schema = "instruction" if instruction else "pretraining"
    report = sample_report(config, "hash1")
    report.extra.update(extra)
    return CardInputs(
        repo_id="me/long",
        config_name=config,
        stats=compute_stats(ds, config, schema),  # type: ignore[arg-type]
        data_files=f"{config}/train-*",
        histogram_path=f"assets/{config}-token-lengths.png",
        preview=preview_row(ds[0], schema),  # type: ignore[arg-type]
        report=report,
    )


def test_card_shows_quality_next_to_the_baseline() -> None:
    section = render_config_section(_inputs("litelong-64k", {"quality": EVALUATION_QUALITY}))
    assert "### Data quality" in section
    assert "| dependency_gain (nats/token) | higher | 0.142 | 0.031 | 4.58× |" in section
    assert "| topic_purity | higher | 0.620 | 0.250 | 2.48× |" in section
    assert "| duplicate_rate | lower | 0 | 0 | – |" in section
    assert "rows: 8; baseline_rows: 8; target_tokens: 131,072; baseline_method: random-concat;" in section
    section = render_config_section(_inputs("litelong-64k", {"quality": SIDE_BY_SIDE}))
    assert "| dependency_gain | – | 0.420 | 0.140 | 3.00× |" in section
    assert "| purity.dominant_share | – | 0.610 | 0.240 | 2.54× |" in section
    assert "random-concat-64k" in section
    plain = render_config_section(_inputs("litelong-64k", {}))
    assert (
        "### Data quality" not in plain
        and "### QA gates" not in plain
        and "### Negative hardness" not in plain
    )


def test_card_shows_gate_pass_rates_and_hardness() -> None:
    section = render_config_section(_inputs("hierarchical-128k", {"qa_gates": HIERARCHICAL_GATES}))
    assert "### QA gates" in section
    assert "| gate | pass rate |" in section
    assert "| question | 90.0% |" in section and "| kept | 93.8% |" in section
    assert "pairs_checked: 40, retry_requests: 12, pairs_kept: 30, pairs_dropped: 2." in section
    counted = {"real_question": {"passed": 45, "total": 50}, "grounded": {"passed": 30, "total": 40}}
    section = render_config_section(_inputs("hierarchical-128k", {"qa_gates": counted}))
    assert "| real_question | 45 | 50 | 90.0% |" in section
    assert "| grounded | 30 | 40 | 75.0% |" in section
    hardness = {"negative_mean_score": 36.2, "random_mean_score": 13.9, "same_label_share": 0.35}
    nextlong = render_config_section(_inputs("nextlong-64k", {"hardness": hardness}))
    assert "### Negative hardness" in nextlong
    assert "| mean BM25 score against the meta-chunk | 36.200 | 13.900 | 2.60× |" in nextlong
    assert "| share with the meta-document's label | 0.350 | – | – |" in nextlong


def test_card_quality_never_shows_secrets() -> None:
    leaky = {
        "rows": {"purity": 0.5},
        "baseline": {"purity": 0.2},
        "endpoint": "https://u:pw@host/v1",
        "api_key": "sk-x",
    }
    section = render_config_section(_inputs("litelong-64k", {"quality": leaky}))
    assert "u:pw" not in section and "sk-x" not in section


def test_card_renders_what_the_producers_write() -> None:
    """The real producers of the three entries (evaluation, hierarchical QA, NExtLong), not hand-made dicts."""
    from litelong_hf.corpus import Document
    from litelong_hf.evaluation.quality import QualityConfig, quality_scores
    from litelong_hf.strategies.hierarchical.gates import gate_summary
    from litelong_hf.strategies.nextlong import HARDNESS_STATS, hardness_summary

    rows = pretraining_dataset(4, 128, 1)
    documents = [
        Document(
            f"doc-1-{i}",
            f"Article {i} about {'rivers' if i % 2 else 'elections'}. " * 30,
            {"source": str(i % 2)},
        )
        for i in range(40)
    ]
    quality = quality_scores(
        rows, corpus=documents, target_tokens=128, config=QualityConfig(lm=None, label_field="source")
    )
    gates = gate_summary(
        {"qa_gate_pairs": 20, "qa_gate_question_failed": 2, "qa_gate_passed": 15, "qa_pairs_kept": 9}
    )
    hardness = hardness_summary(dict.fromkeys(HARDNESS_STATS, 10))

    section = render_config_section(
        _inputs("litelong-nextlong-128k", {"quality": quality, "qa_gates": gates, "hardness": hardness})
    )
    scored, _ = quality_rows(quality)
    assert {"topic_purity", "duplicate_rate", "source_reuse"} <= {r.name for r in scored}
    assert all(r.baseline is not None for r in scored if r.name == "topic_purity")
    assert "| topic_purity | higher |" in section
    assert "| question | 90.0% |" in section and "| all_gates | 75.0% |" in section
    assert "### Negative hardness" in section and "| mean BM25 score against the meta-chunk |" in section
