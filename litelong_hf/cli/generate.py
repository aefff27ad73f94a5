"""``litelong-hf generate CONFIG --out DIR``: rows of a preset, written as Arrow + parquet with a report."""

from __future__ import annotations

import inspect
import json
import os
import shutil
from pathlib import Path
from typing import Any

import typer
import yaml

from ..config import ConfigError, config_fields, preset_names, strategy_config_class
from ..corpus import CorpusError
from ..progress import console
from ..report import render_report
from .options import collect_overrides, config_option_parameters

MAX_CARD_DEBATES = 50
"""Subcategory debates summarized in report.json and the dataset card (all are in transcripts.jsonl)."""

# Options with their own explicit flag on the command.
_EXPLICIT = {"name", "strategy", "corpus", "endpoint", "num_rows", "cache_dir"}


def _union_config_classes() -> list[type]:
    seen: dict[str, type] = {}
    from ..config import load_preset

    for preset in preset_names():
        strategy = str(load_preset(preset).get("strategy", ""))
        seen.setdefault(strategy, strategy_config_class(strategy))
    return list(seen.values())


def _dynamic_parameters() -> list[inspect.Parameter]:
    params: dict[str, inspect.Parameter] = {}
    for cls in _union_config_classes():
        for p in config_option_parameters(cls, _EXPLICIT):
            params.setdefault(p.name, p)
    return list(params.values())


def write_outputs(
    dataset: Any, report: Any, config: Any, out: Path, overwrite: bool, transcripts: list[dict[str, Any]]
) -> None:
    """Write ``out/dataset`` (Arrow), ``out/parquet``, ``out/report.json``, ``out/config.yaml`` and, when
    the run asked an LLM, ``out/transcripts.jsonl``, atomically (a failed write leaves no ``out``)."""
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise typer.BadParameter(f"{out} exists and is not empty; pass --overwrite or choose another --out.")
    tmp = out.with_name(f".{out.name}.incomplete-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        dataset.save_to_disk(str(tmp / "dataset"), max_shard_size="500MB")
        (tmp / "parquet").mkdir()
        n_files = max(1, len(dataset) // 64 + (1 if len(dataset) % 64 else 0))
        for i in range(n_files):
            shard = dataset.shard(num_shards=n_files, index=i, contiguous=True)
            shard.to_parquet(str(tmp / "parquet" / f"train-{i:05d}-of-{n_files:05d}.parquet"), batch_size=4)
        if transcripts:
            with (tmp / "transcripts.jsonl").open("w", encoding="utf-8") as handle:
                for transcript in transcripts:
                    handle.write(json.dumps(transcript, ensure_ascii=False) + "\n")
        report.save(tmp / "report.json")
        safe = {k: v for k, v in config.to_dict().items() if "key" not in k.lower() or k == "api_key_env"}
        (tmp / "config.yaml").write_text(yaml.safe_dump(safe, sort_keys=False, allow_unicode=True))
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def generate(
    config_name: str,
    out: Path,
    corpus: str | None,
    endpoint: str | None,
    num_rows: int | None,
    num_proc: int | None,
    cache_dir: str | None,
    overwrite: bool,
    **raw: str | None,
) -> None:
    from ..builders import LongContextBuilder
    from ..pipeline import NoRowsError, iter_transcripts, merged_report, require_rows
    from ..strategies.debate import summarize_transcript

    try:
        if config_name not in preset_names():
            raise ConfigError(
                f"Unknown config {config_name!r}. Valid config names: {', '.join(preset_names())}."
            )
        from ..config import load_preset

        config_class = strategy_config_class(str(load_preset(config_name).get("strategy", "")))
        own = config_fields(config_class)
        foreign = sorted(k for k, v in raw.items() if v is not None and k not in own)
        if foreign:
            raise ConfigError(f"{config_name} has no field(s) {foreign}; see `litelong-hf generate --help`.")
        overrides = collect_overrides(config_class, raw)
        overrides.update(
            {
                k: v
                for k, v in {"corpus": corpus, "endpoint": endpoint, "num_rows": num_rows}.items()
                if v is not None
            }
        )
        if num_proc and num_proc > 1:
            overrides.setdefault("num_shards", num_proc)
        kwargs: dict[str, Any] = dict(overrides)
        if cache_dir:
            kwargs["cache_dir"] = cache_dir
        builder = LongContextBuilder(config_name=config_name, **kwargs)
        console.print(
            f"generating [bold]{config_name}[/bold] ({builder.resolved.strategy}, {builder.resolved.target_tokens:,}"
            f" tokens/row, corpus {builder.resolved.corpus!r}, config hash {builder.resolved.config_hash()})"
        )
        builder.download_and_prepare(num_proc=num_proc if num_proc and num_proc > 1 else None)
        report = merged_report(builder.resolved)
        require_rows(report)
        dataset = builder.as_dataset(split="train")
        transcripts = list(iter_transcripts(builder.resolved))
        if transcripts and builder.resolved.strategy.startswith("litelong"):
            # The card shows every subcategory's debate: what each debater proposed, kept, and rejected.
            report.extra["debates"] = [summarize_transcript(t) for t in transcripts[:MAX_CARD_DEBATES]]
            report.extra["debates_total"] = len(transcripts)
        write_outputs(dataset, report, builder.resolved, out, overwrite, transcripts)
    except (ConfigError, CorpusError, NoRowsError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(render_report(report))
    extra = ", transcripts.jsonl" if transcripts else ""
    console.print(
        f"wrote {len(dataset):,} rows to {out} (dataset/, parquet/, report.json, config.yaml{extra})"
    )


def _command(**kwargs: Any) -> None:
    generate(**kwargs)


def register(app: typer.Typer) -> None:
    explicit = [
        inspect.Parameter(
            "config_name",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=str,
            default=typer.Argument(..., help=f"Preset name: {', '.join(preset_names())}."),
        ),
        inspect.Parameter(
            "out",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Path,
            default=typer.Option(..., "--out", "-o", help="Output folder (dataset/, parquet/, report.json)."),
        ),
        inspect.Parameter(
            "corpus",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=str | None,
            default=typer.Option(
                None, help="'demo', a Hub dataset id, or local files; default: the preset's."
            ),
        ),
        inspect.Parameter(
            "endpoint",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=str | None,
            default=typer.Option(None, help="OpenAI-compatible/TGI endpoint URL; default: embedded SmolLM2."),
        ),
        inspect.Parameter(
            "num_rows",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=int | None,
            default=typer.Option(None, help="Stop after this many rows."),
        ),
        inspect.Parameter(
            "num_proc",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=int | None,
            default=typer.Option(None, help="Worker processes (also the default number of shards)."),
        ),
        inspect.Parameter(
            "cache_dir",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=str | None,
            default=typer.Option(None, help="Cache root for indexes, LLM answers and checkpoints."),
        ),
        inspect.Parameter(
            "overwrite",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=bool,
            default=typer.Option(False, help="Replace an existing --out folder."),
        ),
    ]
    _command.__signature__ = inspect.Signature(explicit + _dynamic_parameters())  # type: ignore[attr-defined]
    app.command(
        "generate",
        help="Generate the rows of a preset and write them with a run report. Any config field is a flag.",
    )(_command)
