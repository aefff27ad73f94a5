"""Fault injection for the tests of worker loss: row hooks for :func:`litelong_hf.executors.row_hook`.

    with row_hook(CrashOnce(shard=2, marker=tmp / "crashed")):
        litelong_hf.load("random-concat-64k", executor="ray", ...)   # shard 2's worker dies once

Never used by a run: the executors know only that hooks may be installed, not what they do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

EXIT_CODE = 137
"""The exit status of a worker killed by the OOM killer (or a lost node), which the crash imitates."""


@dataclass(frozen=True)
class CrashOnce:
    """The worker running shard ``shard`` dies (``os._exit``) after its first row, once: ``marker`` (a
    path every worker can reach) records that it happened, so Ray's retry of the shard completes it."""

    shard: int
    marker: str | os.PathLike[str]

    def __call__(self, shard: int) -> None:
        marker = Path(self.marker)
        if shard == self.shard and not marker.exists():
            marker.touch()
            os._exit(EXIT_CODE)


@dataclass(frozen=True)
class StallOnNode:
    """The first shard to reach a worker on Ray node ``node_id`` writes ``marker`` (its shard index) after
    its first row and then hangs, so a test can remove that node while the shard is half made; on any other
    node, or once ``marker`` exists, nothing happens (the retry of the shard completes it)."""

    node_id: str
    marker: str | os.PathLike[str]
    seconds: float = 600.0

    def __call__(self, shard: int) -> None:
        import time

        import ray

        marker = Path(self.marker)
        if marker.exists() or ray.get_runtime_context().get_node_id() != self.node_id:
            return
        marker.write_text(str(shard))
        time.sleep(self.seconds)
