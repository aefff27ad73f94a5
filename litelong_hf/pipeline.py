"""Strategy bundles to rows, shard by shard, with checkpoints so a killed run resumes where it stopped.

A shard's rows are written to ``<cache>/shards/<config_hash>/shard-XXXXX-of-YYYYY.parquet`` (one row per
row group, so a 1M-token row never sits in memory twice) next to its report; the parquet file appears
atomically when the shard is complete, and a re-run reads it instead of recomputing. LLM answers inside
an unfinished shard are kept by the request cache, so no completed request is repeated either.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .config import BaseConfig
from .packing import RowPacker, summarize_leftovers
from .report import RunReport
from .resources import cache_root
from .rows import (
    INSTRUCTION_SCHEMA,
    PRETRAINING_SCHEMA,
    instruction_table,
    pretraining_row,
    pretraining_table,
    row_id,
)
from .strategies import make_strategy
from .strategies.base import Strategy
from .tokens import TokenCache, TokenCounter


def shard_rows(
    strategy: Strategy, shard: int, num_shards: int, report: RunReport, row_quota: int | None = None
) -> Iterator[dict[str, Any]]:
    """Pretraining rows of one shard, in order; everything not used is counted in ``report``."""
    config = strategy.config
    counter = TokenCounter.get(config.tokenizer)
    cache = TokenCache(counter)  # documents shared by several bundles are tokenized once per shard
    chash = config.config_hash()
    made_in_shard = 0
    for bundle in strategy.bundles(shard, num_shards, report):
        target = bundle.target_tokens or config.target_tokens
        packer = RowPacker(counter, config.packing_config(target), cache=cache)
        leftovers: list[Any] = []
        made = 0
        for packed in packer.pack(bundle.pieces, leftovers):
            yield pretraining_row(
                packed,
                id=row_id(chash, shard, made_in_shard),
                tokenizer=config.tokenizer,
                strategy=config.strategy,
                config_hash=chash,
                topic=bundle.topic,
            )
            made += 1
            made_in_shard += 1
            report.count("rows")
            report.count("tokens", packed.n_tokens)
            report.count(f"rows_{target}_tokens")
            report.count("tokens_cut_from_last_piece", packed.cut_tokens)
            if (bundle.max_rows is not None and made >= bundle.max_rows) or (
                row_quota is not None and made_in_shard >= row_quota
            ):
                break
        if made == 0:
            report.skip(bundle.kind, f"not enough text to fill one {target}-token row")
        else:
            report.count(f"{bundle.kind}s_with_rows")
        for reason, n in summarize_leftovers(leftovers).items():
            report.skip("piece", reason, n)
        if row_quota is not None and made_in_shard >= row_quota:
            return


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
    """The Arrow schema of the rows of ``config`` (instruction rows for hierarchical QA)."""
    return INSTRUCTION_SCHEMA if config.strategy == "hierarchical" else PRETRAINING_SCHEMA


def checkpoint_dir(config: BaseConfig) -> Path:
    root = Path(config.cache_dir) if config.cache_dir else cache_root()
    return root / "shards" / f"{config.name or config.strategy}-{config.config_hash()}"


def shard_quota(num_rows: int | None, num_shards: int, shard: int) -> int | None:
    """Rows shard ``shard`` may produce so that all shards together give exactly ``num_rows`` (pure)."""
    if num_rows is None:
        return None
    base, extra = divmod(num_rows, num_shards)
    return base + (1 if shard < extra else 0)


def shard_path(config: BaseConfig, shard: int) -> Path:
    quota = shard_quota(config.num_rows, config.num_shards, shard)
    suffix = "" if quota is None else f"-q{quota}"
    return checkpoint_dir(config) / f"shard-{shard:05d}-of-{config.num_shards:05d}{suffix}.parquet"


def transcript_path(config: BaseConfig, shard: int) -> Path:
    """JSONL of the LLM transcripts (e.g. LiteLong debates) of one shard."""
    return shard_path(config, shard).with_suffix(".transcripts.jsonl")


def iter_transcripts(config: BaseConfig) -> Iterator[dict[str, Any]]:
    """Every saved transcript of the completed shards of ``config``, in shard order."""
    for shard in range(config.num_shards):
        path = transcript_path(config, shard)
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    yield json.loads(line)


def run_shard(config: BaseConfig, shard: int) -> tuple[Path, RunReport]:
    """Make sure shard ``shard`` is complete on disk; return its parquet file and report.

    A completed shard is reused as is. Otherwise its rows are generated into a temporary file that is
    renamed into place only at the end, together with the shard's report.
    """
    path = shard_path(config, shard)
    report_path = path.with_suffix(".report.json")
    if path.is_file() and report_path.is_file():
        return path, RunReport.load(report_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = RunReport(config_name=config.name, config_hash=config.config_hash())
    quota = shard_quota(config.num_rows, config.num_shards, shard)
    if quota == 0:
        report.save(report_path)
        pq.write_table(row_schema(config).empty_table(), path)
        return path, report
    strategy = make_strategy(config)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    instruction = getattr(strategy, "row_kind", "pretraining") == "instruction"
    schema = INSTRUCTION_SCHEMA if instruction else PRETRAINING_SCHEMA
    to_table = instruction_table if instruction else pretraining_table
    rows = (
        strategy.instruction_rows(shard, config.num_shards, report, quota)
        if instruction
        else shard_rows(strategy, shard, config.num_shards, report, quota)
    )
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for row in rows:
                writer.write_table(to_table(row), row_group_size=1)
        transcripts = report.extra.pop("transcripts", None)
        if transcripts is not None:
            lines = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in transcripts)
            transcript_path(config, shard).write_text(lines, encoding="utf-8")
        report.save(report_path.with_name(f".{report_path.name}.tmp"))
        os.replace(tmp, path)
        os.replace(report_path.with_name(f".{report_path.name}.tmp"), report_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path, report


def iter_shard_tables(path: Path) -> Iterator[pa.Table]:
    """One-row tables of a shard file, read row group by row group."""
    parquet = pq.ParquetFile(path)
    for group in range(parquet.num_row_groups):
        yield parquet.read_row_group(group)


def merged_report(config: BaseConfig) -> RunReport:
    """The reports of every completed shard of ``config``, added up."""
    total = RunReport(config_name=config.name, config_hash=config.config_hash())
    for shard in range(config.num_shards):
        report_path = shard_path(config, shard).with_suffix(".report.json")
        if report_path.is_file():
            total.merge(RunReport.load(report_path))
        else:
            total.skip("shard", "not completed")
    total.extra.setdefault("config", json.loads(json.dumps(config.to_dict(), default=str)))
    if "hardness" in total.extra:
        # Shard reports carry their own summary; the run's comes from the added-up counters.
        from .strategies.nextlong import hardness_summary

        total.extra["hardness"] = hardness_summary(total.stats)
    if "cost" in total.extra:
        from .strategies.hierarchical import cost_summary

        total.extra["cost"] = cost_summary(total.stats, total.llm)
    return total
