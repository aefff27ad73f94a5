"""``litelong-hf export RUN_DIR --format mds|parquet|jsonl --out DIR``: shards for the trainers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export(
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR",
            help="Output of `litelong-hf generate --out DIR` (or a Dataset.save_to_disk folder).",
            show_default=False,
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Folder to create: a local path or any fsspec URL (s3://...).",
            show_default=False,
        ),
    ],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="mds (mosaicml-streaming's MDSWriter: what ProLong trains on), parquet or jsonl.",
        ),
    ] = "mds",
    size_limit: Annotated[
        str, typer.Option("--size-limit", help="Largest shard before the next starts, e.g. 64MB or 1GiB.")
    ] = "64MB",
    compression: Annotated[
        str | None,
        typer.Option(
            "--compression",
            help="mds: zstd, zstd:N, gz, br, bz2, snappy...; parquet: snappy (default), zstd, gzip, brotli, "
            "lz4; jsonl: gzip. Default: none (parquet: snappy).",
            show_default=False,
        ),
    ] = None,
    text: Annotated[
        bool,
        typer.Option(
            "--text/--no-text",
            help="Also write each row's text (instruction rows: the rendered conversation and messages).",
        ),
    ] = False,
    chat_template: Annotated[
        str | None,
        typer.Option(
            "--chat-template",
            help="Instruction rows: chat template to render ('auto', 'llama-3', a Jinja file); default: the "
            "run's.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite/--no-overwrite", help="Replace an --out folder that holds files.")
    ] = False,
) -> None:
    """Export a run's rows as MDS, parquet or JSONL shards: token ids, per-document spans, provenance.

    Pretraining rows carry `input_ids` and ProLong's `indices` (the (start, end) token span of every
    document); instruction rows carry the chat-rendered `input_ids` and a loss `mask` (1 on the answers).
    Nothing is half-written: the shards appear in --out only when the export is complete. Bad input is one
    line and exit status 2.
    """
    from rich.console import Console

    from litelong_hf.errors import cli_errors
    from litelong_hf.export import export as run_export

    console = Console(stderr=True)
    with cli_errors():
        result = run_export(
            run_dir,
            out,
            format=format,
            size_limit=size_limit,
            compression=compression,
            text=text,
            chat_template=chat_template,
            overwrite=overwrite,
        )
    console.print(
        f"wrote {result.rows:,} {result.kind} rows ({result.tokens:,} tokens) as {result.format} to {result.out} "
        f"({len(result.shards)} files; columns: {', '.join(result.columns)})",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add the ``export`` command to the ``litelong-hf`` app."""
    from litelong_hf.errors import cli_command

    app.command("export")(cli_command(export))
