"""One code path for every way to run a config: ``litelong_hf.load``, ``litelong-hf generate``, the Space.

:func:`prepare` resolves the config and checks every input that can be checked before work starts
(cache writable, tokenizer, corpus and its columns, endpoints and their models, topics file); then
:func:`generate` runs the shards (``num_proc`` local processes, or Ray tasks with ``executor="ray"``)
and returns the rows with the merged report. The rows are written once, as the shard parquet files
(:mod:`litelong_hf.rowstore`); no ``datasets`` Arrow cache is made. A user error surfaces as the
project's own exception, never wrapped in ``datasets``' ``DatasetGenerationError``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from . import layout
from .config import BaseConfig, ConfigError, given
from .errors import user_error
from .pipeline import (
    iter_shard,
    iter_transcripts,
    merged_report,
    require_rows,
    run_shard,
    shard_complete,
    shard_files,
    shard_report,
)
from .progress import NO_PROGRESS_ENV, quiet_libraries, stage
from .report import RunReport

if TYPE_CHECKING:
    import datasets

    from .builders import LongContextBuilder

Executor = Literal["local", "ray"]
EXECUTORS = ("local", "ray")


@contextlib.contextmanager
def surface_user_errors() -> Iterator[None]:
    """Re-raise the project's own exception found inside ``datasets``' wrappers, as itself."""
    try:
        yield
    except Exception as exc:
        found = user_error(exc)
        if found is None or found is exc:
            raise
        raise found from None


def _check_writable(path: str) -> None:
    """Raise ``ConfigError`` unless the cache root (``path`` or the default) can be created and written."""
    shown = path or os.environ.get(layout.CACHE_ENV) or "~/.cache/litelong_hf"
    try:
        layout.check_writable(layout.cache_root(path or None))
    except OSError as exc:
        raise ConfigError(
            f"Cannot write to the cache directory {shown}: {exc.strerror}. Pass --cache-dir (cache_dir=...) "
            "pointing at a writable folder, or set LITELONG_HF_CACHE."
        ) from None


def preflight(config: BaseConfig) -> None:
    """Check what can be checked before generation: raise the project's own error for bad input."""
    from .corpus import open_store
    from .tokens import TokenCounter

    TokenCounter.get(config.tokenizer, cache_dir=config.cache_dir)
    open_store(config.corpus_config(), cache_dir=config.cache_dir)
    if config.llm_roles():
        from .llm import check_endpoint

        check_endpoint(config.roles_config(), needed=config.llm_roles())


def prepare(
    config_name: str,
    *,
    cache_dir: str | None = None,
    check: bool = True,
    **overrides: Any,
) -> LongContextBuilder:
    """The builder of preset ``config_name`` with ``overrides``, its inputs checked (``check=True``)."""
    from .builders import LongContextBuilder

    kwargs = given(overrides)
    if cache_dir is not None:
        kwargs["cache_dir"] = cache_dir
    _check_writable(cache_dir or "")
    with surface_user_errors():
        builder = LongContextBuilder(config_name=config_name, **kwargs)
        if check:
            preflight(builder.resolved)
    return builder


@dataclass
class Run:
    """A finished run: its rows, its merged report, its LLM transcripts and the shard files holding the rows.

    ``dataset`` reads ``shard_files`` (the one copy of the rows on disk, see :mod:`litelong_hf.rowstore`).
    """

    config: BaseConfig
    dataset: datasets.Dataset
    report: RunReport
    transcripts: list[dict[str, Any]] = field(default_factory=list)
    shard_files: list[str] = field(default_factory=list)


def _shard_in_worker(config_data: dict[str, Any], shard: int) -> int:
    """One shard in a worker process of :func:`complete_shards`; returns its row count."""
    from .presets import config_from_dict

    # The parent's display shows the shards; a worker's own bars would tear it.
    os.environ[NO_PROGRESS_ENV] = "1"
    _, report = run_shard(config_from_dict(config_data), shard)
    return int(report.stats.get("rows", 0))


def complete_shards(config: BaseConfig, *, num_proc: int | None = None) -> None:
    """Make every shard of ``config`` complete on disk, ``num_proc`` at a time (the ``rows`` stage).

    Finished shards are reused; rows never depend on ``num_proc``. Nothing but the shard files is written.
    """
    todo = [shard for shard in range(config.num_shards) if not shard_complete(config, shard)]
    made = sum(
        int(shard_report(config, s).stats.get("rows", 0)) for s in range(config.num_shards) if s not in todo
    )
    workers = min(num_proc or 1, len(todo))
    if workers > 1:
        import multiprocessing

        # Workers start before the display does: no display thread is forked with them.
        with (
            multiprocessing.get_context("fork").Pool(workers) as pool,
            stage("rows", config.num_rows, unit="rows") as bar,
        ):
            bar.advance(made)
            for rows in pool.imap_unordered(partial(_shard_in_worker, config.to_dict()), todo):
                bar.advance(rows)
        return
    with stage("rows", config.num_rows, unit="rows") as bar:
        bar.advance(made)
        for shard in todo:
            for _ in iter_shard(config, shard):
                bar.advance(1)


def run_shards(
    builder: LongContextBuilder,
    *,
    executor: Executor = "local",
    num_proc: int | None = None,
    ray_address: str | None = None,
) -> None:
    """Make every shard of ``builder``'s config complete on disk with the chosen executor."""
    if executor not in EXECUTORS:
        raise ConfigError(f"Unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}.")
    with surface_user_errors():
        if executor == "ray":
            from .executors import run_on_ray

            run_on_ray(builder.resolved, address=ray_address, num_cpus=num_proc)
            return  # every shard is complete: no second, empty rows stage
        complete_shards(builder.resolved, num_proc=num_proc)


def generate(
    config_name: str,
    *,
    executor: Executor = "local",
    num_proc: int | None = None,
    ray_address: str | None = None,
    cache_dir: str | None = None,
    **overrides: Any,
) -> Run:
    """Generate (or reuse) the rows of ``config_name``; raise ``NoRowsError`` naming why when none came.

    The rows are written once, as the shard parquet files; the returned dataset reads them.
    """
    from .ingest import build_settings

    if executor == "ray" and ray_address:
        from .executors import check_ray_address

        check_ray_address(ray_address)  # a wrong address fails in seconds, before any ingest
    if num_proc is not None:
        overrides["num_proc"] = num_proc  # the config field: the corpus is read with as many processes
    with quiet_libraries(), build_settings(num_proc, executor, ray_address):  # index builds: the same
        builder = prepare(config_name, cache_dir=cache_dir, **overrides)
        num_proc = builder.resolved.num_proc
        with build_settings(num_proc, executor, ray_address):
            run_shards(builder, executor=executor, num_proc=num_proc, ray_address=ray_address)
        report = merged_report(builder.resolved)
        require_rows(report)
        dataset = builder.as_dataset(split="train")
    config = builder.resolved
    files = [shard_files(config, shard).rows for shard in range(config.num_shards)]
    return Run(config, dataset, report, list(iter_transcripts(config)), files)
