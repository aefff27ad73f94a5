"""``litelong-hf mixture``: flags from MixtureConfig, presets, one-line errors with exit status 2, and the
MDS export of a mixture read back by mosaicml-streaming."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from mixture_fixtures import ROW_TOKENS, mixture_rows
from typer.testing import CliRunner

from litelong_hf.cli import app
from litelong_hf.mixture import make_mixture_config, mixture_preset_names

ENV = {"LITELONG_HF_NO_PROGRESS": "1"}


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args), env=ENV)


def test_the_command_makes_a_mixture_and_lists_its_components(runs: dict[str, Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            *("mixture", "--component", f"{runs['full']}=0.5", "--component", f"{runs['half']}=0.25"),
            *("--short", "demo=0.25", "--num-rows", "40", "--seed", "3", "--out", str(tmp_path / "mix")),
            *("--cache-dir", str(runs["cache"])),
        ],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    assert "mixture-256" in result.output and "50.00%" in result.output
    rows = mixture_rows(tmp_path / "mix")
    assert len(rows) == 40 and {r["n_tokens"] for r in rows} == {ROW_TOKENS}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--component", "nextlong-64k"], "write SOURCE=SHARE"),
        (["--component", "no-such-thing=0.5", "--short", "demo=0.5"], "neither a run directory nor a preset"),
        (["--component", "nextlong-64k=0.7", "--short", "demo=0.7"], "shares sum to 1.4"),
        (["--short", "demo=1"], "pass --row-tokens"),
        (["--short", "demo=1", "--row-tokens", "0"], "row_tokens must be positive"),
        (["--preset", "no-such-preset"], "Unknown mixture preset"),
        (["--short", "demo=1", "--boundaries", "docs"], "boundaries must be one of"),
        (
            ["--component", "nextlong-64k=0.5", "--short", "demo=0.5", "--component-overrides", "{bad"],
            "cannot read",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["mixture", *args, "--out", str(tmp_path / "mix")], env=ENV)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "mix").exists()


def test_an_existing_out_is_kept_unless_overwrite(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "mix"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ["mixture", "--component", f"{runs['full']}=1", "--num-rows", "5", "--out", str(out)]
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exit_code == 2 and "pass --overwrite" in result.output
    assert (out / "keep.txt").is_file()
    result = CliRunner().invoke(app, [*args, "--overwrite"], env=ENV)
    assert result.exit_code == 0, result.output
    assert not (out / "keep.txt").exists() and len(mixture_rows(out)) == 5


def test_the_presets_reproduce_the_published_mixes() -> None:
    assert {"nextlong-512k", "prolong-64k"} <= set(mixture_preset_names())
    nextlong = make_mixture_config("x", preset="nextlong-512k")
    specs = nextlong.specs()
    assert nextlong.row_tokens == 524288 and nextlong.boundaries == "rows"
    assert [(s.source, s.share) for s in specs] == [
        ("nextlong-512k", Fraction(1, 3)),
        ("nextlong-64k", Fraction(2, 3)),
    ]
    assert nextlong.component_overrides == {"nextlong-512k": {"mix_short_ratio": 0}}
    prolong = make_mixture_config("x", preset="prolong-64k", short=["data/*.parquet=0.37"])
    long_share = sum(float(s.share) for s in prolong.specs() if s.kind == "config")
    assert prolong.row_tokens == 65536 and long_share == pytest.approx(0.63)
    assert [s.source for s in prolong.specs() if s.kind == "short"] == ["data/*.parquet"]


def test_export_of_a_mixture_to_mds_reads_back(runs: dict[str, Path], tmp_path: Path) -> None:
    from litelong_hf.export import export
    from litelong_hf.export.streaming_import import import_streaming

    made = CliRunner().invoke(
        app,
        [
            *("mixture", "--component", f"{runs['half']}=0.5", "--short", "demo=0.5"),
            *("--row-tokens", str(ROW_TOKENS), "--num-rows", "6", "--out", str(tmp_path / "mix")),
            *("--cache-dir", str(runs["cache"])),
        ],
        env=ENV,
    )
    assert made.exit_code == 0, made.output
    result = export(tmp_path / "mix", tmp_path / "mds", format="mds", progress=False)
    streaming = import_streaming()
    dataset = streaming.StreamingDataset(local=str(tmp_path / "mds"), shuffle=False, batch_size=1)
    rows = mixture_rows(tmp_path / "mix")
    assert result.rows == dataset.num_samples == 6
    for i, row in enumerate(rows):
        sample = dataset[i]
        assert sample["input_ids"].tolist() == row["input_ids"]
        ends = np.cumsum(row["piece_lengths"]).tolist()
        assert sample["indices"].tolist() == [[a, b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        assert sample["config_hash"] == row["config_hash"]
