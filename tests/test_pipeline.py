"""The run machinery: rows as they are made, rows independent of workers, shards on Ray, checkpoints."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import litelong_hf
from litelong_hf.executors import row_hook
from litelong_hf.pipeline import merged_report, run_shard, shard_complete, shard_files
from litelong_hf.presets import make_config
from litelong_hf.testing.faults import CrashOnce

SMALL = {"target_tokens": 4096, "num_shards": 4}


def rows_of(ds: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in ds]


def test_streaming_yields_rows_before_the_shard_is_done(tmp_path: Path) -> None:
    ds = litelong_hf.load(
        "random-concat-64k", streaming=True, cache_dir=str(tmp_path), target_tokens=4096, num_shards=1
    )
    iterator = iter(ds)
    first = next(iterator)
    assert len(first["input_ids"]) == 4096
    config = make_config("random-concat-64k", target_tokens=4096, num_shards=1, cache_dir=str(tmp_path))
    assert not shard_complete(config, 0)  # the first row arrived while the shard was still being made
    rest = list(iterator)
    assert len(rest) >= 10
    assert shard_complete(config, 0)
    assert merged_report(config).stats["rows"] == len(rest) + 1


def test_rows_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    one = litelong_hf.load("random-concat-64k", num_rows=6, cache_dir=str(tmp_path / "a"), **SMALL)
    three = litelong_hf.load(
        "random-concat-64k", num_rows=6, num_proc=3, cache_dir=str(tmp_path / "b"), **SMALL
    )
    assert len(one) == 6
    assert rows_of(one) == rows_of(three)


def test_completed_shards_are_reused_and_markers_come_last(tmp_path: Path) -> None:
    litelong_hf.load("random-concat-64k", num_rows=4, cache_dir=str(tmp_path), **SMALL)
    config = make_config("random-concat-64k", num_rows=4, cache_dir=str(tmp_path), **SMALL)
    files = shard_files(config, 0)
    assert Path(files.rows).is_file() and Path(files.report).is_file()
    # A shard whose marker is gone is incomplete: it is made again, with the same rows.
    before = Path(files.rows).read_bytes()
    os.remove(files.report)
    assert not shard_complete(config, 0)
    _, report = run_shard(config, 0)
    assert report.stats["rows"] == 1 and shard_complete(config, 0)
    assert pq.read_table(files.rows).equals(pq.read_table(io.BytesIO(before)))


@pytest.mark.integration
def test_ray_executor_matches_local_rows_and_survives_a_killed_worker(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    local = litelong_hf.load("random-concat-64k", num_rows=8, cache_dir=str(tmp_path / "local"), **SMALL)
    marker = tmp_path / "crashed"
    shards_dir = tmp_path / "shared-storage"
    # The worker running shard 2 dies (os._exit) after its first row, once: Ray must re-run that shard.
    with row_hook(CrashOnce(shard=2, marker=marker)):
        on_ray = litelong_hf.load(
            "random-concat-64k",
            num_rows=8,
            executor="ray",
            num_proc=2,
            cache_dir=str(tmp_path / "ray"),
            shards_dir=f"file://{shards_dir}",
            **SMALL,
        )
    assert marker.is_file()  # the crash really happened
    assert rows_of(on_ray) == rows_of(local)
    config = make_config(
        "random-concat-64k",
        num_rows=8,
        cache_dir=str(tmp_path / "ray"),
        shards_dir=f"file://{shards_dir}",
        **SMALL,
    )
    assert all(shard_complete(config, s) for s in range(config.num_shards))
    assert list(shards_dir.rglob("*.report.json"))


def test_rows_are_on_disk_once(tmp_path: Path) -> None:
    from litelong_hf.publish.rundir import load_run_dir, write_run_dir
    from litelong_hf.rowstore import read_rows
    from litelong_hf.run import generate

    cache = tmp_path / "cache"
    run = generate("random-concat-64k", num_rows=4, cache_dir=str(cache), **SMALL)
    # The shard parquet is the one artifact: no `datasets` Arrow cache, and the dataset reads the shards.
    assert all(p.relative_to(cache).parts[0] == "corpora" for p in cache.rglob("*.arrow"))  # the documents
    from_shards = pq.read_table(run.shard_files).to_pylist()
    assert rows_of(run.dataset) == from_shards and len(from_shards) == 4
    out = tmp_path / "out"
    write_run_dir(run, out)
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "parquet", "report.json"]
    # DIR/parquet holds the same files (hard links: one inode each), the empty shards left out.
    inodes = {Path(p).stat().st_ino for p in run.shard_files if pq.read_metadata(p).num_rows}
    linked = sorted((out / "parquet").iterdir())
    assert [p.name for p in linked] == [f"train-{i:05d}-of-00004.parquet" for i in range(4)]
    assert {p.stat().st_ino for p in linked} == inodes
    assert rows_of(read_rows(out)) == from_shards
    loaded = load_run_dir(out)
    assert rows_of(loaded.dataset) == from_shards and loaded.report is not None
    assert loaded.dataset.features == run.dataset.features


def test_a_plain_generate_shows_only_our_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    from typer.testing import CliRunner

    from litelong_hf.cli import app

    args = [
        "generate",
        "random-concat-64k",
        "--num-rows",
        "2",
        "--target-tokens",
        "4096",
        "--num-shards",
        "2",
    ]
    monkeypatch.delenv("LITELONG_HF_NO_PROGRESS")
    shown = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "a"), "--cache-dir", str(tmp_path / "c1")]
    )
    assert shown.exit_code == 0, shown.output
    printed = shown.output + "".join(capfd.readouterr())
    assert "Generating train split" not in printed and "examples/s" not in printed  # no library tqdm bar
    assert (
        "✓ rows" in printed and "2/2 rows" in printed and "rows/s" in printed and "✓ save" in printed
    )  # our stages, with rates
    monkeypatch.setenv("LITELONG_HF_NO_PROGRESS", "1")
    quiet = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "b"), "--cache-dir", str(tmp_path / "c2")]
    )
    assert quiet.exit_code == 0, quiet.output
    printed = quiet.output + "".join(capfd.readouterr())
    assert "rows/s" not in printed and "✓" not in printed and "wrote 2 rows" in printed


def test_every_bar_is_a_row_of_one_display(monkeypatch: pytest.MonkeyPatch) -> None:
    from litelong_hf.progress import active_display, listen, progress_bar, stage

    monkeypatch.delenv("LITELONG_HF_NO_PROGRESS")
    heard: list[tuple[str, int, int | None]] = []
    with listen(lambda *step: heard.append(step)), stage("rows", 2, unit="rows") as rows:
        display = active_display()
        assert display is not None
        with progress_bar("index", None, unit="docs") as advance:
            assert active_display() is display  # a nested bar joins the display, never starts its own
            advance(3)
        rows.advance(2)
        assert [(t.description, t.completed) for t in display.tasks] == [("rows", 2), ("index", 3)]
    assert active_display() is None
    assert heard[-1] == ("rows", 2, 2) and ("index", 3, None) in heard
