"""Where a corpus is read and its indexes are built: worker processes on this machine, or Ray tasks.

:class:`BuildSettings` says how many workers and where; :func:`build_settings` sets them for a block;
:func:`run_parts` is the one place that maps a function over parts, with results in job order.
:mod:`litelong_hf.ingest` (reading a corpus's parts) and :mod:`litelong_hf.index` (building shards) use it;
``litelong_hf.ingest`` re-exports these names.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .corpus_sources import CorpusError

T = TypeVar("T")


@dataclass(frozen=True)
class BuildSettings:
    """How many workers read a corpus and build its indexes, and where they run."""

    num_proc: int | None = None
    """Worker processes (``None`` or 1: this process)."""
    executor: str = "local"
    """``local`` (forked processes on this machine) or ``ray`` (one Ray task per part)."""
    ray_address: str | None = None
    """Ray cluster to join with ``executor="ray"`` (``None``: a local one)."""


_SETTINGS: list[BuildSettings] = [BuildSettings()]


def current_settings() -> BuildSettings:
    """The build settings in force (the innermost :func:`build_settings` block's, else one process)."""
    return _SETTINGS[-1]


@contextlib.contextmanager
def build_settings(
    num_proc: int | None = None, executor: str = "local", ray_address: str | None = None
) -> Iterator[BuildSettings]:
    """Read corpora and build indexes inside the block with ``num_proc`` workers on ``executor`` (``ray``;
    anything else: this machine)."""
    if num_proc is not None and num_proc < 1:
        raise CorpusError(f"num_proc must be positive, got {num_proc}.")
    settings = BuildSettings(num_proc, executor, ray_address)
    _SETTINGS.append(settings)
    try:
        yield settings
    finally:
        _SETTINGS.remove(settings)


def resolve_settings(num_proc: int | None = None) -> BuildSettings:
    """The settings in force, with ``num_proc`` (when given) taking the place of theirs."""
    settings = current_settings()
    if num_proc is None:
        return settings
    return BuildSettings(num_proc, settings.executor, settings.ray_address)


def workers_for(settings: BuildSettings, n_parts: int) -> int:
    """How many workers to start for ``n_parts`` parts (pure): never more than the parts, 1 in a daemon.

    A worker process of a ``multiprocessing`` pool (a shard worker) cannot start processes of its own, so it
    reads and builds in itself.
    """
    if settings.executor == "ray":
        return max(1, n_parts)
    if multiprocessing.current_process().daemon:
        return 1
    return max(1, min(settings.num_proc or 1, n_parts))


_FORKED_JOBS: list[tuple[Callable[..., Any], Sequence[tuple[Any, ...]]]] = []
"""The jobs of the running :func:`run_parts`, inherited by its forked workers (never pickled: a job may
hold what only this process can read, such as a chunk pool's memory-mapped views)."""


def _call_forked(i: int) -> Any:
    func, jobs = _FORKED_JOBS[-1]
    return func(*jobs[i])


def run_parts(
    func: Callable[..., T],
    jobs: Sequence[tuple[Any, ...]],
    settings: BuildSettings,
    *,
    on_done: Callable[[int], None] | None = None,
) -> list[T]:
    """``[func(*args) for args in jobs]``, run by the workers of ``settings``; results in job order.

    ``func`` and its arguments must be picklable for Ray (module-level functions, plain data); forked
    processes inherit everything. ``on_done(i)`` is called in this process as job ``i`` finishes.
    """
    workers = workers_for(settings, len(jobs))
    results: list[Any] = [None] * len(jobs)
    if settings.executor == "ray" and jobs:
        from .executors import connect_ray  # fails fast on a bad address; a local cluster on 127.0.0.1

        connection = connect_ray(settings.ray_address, settings.num_proc)
        ray = connection.ray
        try:
            task = ray.remote(max_retries=3, retry_exceptions=False)(func)
            pending = {task.remote(*args): i for i, args in enumerate(jobs)}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    i = pending.pop(ref)
                    try:
                        results[i] = ray.get(ref)
                    except Exception as exc:
                        cause = getattr(exc, "cause", None)  # RayTaskError carries the original exception
                        if isinstance(cause, BaseException):
                            raise cause from None
                        raise
                    if on_done is not None:
                        on_done(i)
        finally:
            connection.close()  # stops the cluster only when this call started it
        return results
    if workers <= 1:
        for i, args in enumerate(jobs):
            results[i] = func(*args)
            if on_done is not None:
                on_done(i)
        return results
    _FORKED_JOBS.append((func, jobs))
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for i, result in enumerate(pool.imap(_call_forked, range(len(jobs)))):
                results[i] = result
                if on_done is not None:
                    on_done(i)
    finally:
        _FORKED_JOBS.pop()
    return results
