"""The run machinery: rows as they are made, rows independent of workers, shards on Ray, checkpoints."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import litelong_hf
from litelong_hf.pipeline import merged_report, run_shard, shard_complete, shard_files
from litelong_hf.presets import make_config

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
def test_ray_executor_matches_local_rows_and_survives_a_killed_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray")
    local = litelong_hf.load("random-concat-64k", num_rows=8, cache_dir=str(tmp_path / "local"), **SMALL)
    marker = tmp_path / "crashed"
    # The worker running shard 2 dies (os._exit) after its first row, once: Ray must re-run that shard.
    monkeypatch.setenv("LITELONG_HF_TEST_CRASH_SHARD", f"2:{marker}")
    shards_dir = tmp_path / "shared-storage"
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
