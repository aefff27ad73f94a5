"""``litelong-hf generate CONFIG --out DIR``: rows of a preset, written as Arrow + parquet with a report."""

from __future__ import annotations

import inspect
import os
import shutil
from pathlib import Path
from typing import Any

import typer
import yaml

from .. import layout
from ..config import ConfigError
from ..errors import cli_errors
from ..layout import RunDir
from ..presets import config_fields, load_preset, preset_names
from ..progress import console
from ..report import render_report
from ..run import Run
from ..secrets import known_secrets, redact
from ..strategies import strategy_config_class
from .options import collect_overrides, config_option_parameters

MAX_CARD_DEBATES = 50
"""Subcategory debates summarized in report.json and the dataset card (all are in transcripts.jsonl)."""

# Options with their own explicit flag on the command.
_EXPLICIT = {"name", "strategy", "corpus", "endpoint", "num_rows", "cache_dir"}


def _union_config_classes() -> list[type]:
    seen: dict[str, type] = {}
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


def write_outputs(run: Run, out: Path, overwrite: bool) -> None:
    """Write the run directory (:class:`~litelong_hf.layout.RunDir`: dataset/, parquet/, report.json,
    config.yaml and, when the run asked an LLM, transcripts.jsonl) atomically: a failed write leaves no
    ``out``, and keys never reach it."""
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{out} exists and is not empty; pass --overwrite or choose another --out.")
    tmp = RunDir(out.with_name(f".{out.name}.incomplete-{os.getpid()}"))
    if tmp.root.exists():
        shutil.rmtree(tmp.root)
    try:
        tmp.root.mkdir(parents=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create {out}: {exc.strerror}; choose a writable --out.") from None
    try:
        dataset = run.dataset
        dataset.save_to_disk(str(tmp.dataset), max_shard_size="500MB")
        tmp.parquet.mkdir()
        n_files = max(1, -(-len(dataset) // 64))
        for i in range(n_files):
            shard = dataset.shard(num_shards=n_files, index=i, contiguous=True)
            shard.to_parquet(str(tmp.parquet / f"train-{i:05d}-of-{n_files:05d}.parquet"), batch_size=4)
        if run.transcripts:
            layout.atomic_write_jsonl(tmp.transcripts, run.transcripts)
        secrets = known_secrets()
        layout.atomic_write_json(tmp.report, redact(run.report.to_dict(), secrets))
        config = redact(run.config.to_dict(), secrets)
        layout.atomic_write_text(tmp.config, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp.root, out)
    finally:
        if tmp.root.exists():
            shutil.rmtree(tmp.root, ignore_errors=True)


def generate(
    config_name: str,
    out: Path,
    corpus: str | None,
    endpoint: str | None,
    num_rows: int | None,
    num_proc: int | None,
    executor: str,
    ray_address: str | None,
    cache_dir: str | None,
    overwrite: bool,
    **raw: Any,
) -> None:
    """The command: the same code path as :func:`litelong_hf.load` (``litelong_hf.run.generate``)."""
    from ..run import generate as run_generate

    if config_name not in preset_names():
        raise ConfigError(f"Unknown config {config_name!r}. Valid config names: {', '.join(preset_names())}.")
    config_class = strategy_config_class(str(load_preset(config_name).get("strategy", "")))
    own = config_fields(config_class)
    foreign = sorted(k for k, v in raw.items() if v is not None and k not in own)
    if foreign:
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in foreign)
        raise ConfigError(f"{config_name} has no field(s) {flags}; see `litelong-hf generate --help`.")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{out} exists and is not empty; pass --overwrite or choose another --out.")
    overrides = collect_overrides(config_class, raw)
    console.print(f"generating [bold]{config_name}[/bold] (executor {executor})")
    run = run_generate(
        config_name,
        executor=executor,  # type: ignore[arg-type]
        num_proc=num_proc,
        ray_address=ray_address,
        cache_dir=cache_dir,
        corpus=corpus,
        endpoint=endpoint,
        num_rows=num_rows,
        **overrides,
    )
    if run.transcripts and run.config.strategy.startswith("litelong"):
        from ..strategies.debate import summarize_transcript

        # The card shows every subcategory's debate: what each debater proposed, kept, and rejected.
        run.report.extra["debates"] = [summarize_transcript(t) for t in run.transcripts[:MAX_CARD_DEBATES]]
        run.report.extra["debates_total"] = len(run.transcripts)
    write_outputs(run, out, overwrite)
    console.print(render_report(run.report))
    extra = ", transcripts.jsonl" if run.transcripts else ""
    console.print(
        f"wrote {len(run.dataset):,} rows of {run.config.target_tokens:,} tokens to {out} "
        f"(dataset/, parquet/, report.json, config.yaml{extra}; config hash {run.config.config_hash()})"
    )


def _command(**kwargs: Any) -> None:
    with cli_errors():
        generate(**kwargs)


# The command's own options (name, type, default, help); every config field is added after them.
_OWN_OPTIONS: list[tuple[str, Any, Any, str]] = [
    ("corpus", str | None, None, "'demo', a Hub dataset id, or local files; default: the preset's."),
    ("endpoint", str | None, None, "OpenAI-compatible/TGI endpoint URL; default: embedded SmolLM2."),
    ("num_rows", int | None, None, "Stop after this many rows."),
    ("num_proc", int | None, None, "Processes running shards at once (rows never depend on it)."),
    ("executor", str, "local", "'local' (num_proc processes) or 'ray' (shards as Ray tasks; docs/scale.md)."),
    ("ray_address", str | None, None, "Ray cluster to join with --executor ray (default: a local one)."),
    ("cache_dir", str | None, None, "Cache root for indexes, LLM answers and checkpoints."),
    ("overwrite", bool, False, "Replace an existing --out folder."),
]


def register(app: typer.Typer) -> None:
    keyword = inspect.Parameter.KEYWORD_ONLY
    explicit = [
        inspect.Parameter(
            "config_name",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=str,
            default=typer.Argument(..., help=f"Preset name: {', '.join(preset_names())}."),
        ),
        inspect.Parameter(
            "out",
            keyword,
            annotation=Path,
            default=typer.Option(..., "--out", "-o", help="Output folder (dataset/, parquet/, report.json)."),
        ),
        *(
            inspect.Parameter(name, keyword, annotation=kind, default=typer.Option(default, help=text))
            for name, kind, default, text in _OWN_OPTIONS
        ),
    ]
    _command.__signature__ = inspect.Signature(explicit + _dynamic_parameters())  # type: ignore[attr-defined]
    app.command(
        "generate",
        help="Generate the rows of a preset and write them with a run report. Any config field is a flag.",
    )(_command)
