"""Mixtures of real generated runs, a preset and the demo corpus: shares, boundaries, determinism, output."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from mixture_fixtures import HALF, ROW_TOKENS, mixture_rows, run_rows

import litelong_hf
from litelong_hf.corpus import CorpusConfig, open_store
from litelong_hf.mixture import MixtureError
from litelong_hf.mixture.sources import SHORT_STRATEGY
from litelong_hf.report import RunReport
from litelong_hf.rowstore import read_rows
from litelong_hf.tokens import TokenCounter

NUM_ROWS = 100


def make(runs: dict[str, Path], out: Path, **fields: object) -> litelong_hf.mixture.MixtureResult:
    values: dict[str, object] = {
        "components": [f"{runs['full']}=0.4", f"{runs['half']}=0.3"],
        "short": ["demo=0.3"],
        "num_rows": NUM_ROWS,
        "cache_dir": str(runs["cache"]),
    }
    values.update(fields)
    return litelong_hf.mixture(out, **values)


@pytest.fixture(scope="module")
def mixed(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mixed") / "mix"
    make(runs, out)
    return out


def test_token_shares_are_met_within_one_percent(mixed: Path, runs: dict[str, Path]) -> None:
    rows = mixture_rows(mixed)
    assert len(rows) == NUM_ROWS
    assert all(r["n_tokens"] == len(r["input_ids"]) == sum(r["piece_lengths"]) == ROW_TOKENS for r in rows)
    full_hash = run_rows(runs["full"])[0]["config_hash"]
    half_hash = run_rows(runs["half"])[0]["config_hash"]
    tokens = Counter()
    for row in rows:
        tokens[row["config_hash"]] += row["n_tokens"]
    total = sum(tokens.values())
    shares = {h: n / total for h, n in tokens.items()}
    assert abs(shares.pop(full_hash) - 0.4) <= 0.01
    assert abs(shares.pop(half_hash) - 0.3) <= 0.01
    (short_share,) = shares.values()
    assert abs(short_share - 0.3) <= 0.01
    report = RunReport.load(mixed / "report.json")
    records = report.extra["mixture"]["components"]
    assert [r["config_hash"] for r in records[:2]] == [full_hash, half_hash]
    assert [r["rows"] for r in records] == [40, 30, 30]
    assert report.extra["mixture"]["max_share_gap"] <= 0.01


def test_packed_rows_keep_each_source_row_whole_as_one_span(mixed: Path, runs: dict[str, Path]) -> None:
    half = run_rows(runs["half"])
    half_hash = half[0]["config_hash"]
    packed = [r for r in mixture_rows(mixed) if r["config_hash"] == half_hash]
    assert len(packed) == 30
    # In row order, two source rows per mixture row; their ids concatenated, one span each.
    for k, row in enumerate(packed):
        first, second = half[2 * k], half[2 * k + 1]
        assert row["piece_lengths"] == [HALF, HALF]
        assert row["input_ids"] == first["input_ids"] + second["input_ids"]
        assert row["text"] == first["text"] + second["text"]
        assert row["sources"] == first["sources"] + second["sources"]
    full = run_rows(runs["full"])
    kept = [r for r in mixture_rows(mixed) if r["config_hash"] == full[0]["config_hash"]]
    assert [r["input_ids"] for r in kept] == [r["input_ids"] for r in full[:40]]
    assert [r["piece_lengths"] for r in kept] == [r["piece_lengths"] for r in full[:40]]


def test_short_documents_are_packed_whole_with_their_boundaries(mixed: Path) -> None:
    short = [r for r in mixture_rows(mixed) if r["strategy"] == SHORT_STRATEGY]
    assert len(short) == 30
    store = open_store(CorpusConfig(), show_progress=False)
    texts = {store.doc_id(i): store.text(i) for i in range(len(store))}
    counter = TokenCounter.get("llama-3")
    used: list[str] = []
    for row in short:
        assert list(counter.encode(row["text"])) == row["input_ids"]  # canonical, like every row
        assert len(row["piece_lengths"]) == len(row["sources"]) > 1
        start = 0
        for piece, source in zip(row["piece_lengths"], row["sources"], strict=True):
            assert source["role"] == SHORT_STRATEGY and source["n_tokens"] == piece
            span = counter.decode(np.asarray(row["input_ids"][start : start + piece]))
            document = texts[source["doc_id"]]
            # Every span is one document from its start (the row's last one may be cut).
            shown = min(40, len(span.strip()))
            assert shown > 0 and span.strip()[:shown] == document.strip()[:shown]
            start += piece
            used.append(source["doc_id"])
    assert len(used) == len(set(used))  # no document twice


def test_the_same_seed_gives_the_same_rows_and_another_seed_another_order(
    mixed: Path, runs: dict[str, Path], tmp_path: Path
) -> None:
    again = make(runs, tmp_path / "again")
    assert mixture_rows(tmp_path / "again") == mixture_rows(mixed)
    assert again.config_hash == RunReport.load(mixed / "report.json").config_hash
    other = make(runs, tmp_path / "other", seed=7)
    order = [r["config_hash"] for r in mixture_rows(tmp_path / "other")]
    assert order != [r["config_hash"] for r in mixture_rows(mixed)]
    before = Counter(r["config_hash"] for r in mixture_rows(mixed))
    # The run components' rows are the same; the short rows come from another document order.
    assert sorted(Counter(order).values()) == sorted(before.values())
    assert len(set(order) & set(before)) == 2
    assert other.config_hash != again.config_hash


def test_interleaving_spreads_components_through_the_rows(mixed: Path) -> None:
    order = [r["config_hash"] for r in mixture_rows(mixed)]
    for component in set(order):
        share = order.count(component) / len(order)
        assert abs(order[:50].count(component) / 50 - share) <= 0.1


def test_a_preset_component_is_generated_with_the_rows_it_must_give(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    result = litelong_hf.mixture(
        tmp_path / "mix",
        components=[f"{runs['full']}=1/2", "random-concat-64k=1/2"],
        component_overrides={"random-concat-64k": {"target_tokens": HALF, "seed": 5}},
        num_rows=20,
        cache_dir=str(runs["cache"]),
    )
    records = {r["component"]: r for r in result.components}
    preset = records["random-concat-64k"]
    assert (
        preset["kind"] == "config" and preset["rows"] == 10 and preset["rows_per_mixture_row"] == {"128": 2}
    )
    rows = mixture_rows(tmp_path / "mix")
    assert Counter(r["config_hash"] for r in rows)[preset["config_hash"]] == 10
    assert result.row_tokens == ROW_TOKENS and result.name == "mixture-256"


def test_the_mixture_is_a_run_directory_the_others_read(mixed: Path, tmp_path: Path) -> None:
    from litelong_hf.card import CardInputs, compute_stats, preview_row, render_config_section
    from litelong_hf.hub import load_run_dir
    from litelong_hf.publish.checks import check_dataset

    dataset = read_rows(mixed)
    assert dataset.num_rows == NUM_ROWS
    loaded = load_run_dir(mixed)
    assert loaded.report is not None and loaded.report.config_name == "mixture-256"
    rows, schema = check_dataset(loaded.dataset, "mixture-256k")
    assert schema == "pretraining"
    stats = compute_stats(rows, "mixture-256k", schema)
    section = render_config_section(
        CardInputs(
            repo_id="me/mix",
            config_name="mixture-256k",
            stats=stats,
            data_files="mixture-256k/train-*",
            histogram_path="assets/x.png",
            preview=preview_row(rows[0], schema),
            report=loaded.report,
        )
    )
    assert "### Mixture components" in section
    for record in loaded.report.extra["mixture"]["components"]:
        assert record["config_hash"] in section
    assert "40.0%" in section and "30.0%" in section


def test_stats_of_rows_without_sources() -> None:
    from litelong_hf.publish.stats import stats_from_batches

    stats = stats_from_batches([{"n_tokens": [4, 4], "piece_lengths": [[1, 3], [4]]}], "pretraining", "x")
    assert stats.docs_per_row.maximum == 2 and stats.piece_tokens.count == 3


def test_runs_bound_the_mixture_when_num_rows_is_not_given(runs: dict[str, Path], tmp_path: Path) -> None:
    result = litelong_hf.mixture(
        tmp_path / "mix", components=[f"{runs['full']}=0.5", f"{runs['half']}=0.5"], tolerance=0.05
    )
    # 60 full rows and 35 packed halves: 70 rows (35 each).
    assert result.rows == 70
    assert [c["rows"] for c in result.components] == [35, 35]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"num_rows": 10, "short": ["demo=0.2"]}, "shares sum to 0.9"),
        ({"num_rows": 7}, r"cannot meet the shares within 1\.00%"),
        ({"num_rows": 1000}, "can fill 60 rows"),
        ({"row_tokens": 300}, "multiple of"),
        ({"tokenizer": "smollm2"}, "regenerate it with --tokenizer smollm2"),
        ({"short": ["demo=abc"]}, "is not a number"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(
    runs: dict[str, Path], tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(MixtureError, match=message):
        make(runs, tmp_path / "mix", **fields)
    assert not (tmp_path / "mix").exists()


def test_a_short_corpus_that_runs_out_leaves_nothing(runs: dict[str, Path], tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(f'{{"text": "A short document number {i} about nothing much at all."}}\n' for i in range(30))
    )
    with pytest.raises(MixtureError, match="documents ran out"):
        make(runs, tmp_path / "mix", short=[f"{docs}=0.3"])
    assert not (tmp_path / "mix").exists()
