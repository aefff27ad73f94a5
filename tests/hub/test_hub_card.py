"""Card statistics, rendering and merging (pure functions; no network)."""

from __future__ import annotations

import json

import pytest
import yaml
from hub_fixtures import instruction_dataset, pretraining_dataset, sample_report
from huggingface_hub import DatasetCard
from hypothesis import given
from hypothesis import strategies as st

from litelong_hf.card import (
    CardInputs,
    compute_stats,
    detect_row_schema,
    histogram_counts,
    merge_card,
    parse_card,
    preview_row,
    render_config_section,
    render_length_histogram,
    size_category,
    source_reuse,
    stats_from_batches,
    summarize,
)
from litelong_hf.secrets import REDACTED, redact, scrub_text

DATASET_INFO = {
    "features": [{"name": "id", "dtype": "string"}],
    "splits": [{"name": "train", "num_examples": 3}],
}


def _inputs(config: str, *, seed: int = 1, report: bool = True, secrets: tuple[str, ...] = ()) -> CardInputs:
    if config.startswith("hierarchical"):
        ds = instruction_dataset(3, seed)
        schema = "instruction"
    else:
        ds = pretraining_dataset(3, 64, seed)
        schema = "pretraining"
    stats = compute_stats(ds, config, schema)  # type: ignore[arg-type]
    return CardInputs(
        repo_id="me/long",
        config_name=config,
        stats=stats,
        data_files=f"{config}/train-*",
        histogram_path=f"assets/{config}-token-lengths.png",
        preview=preview_row(ds[0], schema),  # type: ignore[arg-type]
        report=sample_report(config, f"hash{seed}") if report else None,
        secrets=secrets,
    )


# ------------------------------------------------------------------------------------------ statistics


def test_summarize_and_histogram() -> None:
    assert summarize([]).count == 0
    s = summarize([1, 2, 6])
    assert (s.count, s.minimum, s.maximum, s.mean, s.median) == (3, 1, 6, 3.0, 2.0)
    assert histogram_counts([5, 5, 5]) == [(5.0, 5.0, 3)]
    bins = histogram_counts([0, 1, 2, 3, 10], bins=5)
    assert [c for _, _, c in bins] == [2, 2, 0, 0, 1]
    assert histogram_counts([]) == []


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=200), st.integers(1, 40))
def test_histogram_counts_every_value_once(values: list[int], bins: int) -> None:
    counts = histogram_counts(values, bins)
    assert sum(c for _, _, c in counts) == len(values)
    assert counts[0][0] == min(values) and counts[-1][1] == max(values)


@given(st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=6), max_size=30))
def test_source_reuse_counts_rows_per_document(rows: list[list[str]]) -> None:
    reuse = source_reuse(rows)
    distinct = {doc for row in rows for doc in row}
    assert reuse.unique_documents == len(distinct)
    assert sum(reuse.distribution.values()) == len(distinct)
    assert sum(k * v for k, v in reuse.distribution.items()) == reuse.total_uses
    assert reuse.total_uses == sum(len(set(row)) for row in rows)
    if distinct:
        assert reuse.max_rows_per_document == max(sum(doc in row for row in rows) for doc in distinct)


def test_source_reuse_example() -> None:
    reuse = source_reuse([["a", "b"], ["a"], ["a", "a"]])
    assert reuse.distribution == {1: 1, 3: 1}
    assert reuse.top[0] == ("a", 3)
    assert reuse.reused_documents == 1


@pytest.mark.parametrize(
    ("rows", "label"),
    [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (123_456, "100K<n<1M"), (10**13, "n>1T")],
)
def test_size_category(rows: int, label: str) -> None:
    assert size_category(rows) == label


def test_detect_row_schema() -> None:
    assert detect_row_schema(["id", "messages"]) == "instruction"
    assert detect_row_schema(["id", "input_ids", "text"]) == "pretraining"
    assert detect_row_schema(["id"]) is None


def test_stats_of_both_schemas() -> None:
    pre = compute_stats(pretraining_dataset(5, 100, 1), "litelong-64k", "pretraining")
    assert pre.num_rows == 5 and pre.total_tokens == 500
    assert pre.row_tokens.minimum == pre.row_tokens.maximum == 100
    assert sum(pre.piece_lengths) == 500
    assert pre.roles == {"retrieved": pre.docs_per_row.mean * 5}
    assert pre.questions_per_row is None
    ins = compute_stats(instruction_dataset(4, 2), "hierarchical-128k", "instruction")
    assert ins.num_rows == 4
    assert ins.questions_per_row is not None and ins.questions_per_row.minimum >= 2
    assert ins.strategies == ["hierarchical"]
    assert set(ins.question_levels) <= {"global", "medium", "small"}


def test_stats_from_batches_is_pure() -> None:
    batch = {
        "n_tokens": [10, 10],
        "piece_lengths": [[4, 6], [10]],
        "sources": [
            [{"doc_id": "x", "role": "meta"}, {"doc_id": "y", "role": "negative"}],
            [{"doc_id": "x", "role": "meta"}],
        ],
        "tokenizer": ["llama-3", "llama-3"],
    }
    stats = stats_from_batches([batch], "pretraining", "nextlong-64k")
    assert stats.total_tokens == 20
    assert stats.roles == {"meta": 2, "negative": 1}
    assert stats.reuse.distribution == {1: 1, 2: 1}
    assert stats.tokenizers == ["llama-3"]


# ------------------------------------------------------------------------------------------ secrets


def test_redact_keys_urls_and_known_secrets() -> None:
    config = {
        "n_tokens": 5,
        "max_tokens": 9,
        "tokenizer": "llama-3",
        "api_key": "sk-123",
        "hf_token": "hf_abc",
        "llm": {"endpoint": "https://bob:pw@host/v1?api_key=zzz&x=1", "note": "uses hf_SECRET_VALUE inside"},
    }
    clean = redact(config, ["hf_SECRET_VALUE"])
    assert clean["n_tokens"] == 5 and clean["max_tokens"] == 9 and clean["tokenizer"] == "llama-3"
    assert clean["api_key"] == REDACTED and clean["hf_token"] == REDACTED
    assert clean["llm"]["endpoint"] == f"https://{REDACTED}@host/v1?api_key={REDACTED}&x=1"
    assert "hf_SECRET_VALUE" not in json.dumps(clean)
    assert scrub_text("a hf_X b", ["hf_X"]) == f"a {REDACTED} b"


# ------------------------------------------------------------------------------------------ rendering


def test_preview_truncates_long_values() -> None:
    row = pretraining_dataset(1, 2000, 3)[0]
    preview = preview_row(row, "pretraining", max_chars=200)
    assert len(preview["text"]) < 300 and "characters…]" in preview["text"]
    assert preview["input_ids"][-1].startswith("… ") and len(preview["input_ids"]) == 17
    assert list(preview)[:3] == ["id", "text", "input_ids"]
    messages = preview_row(instruction_dataset(1, 1)[0], "instruction", max_chars=50)["messages"]
    assert len(messages[0]["content"]) < 120


def test_histogram_png_is_deterministic() -> None:
    first = render_length_histogram([100, 100, 100], [30, 70, 100], title="t")
    second = render_length_histogram([100, 100, 100], [30, 70, 100], title="t")
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert first == second
    assert render_length_histogram([], [], title="empty").startswith(b"\x89PNG")


def test_section_shows_provenance_and_report() -> None:
    section = render_config_section(_inputs("litelong-128k"))
    assert section.startswith('<!-- litelong-hf:config-start name="litelong-128k" -->')
    assert section.rstrip().endswith('<!-- litelong-hf:config-end name="litelong-128k" -->')
    for expected in (
        "arXiv:2509.15568",
        "debater_a",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        "debate_judge",
        "rows_per_topic: 4",
        "zero BM25 hits",
        "hits cannot fill one row",
        "| requests | 36 |",
        "topics_generated",
        "HuggingFaceFW/fineweb-edu",
        "assets/litelong-128k-token-lengths.png",
        'load_dataset("me/long", "litelong-128k"',
    ):
        assert expected in section, expected
    assert "sk-should-not-leak-123" not in section and "user:pw" not in section
    no_report = render_config_section(_inputs("nextlong-64k", report=False))
    assert "No run report was given" in no_report and "arXiv:2501.12766" in no_report
    hier = render_config_section(_inputs("hierarchical-1m", report=False))
    assert "arXiv:2504.12637" in hier and "questions per row" in hier


def test_merge_card_keeps_other_configs_and_notes() -> None:
    first = merge_card(None, _inputs("litelong-128k"), dataset_info=DATASET_INFO)
    card = DatasetCard(first)  # parses and validates the YAML front matter
    assert card.data.license == "odc-by"
    assert card.data.language == ["en"]
    edited = first.replace(
        "_Maintainers: text written between the notes markers is kept when a config is pushed again._",
        "Hand-written note.",
    )
    second = merge_card(edited, _inputs("hierarchical-128k", seed=2, report=False), dataset_info=DATASET_INFO)
    third = merge_card(second, _inputs("litelong-128k", seed=3), dataset_info=DATASET_INFO)
    parsed = parse_card(third)
    assert list(parsed.sections) == ["litelong-128k", "hierarchical-128k"]
    assert parsed.notes is not None and "Hand-written note." in parsed.notes
    assert "hash3" in parsed.sections["litelong-128k"] and "hash1" not in parsed.sections["litelong-128k"]
    assert parsed.summaries["hierarchical-128k"]["schema"] == "instruction"
    metadata = yaml.safe_load(third.split("---\n")[1])
    assert [c["config_name"] for c in metadata["configs"]] == ["litelong-128k", "hierarchical-128k"]
    assert [i["config_name"] for i in metadata["dataset_info"]] == ["litelong-128k", "hierarchical-128k"]
    assert metadata["task_categories"] == ["text-generation"]
    assert {"instruction-tuning", "pretraining", "hierarchical", "litelong"} <= set(metadata["tags"])
    assert third.count("## Config `litelong-128k`") == 1
    card = DatasetCard(third)
    assert len(card.data.to_dict()["configs"]) == 2


def test_merge_card_keeps_foreign_metadata_and_redacts() -> None:
    existing = "---\nlicense: mit\ncustom_key: kept\nconfigs:\n- config_name: other\n  data_files: other/*\n---\n# Old\n"
    merged = merge_card(
        existing, _inputs("nextlong-64k", secrets=("hf_topsecret",)), dataset_info=DATASET_INFO
    )
    metadata = yaml.safe_load(merged.split("---\n")[1])
    assert metadata["custom_key"] == "kept"
    assert metadata["license"] == ["mit", "odc-by"]
    assert [c["config_name"] for c in metadata["configs"]] == ["other", "nextlong-64k"]
    assert "hf_topsecret" not in merged


def test_section_shows_the_topic_debate() -> None:
    from litelong_hf.strategies.debate import summarize_transcript

    transcript = {
        "top": "SCIENCE",
        "sub": "Astronomy",
        "generated": {
            "debater_a": [{"topic": "Exoplanet atmospheres"}],
            "debater_b": [{"topic": "Dark matter"}],
        },
        "kept": [{"topic": "Exoplanet atmospheres"}],
        "rejected": [{"topic": "Dark matter"}],
        "judge": {"rejected_topics": [{"title": "dark matter.", "reason": "Too broad."}]},
        "unparseable": [],
    }
    summary = summarize_transcript(transcript)
    assert summary["generated"] == {"debater_a": 1, "debater_b": 1}
    assert summary["rejected"] == [{"topic": "Dark matter", "reason": "Too broad."}]
    inputs = _inputs("litelong-128k")
    assert inputs.report is not None
    inputs.report.extra.update({"debates": [summary], "debates_total": 1})
    section = render_config_section(inputs)
    assert "### Topic debate" in section
    assert "| SCIENCE / Astronomy | 1 / 1 | Exoplanet atmospheres | Dark matter (Too broad.) |" in section
    assert "### Topic debate" not in render_config_section(_inputs("nextlong-64k"))
