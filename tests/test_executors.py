"""The executors' row hooks (how tests inject faults into shard workers) and the fault itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from litelong_hf import executors
from litelong_hf.executors import _shard_task, row_hook
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
