"""One code path for every way to run a config: ``litelong_hf.load``, ``litelong-hf generate``, the Space.

:func:`prepare` resolves the config and checks every input that can be checked before work starts
(cache writable, tokenizer, corpus and its columns, endpoints and their models, topics file); then
:func:`generate` runs the shards (``datasets``' own ``num_proc``, or Ray tasks with ``executor="ray"``)
and returns the rows with the merged report. A user error surfaces as the project's own exception, never
wrapped in ``datasets``' ``DatasetGenerationError``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from . import layout
from .config import BaseConfig, ConfigError
from .errors import user_error
from .pipeline import iter_transcripts, merged_report, require_rows, run_shard, shard_complete
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
        probe = layout.cache_root(path or None) / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"Cannot write to the cache directory {shown}: {exc.strerror}. Pass --cache-dir (cache_dir=...) "
            "pointing at a writable folder, or set LITELONG_HF_CACHE."
        ) from None


def preflight(config: BaseConfig) -> None:
    """Check what can be checked before generation: raise the project's own error for bad input."""
    from .corpus import open_store
    from .tokens import TokenCounter

    TokenCounter.get(config.tokenizer)
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

    kwargs = {k: v for k, v in overrides.items() if v is not None}
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
    """A finished run: its rows, its merged report and its LLM transcripts."""

    config: BaseConfig
    dataset: datasets.Dataset
    report: RunReport
    transcripts: list[dict[str, Any]] = field(default_factory=list)


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
        builder.download_and_prepare(num_proc=num_proc if num_proc and num_proc > 1 else None)
        # A dataset prepared earlier is reused by `datasets` as is; make sure every shard's report (the run's
        # provenance) exists too, re-making a missing one from the caches.
        for shard in range(builder.resolved.num_shards):
            if not shard_complete(builder.resolved, shard):
                run_shard(builder.resolved, shard)


def generate(
    config_name: str,
    *,
    executor: Executor = "local",
    num_proc: int | None = None,
    ray_address: str | None = None,
    cache_dir: str | None = None,
    **overrides: Any,
) -> Run:
    """Generate (or reuse) the rows of ``config_name``; raise ``NoRowsError`` naming why when none came."""
    builder = prepare(config_name, cache_dir=cache_dir, **overrides)
    run_shards(builder, executor=executor, num_proc=num_proc, ray_address=ray_address)
    report = merged_report(builder.resolved)
    require_rows(report)
    dataset = builder.as_dataset(split="train")
    return Run(builder.resolved, dataset, report, list(iter_transcripts(builder.resolved)))
