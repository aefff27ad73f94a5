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

import ipaddress
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .config import BaseConfig, ConfigError
from .presets import config_from_dict
from .progress import stage

RAY_INSTALL_HINT = "pip install 'litelong-hf[ray]'"
MAX_RETRIES = 3
"""Times Ray re-runs a shard whose worker died (on top of the first try)."""
CONNECT_TIMEOUT_S = 15.0
"""The longest :func:`check_ray_address` waits for a cluster to answer before it gives up."""
LOOPBACK = "127.0.0.1"
RAY_FIX = (
    "start one with `ray start --head` and pass the address it prints, or leave out --ray-address to run "
    "a local cluster"
)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(f"executor='ray' needs Ray: {RAY_INSTALL_HINT}") from None
    return ray


# ------------------------------------------------------------------------------------------- connecting


def parse_ray_address(address: str) -> tuple[str, str, int]:
    """``(kind, host, port)`` of a Ray address: ``gcs`` for ``host:port``, ``client`` for ``ray://host:port``.

    Raises :class:`ConfigError` naming the expected form for anything else (pure)."""
    kind, rest = ("client", address[len("ray://") :]) if address.startswith("ray://") else ("gcs", address)
    host, sep, port = rest.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"Ray address {address!r} is not host:port (e.g. 10.0.0.5:6379), ray://host:port or 'auto'; "
            f"{RAY_FIX}."
        )
    return kind, host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine over loopback (``localhost``, ``127.x.x.x``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_ray_address(address: str) -> str:
    """``address`` itself, or for ``"auto"`` the cluster Ray finds (``RAY_ADDRESS``, then the last
    ``ray start`` on this machine); raises :class:`ConfigError` when there is none."""
    if address != "auto":
        return address
    from ray._private.services import get_ray_address_from_environment

    try:
        found = get_ray_address_from_environment("auto", None)
    except ConnectionError:
        found = None
    if not found or found == "auto":
        raise ConfigError(f"--ray-address auto found no running Ray cluster on this machine; {RAY_FIX}.")
    return str(found)


def _tcp_error(host: str, port: int, timeout: float) -> str | None:
    """Why a TCP connection to ``host:port`` fails (``connection refused``, ``timed out``), or None."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except TimeoutError:
        return f"no answer within {timeout:.0f} s"
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()


_GCS_PROBE = """
import sys
from ray._raylet import InnerGcsClient
InnerGcsClient.standalone(sys.argv[1], None, int(sys.argv[2])).internal_kv_get(b"probe", None, timeout=5)
"""
"""Asks the GCS at ``argv[1]`` for one key: fails unless a Ray cluster answers there."""


def _gcs_answers(address: str, timeout: float) -> bool:
    """Whether a Ray GCS answers at ``address`` (``host:port``), asked from a child process so that Ray's
    connection retries and their log lines stay out of this one; bounded by ``timeout``."""
    env = dict(os.environ, RAY_gcs_rpc_server_connect_timeout_s="2")
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _GCS_PROBE, address, str(int(timeout * 1000 / 3))],
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


_ANSWERED: set[str] = set()
"""Addresses a Ray cluster answered at in this process (checked once: ``generate`` before its ingest)."""


def check_ray_address(address: str, *, timeout: float = CONNECT_TIMEOUT_S) -> str:
    """The address to pass to ``ray.init`` once a Ray cluster answers at ``address``; else, within
    ``timeout`` seconds (about 5 for a closed port), a :class:`ConfigError` of one line naming the address
    and the fix, instead of Ray retrying the connection for minutes."""
    resolved = resolve_ray_address(address)
    if resolved in _ANSWERED:
        return resolved
    shown = address if resolved == address else f"{address} ({resolved})"
    kind, host, port = parse_ray_address(resolved)
    reason = _tcp_error(host, port, timeout=min(5.0, timeout))
    if reason is not None:
        raise ConfigError(f"Cannot reach a Ray cluster at {shown}: {reason}; {RAY_FIX}.")
    if kind == "gcs" and not _gcs_answers(resolved, timeout):
        raise ConfigError(
            f"{shown} answers but is not a Ray cluster (no Ray GCS there; `ray start --head` prints the right "
            f"address, port 6379 by default); {RAY_FIX}."
        )
    _ANSWERED.add(resolved)
    return resolved


@contextmanager
def loopback_node_ip(ray: Any) -> Iterator[None]:
    """Make Ray take 127.0.0.1 as this machine's address for the block.

    Ray turns ``127.0.0.1`` (in an address or ``_node_ip_address``) into the machine's interface address
    unless its cluster mode is off; a cluster on loopback is then reached over loopback."""
    constants = ray._private.ray_constants
    saved = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = saved


QUIET_INIT: dict[str, Any] = {
    "include_dashboard": False,
    "log_to_driver": False,  # workers' prints and logs stay in the session's log files
    "logging_level": logging.ERROR,  # no "Started a local Ray instance" or /dev/shm notes on our console
    "ignore_reinit_error": True,
}
"""``ray.init`` options of every connection: our own progress display is the only thing a run shows."""


class RayConnection:
    """A connection made by :func:`connect_ray`: ``with`` it to get the ``ray`` module and disconnect at the
    end of the block when this connection started it (``started``)."""

    def __init__(self, ray: Any, started: bool) -> None:
        self.ray, self.started = ray, started

    def __enter__(self) -> Any:
        return self.ray

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect (stopping a local cluster) if this connection made it; otherwise nothing."""
        if self.started:
            self.started = False
            self.ray.shutdown()


def connect_ray(address: str | None = None, num_cpus: int | None = None) -> RayConnection:
    """Connect to Ray now; use as ``with connect_ray(address, n) as ray: ...`` (disconnects after the block).

    ``address``: an existing cluster (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``), checked first
    (:func:`check_ray_address`: a bad one fails in seconds with one line naming it and the fix); ``None``
    (and no ``RAY_ADDRESS``): a local cluster of ``num_cpus`` CPUs (default: all) on 127.0.0.1, stopped
    when the connection closes. Already connected (``ray.init`` called by the caller): that connection,
    never closed here. Only our own progress display reaches the console (:data:`QUIET_INIT`).
    """
    ray = _import_ray()
    if ray.is_initialized():
        return RayConnection(ray, started=False)
    address = address or os.environ.get("RAY_ADDRESS") or None
    kwargs = dict(QUIET_INIT)
    if address:
        kwargs["address"] = check_ray_address(address)
        loopback = is_loopback(parse_ray_address(kwargs["address"])[1])
    else:
        kwargs.update(address="local", _node_ip_address=LOOPBACK)
        if num_cpus:
            kwargs["num_cpus"] = num_cpus
        loopback = True
    try:
        if loopback:
            with loopback_node_ip(ray):
                ray.init(**kwargs)
        else:
            ray.init(**kwargs)
    except ValueError as exc:  # e.g. ray:// without the client extra
        raise ConfigError(f"Cannot connect to Ray at {address or 'a local cluster'}: {exc}") from None
    except ConnectionError as exc:
        raise ConfigError(f"Cannot connect to Ray at {address}: {exc}; {RAY_FIX}.") from None
    return RayConnection(ray, started=True)


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


def ray_note(shards_done: int, shards: int, tokens: int, seconds: float) -> str:
    """``3/8 shards, 38.2k tokens/s``: the note after the row count of the Ray stage (pure)."""
    rate = tokens / seconds if seconds > 0 else 0.0
    shown = f"{rate / 1000:,.1f}k" if rate >= 1000 else f"{rate:,.0f}"
    return f"{shards_done}/{shards} shards, {shown} tokens/s"


def run_on_ray(config: BaseConfig, *, address: str | None = None, num_cpus: int | None = None) -> list[int]:
    """Complete every unfinished shard of ``config`` as Ray tasks; returns the shards that were run.

    ``address``: an existing cluster (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``); ``None`` starts a
    local one with ``num_cpus`` CPUs (default: all); see :func:`connect_ray`. A cluster's workers must reach
    ``config.shards_dir`` (or the cache). One stage of the progress display (``rows on Ray``) counts the rows
    of the finished shards, with the shards done and the tokens per second; Ray's logs stay off the console.
    """
    from .pipeline import shard_complete, shard_quota

    todo = [shard for shard in range(config.num_shards) if not shard_complete(config, shard)]
    if not todo:
        return []
    with connect_ray(address, num_cpus) as ray:
        task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_shard_task)
        data = config.to_dict()
        hooks = tuple(_ROW_HOOKS)
        quotas = [shard_quota(config.num_rows, config.num_shards, shard) for shard in todo]
        total = None if None in quotas else sum(q or 0 for q in quotas)
        started, rows, tokens, finished = time.monotonic(), 0, 0, 0
        try:
            pending = {task.remote(data, shard, hooks): shard for shard in todo}
            with stage("rows on Ray", total, unit="rows") as bar:
                bar.set_completed(0, note=ray_note(0, len(todo), 0, 0.0))
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        pending.pop(ref)
                        # re-raises a task's error (the project's own, unwrapped below)
                        stats = ray.get(ref).get("stats", {})
                        rows += int(stats.get("rows", 0))
                        tokens += int(stats.get("tokens", 0))
                        finished += 1
                        seconds = time.monotonic() - started
                        bar.set_completed(rows, note=ray_note(finished, len(todo), tokens, seconds))
        except Exception as exc:
            cause = getattr(exc, "cause", None)  # RayTaskError carries the original exception
            if isinstance(cause, BaseException):
                raise cause from None
            raise
    return todo
