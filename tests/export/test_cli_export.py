"""``litelong-hf export``: it works, bad input is one line and exit status 2, and nothing is half-written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from litelong_hf.cli import app

runner = CliRunner()


def test_export_writes_mds_and_says_what(pretraining_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "mds"
    result = runner.invoke(app, ["export", str(pretraining_run), "--out", str(out), "--compression", "zstd"])
    assert result.exit_code == 0, result.output
    assert "wrote 3 pretraining rows" in result.output
    assert json.loads((out / "export.json").read_text())["compression"] == "zstd"
    assert (out / "index.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "csv"], "Unknown format 'csv'"),
        (["--size-limit", "lots"], "--size-limit 'lots' is not a size"),
        (["--compression", "lzma"], "not an MDS compression"),
        (["--format", "jsonl", "--compression", "zstd"], "does not apply to jsonl"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    pretraining_run: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["export", str(pretraining_run), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_missing_and_empty_folders_are_clear_errors(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["export", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["export", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert empty.exit_code == 2 and "No rows in" in empty.output


def test_an_existing_output_needs_overwrite(pretraining_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    refused = runner.invoke(app, ["export", str(pretraining_run), "--out", str(out), "--format", "jsonl"])
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    replaced = runner.invoke(
        app, ["export", str(pretraining_run), "--out", str(out), "-f", "jsonl", "--overwrite"]
    )
    assert replaced.exit_code == 0, replaced.output
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "part-00000.jsonl"]


@pytest.mark.parametrize("fmt", ["mds", "parquet", "jsonl"])
def test_a_bad_row_leaves_nothing_behind(pretraining_run: Path, tmp_path: Path, fmt: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(pretraining_run, run)
    shard = next((run / "parquet").glob("*.parquet"))
    table = pq.read_table(shard)
    rows = table.to_pylist()
    rows[2]["piece_lengths"] = rows[2]["piece_lengths"][:-1]  # the last row's spans miss its end
    shard.unlink()
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    out = tmp_path / "exports" / "o"
    result = runner.invoke(app, ["export", str(run), "--out", str(out), "--format", fmt, "--size-limit", "1"])
    assert result.exit_code == 2
    assert "piece_lengths sum to" in result.output and "Traceback" not in result.output
    assert list((tmp_path / "exports").iterdir()) == []  # no output, no staging folder
