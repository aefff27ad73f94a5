"""Run the shards of a config on many machines, as tasks of an existing engine (Ray), never a home-made
scheduler.

Each shard is one Ray task that writes its parquet and its completion marker (the shard report) to the
checkpoint root (``shards_dir``: any fsspec path every worker can reach, ``s3://...`` on a cluster; the
local cache on one machine) through :mod:`litelong_hf.layout`. The driver only waits and merges reports.
A worker that dies mid-shard leaves no marker: Ray retries the task, and a re-run skips every shard that
has one. Rows are the same whichever worker made them: a shard's rows depend on the config and the shard
index only.

Example::

    litelong_hf.load("nextlong-64k", executor="ray", ray_address="auto")      # an existing cluster
    litelong-hf generate nextlong-64k --executor ray --out out/               # a local cluster
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .config import BaseConfig, ConfigError
from .presets import config_from_dict
from .progress import progress_bar

RAY_INSTALL_HINT = "pip install 'litelong-hf[ray]'"
MAX_RETRIES = 3
"""Times Ray re-runs a shard whose worker died (on top of the first try)."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(f"executor='ray' needs Ray: {RAY_INSTALL_HINT}") from None
    return ray


RowHook = Callable[[int], None]
"""Called inside the worker with the shard index after each row the shard makes."""

_ROW_HOOKS: list[RowHook] = []


@contextmanager
def row_hook(hook: RowHook) -> Iterator[None]:
    """Ship ``hook`` with every shard task started inside the block (pickled to the workers).

    For test support only (fault injection: :mod:`litelong_hf.testing.faults`); a run installs none."""
    _ROW_HOOKS.append(hook)
    try:
        yield
    finally:
        _ROW_HOOKS.remove(hook)


def _shard_task(config_data: dict[str, Any], shard: int, hooks: Sequence[RowHook] = ()) -> dict[str, Any]:
    """One shard, run inside a Ray worker: complete it on disk and return its report."""
    from .pipeline import iter_shard, shard_report

    config = config_from_dict(config_data)
    for _ in iter_shard(config, shard):
        for hook in hooks:
            hook(shard)
    return shard_report(config, shard).to_dict()


def run_on_ray(config: BaseConfig, *, address: str | None = None, num_cpus: int | None = None) -> list[int]:
    """Complete every unfinished shard of ``config`` as Ray tasks; returns the shards that were run.

    ``address``: an existing cluster (``"auto"``, ``"ray://host:10001"``); ``None`` starts a local one with
    ``num_cpus`` CPUs (default: all). A cluster's workers must reach ``config.shards_dir`` (or the cache).
    """
    from .pipeline import shard_complete

    ray = _import_ray()
    todo = [shard for shard in range(config.num_shards) if not shard_complete(config, shard)]
    if not todo:
        return []
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "ignore_reinit_error": True,
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        if address:
            kwargs["address"] = address
        elif num_cpus:
            kwargs["num_cpus"] = num_cpus
        ray.init(**kwargs)
        started = True
    try:
        task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_shard_task)
        data = config.to_dict()
        hooks = tuple(_ROW_HOOKS)
        pending = {task.remote(data, shard, hooks): shard for shard in todo}
        with progress_bar(f"Shards of {config.name} on Ray", total=len(todo), unit="shards") as advance:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    pending.pop(ref)
                    ray.get(ref)  # re-raises a task's error (the project's own, unwrapped by the caller)
                    advance(1)
    except Exception as exc:
        cause = getattr(exc, "cause", None)  # RayTaskError carries the original exception
        if isinstance(cause, BaseException):
            raise cause from None
        raise
    finally:
        if started:
            ray.shutdown()
    return todo
