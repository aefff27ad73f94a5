"""Strategy bundles to rows, shard by shard, with checkpoints so a killed run resumes where it stopped.

A shard's rows are written to ``<cache>/shards/<config_hash>/shard-XXXXX-of-YYYYY.parquet`` (one row per
row group, so a 1M-token row never sits in memory twice) next to its report; the parquet file appears
atomically when the shard is complete, and a re-run reads it instead of recomputing. LLM answers inside
an unfinished shard are kept by the request cache, so no completed request is repeated either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from . import layout
from .config import BaseConfig
from .report import RunReport
from .rows import (
    INSTRUCTION_SCHEMA,
    PRETRAINING_SCHEMA,
    RowMaker,
    instruction_table,
    pretraining_table,
)
from .strategies import make_strategy, row_kind_of
from .strategies.base import Strategy
from .strategies.context import StrategyContext


def shard_rows(
    strategy: Strategy, shard: int, num_shards: int, report: RunReport, row_quota: int | None = None
) -> Iterator[dict[str, Any]]:
    """The rows of one shard, in order, at most ``row_quota``; what is not used is counted in ``report``."""
    maker = RowMaker(strategy.config, shard, report)
    if row_quota == 0:
        return
    # Closed explicitly: a strategy's `finally` (counters into the report, LLM shut down) runs as soon as
    # the shard has its rows, not whenever the generator happens to be collected.
    drafts = strategy.drafts(shard, num_shards, report)
    try:
        for draft in drafts:
            yield from maker.rows(draft, row_quota)
            if row_quota is not None and maker.made >= row_quota:
                return
    finally:
        close = getattr(drafts, "close", None)  # generators; a plain iterator has nothing to release
        if close is not None:
            close()


class NoRowsError(RuntimeError):
    """A run finished without a single row; the message lists why inputs were skipped and what to change."""


def require_rows(report: RunReport) -> None:
    """Raise :class:`NoRowsError` naming the skip reasons when ``report`` counts no rows."""
    if report.stats.get("rows", 0) > 0:
        return
    reasons = "; ".join(
        f"{kind}: {reason} ({n})"
        for kind, counts in sorted(report.skipped.items())
        for reason, n in counts.items()
    )
    raise NoRowsError(
        f"{report.config_name or 'the run'} produced no rows. Skipped: {reasons or 'nothing recorded'}. "
        "Use a larger corpus or more topics/categories, or a smaller target_tokens."
    )


def row_schema(config: BaseConfig) -> pa.Schema:
    """The Arrow schema of the rows of ``config`` (instruction rows for conversation strategies)."""
    return INSTRUCTION_SCHEMA if row_kind_of(config.strategy) == "instruction" else PRETRAINING_SCHEMA


def checkpoint_root(config: BaseConfig) -> str:
    """Where the shard checkpoints of ``config`` live: ``shards_dir`` (any fsspec path) or the cache."""
    name = f"{config.name or config.strategy}-{config.config_hash()}"
    if config.shards_dir:
        return f"{config.shards_dir.rstrip('/')}/{name}"
    return str(layout.checkpoint_dir(config.name or config.strategy, config.config_hash(), config.cache_dir))


def shard_quota(num_rows: int | None, num_shards: int, shard: int) -> int | None:
    """Rows shard ``shard`` may produce so that all shards together give exactly ``num_rows`` (pure)."""
    if num_rows is None:
        return None
    base, extra = divmod(num_rows, num_shards)
    return base + (1 if shard < extra else 0)


@dataclass(frozen=True)
class ShardFiles:
    """The files of one shard checkpoint; ``report`` is written last and marks the shard complete."""

    rows: str
    report: str
    transcripts: str


def shard_files(config: BaseConfig, shard: int) -> ShardFiles:
    quota = shard_quota(config.num_rows, config.num_shards, shard)
    suffix = "" if quota is None else f"-q{quota}"
    stem = f"{checkpoint_root(config)}/shard-{shard:05d}-of-{config.num_shards:05d}{suffix}"
    return ShardFiles(f"{stem}.parquet", f"{stem}.report.json", f"{stem}.transcripts.jsonl")


def shard_complete(config: BaseConfig, shard: int) -> bool:
    files = shard_files(config, shard)
    return layout.exists(files.report) and layout.exists(files.rows)


def iter_transcripts(config: BaseConfig) -> Iterator[dict[str, Any]]:
    """Every saved transcript of the completed shards of ``config``, in shard order."""
    for shard in range(config.num_shards):
        path = shard_files(config, shard).transcripts
        if layout.exists(path):
            yield from layout.read_jsonl(path)


def _read_tables(path: str) -> Iterator[pa.Table]:
    """One-row tables of a shard file, read row group by row group (local or fsspec)."""
    with fsspec.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        for group in range(parquet.num_row_groups):
            yield parquet.read_row_group(group)


def iter_shard(config: BaseConfig, shard: int) -> Iterator[pa.Table]:
    """The rows of shard ``shard`` as one-row tables, yielded as soon as each is made.

    A completed checkpoint is read back. Otherwise rows are generated, yielded and written to a local
    temporary parquet file; when the shard is done its parquet, transcripts and finally its report (the
    completion marker) are published atomically. A consumer that stops early leaves no checkpoint, and the
    LLM request cache keeps every answer already paid for.
    """
    files = shard_files(config, shard)
    if shard_complete(config, shard):
        yield from _read_tables(files.rows)
        return
    report = RunReport(config_name=config.name, config_hash=config.config_hash())
    quota = shard_quota(config.num_rows, config.num_shards, shard)
    # The strategy is handed its store, index and LLMs through the context, never opens them itself.
    strategy = make_strategy(config, StrategyContext(cache_dir=config.cache_dir))
    instruction = strategy.row_kind == "instruction"
    schema = INSTRUCTION_SCHEMA if instruction else PRETRAINING_SCHEMA
    to_table = instruction_table if instruction else pretraining_table
    try:
        with layout.atomic_path(files.rows) as tmp:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                if quota != 0:
                    for row in shard_rows(strategy, shard, config.num_shards, report, quota):
                        table = to_table(row)
                        writer.write_table(table, row_group_size=1)
                        yield table
            # The strategy's declared outputs: its transcripts, written beside the rows.
            transcripts = strategy.take_transcripts()
            if transcripts:
                layout.atomic_write_jsonl(files.transcripts, transcripts)
    finally:
        strategy.close()
    layout.atomic_write_json(files.report, report.to_dict())


def run_shard(config: BaseConfig, shard: int) -> tuple[str, RunReport]:
    """Make sure shard ``shard`` is complete (generating it if needed); return its parquet path and report."""
    for _ in iter_shard(config, shard):
        pass
    return shard_files(config, shard).rows, shard_report(config, shard)


def shard_report(config: BaseConfig, shard: int) -> RunReport:
    return RunReport.from_dict(json.loads(layout.read_text(shard_files(config, shard).report)))


def merged_report(config: BaseConfig) -> RunReport:
    """The reports of every completed shard of ``config``, added up."""
    total = RunReport(config_name=config.name, config_hash=config.config_hash())
    for shard in range(config.num_shards):
        if shard_complete(config, shard):
            total.merge(shard_report(config, shard))
        else:
            total.skip("shard", "not completed")
    total.extra.setdefault("config", json.loads(json.dumps(config.to_dict(), default=str)))
    # Shard reports carry their own summaries; the run's come from the added-up counters.
    total.extra.update(make_strategy(config).summarize(total))
    return total
