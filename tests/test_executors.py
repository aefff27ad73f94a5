"""The executors: Ray addresses checked before any work (one line naming the fix), the Ray stage's note, the
row hooks (how tests inject faults into shard workers) and the fault itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from litelong_hf import executors
from litelong_hf.config import ConfigError
from litelong_hf.executors import (
    _shard_task,
    check_ray_address,
    is_loopback,
    parse_ray_address,
    ray_note,
    row_hook,
)
from litelong_hf.pipeline import shard_complete
from litelong_hf.presets import make_config
from litelong_hf.testing.faults import EXIT_CODE, CrashOnce


class _Record:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, shard: int) -> None:
        self.calls.append(shard)


def test_a_shard_task_calls_its_hooks_once_per_row(tmp_path: Path) -> None:
    config = make_config(
        "random-concat-64k", cache_dir=str(tmp_path), target_tokens=4096, num_rows=3, num_shards=2
    )
    record = _Record()
    report = _shard_task(config.to_dict(), 1, (record,))
    assert record.calls == [1] and report["stats"]["rows"] == 1 and shard_complete(config, 1)
    assert _shard_task(config.to_dict(), 0)["stats"]["rows"] == 2  # no hooks: nothing else changes


def test_row_hook_is_installed_only_inside_its_block() -> None:
    record = _Record()
    with row_hook(record):
        assert [record] == executors._ROW_HOOKS
    assert executors._ROW_HOOKS == []


def test_crash_once_kills_the_process_of_its_shard_once(tmp_path: Path) -> None:
    marker = tmp_path / "crashed"
    code = (
        "from litelong_hf.testing.faults import CrashOnce\n"
        f"hook = CrashOnce(shard=2, marker={str(marker)!r})\n"
        "hook(1)\nhook(2)\nprint('survived')\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert first.returncode == EXIT_CODE and "survived" not in first.stdout and marker.is_file()
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "survived" in again.stdout
    CrashOnce(shard=2, marker=marker)(2)  # marker present: a no-op in this process too


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        ("127.0.0.1:6379", ("gcs", "127.0.0.1", 6379)),
        ("head.cluster.internal:6380", ("gcs", "head.cluster.internal", 6380)),
        ("ray://10.0.0.5:10001", ("client", "10.0.0.5", 10001)),
        ("[::1]:6379", ("gcs", "::1", 6379)),
    ],
)
def test_ray_addresses_parse(address: str, parsed: tuple[str, str, int]) -> None:
    assert parse_ray_address(address) == parsed


@pytest.mark.parametrize("address", ["head", "head:", ":6379", "head:port", "head:70000", "ray://head"])
def test_a_malformed_ray_address_names_the_expected_form(address: str) -> None:
    with pytest.raises(ConfigError, match=r"not host:port .*ray start --head"):
        parse_ray_address(address)


def test_loopback_hosts() -> None:
    assert all(map(is_loopback, ["localhost", "127.0.0.1", "127.8.0.1", "::1"]))
    assert not any(map(is_loopback, ["10.0.0.5", "head", "192.0.2.2"]))


def test_the_ray_stage_note_counts_shards_and_tokens_per_second() -> None:
    assert ray_note(3, 8, 76_400, 2.0) == "3/8 shards, 38.2k tokens/s"
    assert ray_note(0, 8, 0, 0.0) == "0/8 shards, 0 tokens/s"
    assert ray_note(1, 2, 900, 1.0) == "1/2 shards, 900 tokens/s"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_ray_address_fails_at_once_with_one_line_naming_it(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    address = f"127.0.0.1:{_closed_port()}"
    cli = [sys.executable, "-c", "from litelong_hf.cli import main; main()"]
    command = [*cli, "generate", "random-concat-64k", "--executor", "ray"]
    command += [
        "--ray-address",
        address,
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "out"),
    ]
    env = dict(os.environ, LITELONG_HF_DEBUG="0", COLUMNS="400")
    # Without the check, Ray retries the connection for minutes: the timeout turns that into a failure.
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert f"Cannot reach a Ray cluster at {address}: connection refused" in errors[0]
    assert "ray start --head" in errors[0] and "leave out --ray-address" in errors[0]
    assert "GCS" not in done.stderr and "rpc_client" not in done.stderr  # no Ray retry logs
    assert not (tmp_path / "out").exists()


def test_a_port_where_no_ray_cluster_answers_is_named(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    with socket.socket() as listener:  # accepts TCP connections (backlog), speaks no Ray
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(
            ConfigError, match=rf"^{address} answers but is not a Ray cluster .*ray start --head"
        ):
            check_ray_address(address, timeout=15)
