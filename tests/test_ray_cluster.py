"""Shards on a two-node Ray cluster on this machine (both nodes on 127.0.0.1), one node lost mid-run, the
checkpoints on S3 (moto's server on 127.0.0.1) as on a real cluster."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import litelong_hf
from litelong_hf.executors import loopback_node_ip, row_hook
from litelong_hf.pipeline import shard_complete, shard_files, shard_quota
from litelong_hf.presets import make_config
from litelong_hf.progress import listen
from litelong_hf.rowstore import parquet_rows
from litelong_hf.testing.faults import StallOnNode

ray = pytest.importorskip("ray")
pytest.importorskip("s3fs")
pytest.importorskip("moto.server")
import fsspec  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from litelong_hf.testing.s3_server import s3_server  # noqa: E402

SMALL = {"target_tokens": 4096, "num_shards": 3, "num_rows": 6}


def rows_of(ds: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in ds]


def _remove_when_stalled(cluster: Any, node: Any, marker: Path, removed: threading.Event) -> None:
    """Remove ``node`` from ``cluster`` once a shard hangs on it (``marker`` written); give up after 240 s."""
    deadline = time.monotonic() + 240
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if marker.exists():
        cluster.remove_node(node, allow_graceful=False)
        removed.set()


@pytest.mark.integration
@pytest.mark.slow
def test_a_node_removed_mid_run_costs_no_shard_and_changes_no_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = litelong_hf.load("random-concat-64k", cache_dir=str(tmp_path / "local"), **SMALL)
    with s3_server("cluster") as s3:
        for name, value in s3.env.items():  # before the nodes start: their workers inherit it
            monkeypatch.setenv(name, value)
        _run_on_two_nodes(tmp_path, local, s3.url("shards"))


def _run_on_two_nodes(tmp_path: Path, local: Any, shards_dir: str) -> None:
    with loopback_node_ip(ray):
        cluster = Cluster(
            initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1"}
        )
        second = cluster.add_node(num_cpus=1, resources={"second": 1}, node_ip_address="127.0.0.1")
    try:
        assert cluster.address.startswith("127.0.0.1:")
        assert {cluster.head_node.node_ip_address, second.node_ip_address} == {"127.0.0.1"}
        marker, removed = tmp_path / "stalled", threading.Event()
        watcher = threading.Thread(target=_remove_when_stalled, args=(cluster, second, marker, removed))
        watcher.start()
        heard: list[tuple[int, int | None]] = []
        with (
            row_hook(StallOnNode(node_id=second.node_id, marker=marker)),
            listen(lambda what, done, total: heard.append((done, total)) if what == "rows on Ray" else None),
        ):
            on_ray = litelong_hf.load(
                "random-concat-64k",
                executor="ray",
                ray_address=cluster.address,
                cache_dir=str(tmp_path / "ray"),
                shards_dir=shards_dir,
                **SMALL,
            )
        watcher.join()
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert removed.is_set()  # a shard really was half made on the second node when it went
    assert rows_of(on_ray) == rows_of(local)
    config = make_config("random-concat-64k", cache_dir=str(tmp_path / "ray"), shards_dir=shards_dir, **SMALL)
    for shard in range(config.num_shards):
        assert shard_complete(config, shard)
        assert parquet_rows(shard_files(config, shard).rows) == shard_quota(6, 3, shard)
    # One report marker per shard, and the stage heard each shard finish once: 0 -> 2 -> 4 -> 6 rows.
    fs = fsspec.filesystem("s3")
    fs.invalidate_cache()
    assert len(fs.glob(shards_dir.removeprefix("s3://") + "/*/*.report.json")) == config.num_shards
    assert [done for done, _ in heard] == [0, 0, 2, 4, 6] and {t for _, t in heard} == {6}
