"""``litelong-hf export RUN_DIR --format mds|parquet|jsonl --out DIR``: shards for the trainers."""

# No `from __future__ import annotations`: `options.with_fields` copies this signature, and typer must see
# the Annotated arguments as objects, not as text.
from pathlib import Path
from typing import Annotated, Any

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
    **flags: Any,
) -> None:
    """Export a run's rows as MDS, parquet or JSONL shards: token ids, per-document spans, provenance.

    Pretraining rows carry `input_ids` and ProLong's `indices` (the (start, end) token span of every
    document); instruction rows carry the chat-rendered `input_ids` and a loss `mask` (1 on the answers).
    Nothing is half-written: the shards appear in --out only when the export is complete. Bad input is one
    line and exit status 2.
    """
    from litelong_hf.errors import cli_errors
    from litelong_hf.export import ExportOptions
    from litelong_hf.export import export as run_export

    from .options import given_values
    from .output import say

    with cli_errors():
        result = run_export(run_dir, out, ExportOptions(**given_values(ExportOptions, flags)))
    say(
        f"wrote {result.rows:,} {result.kind} rows ({result.tokens:,} tokens) as {result.format} to {result.out} "
        f"({len(result.shards)} files; columns: {', '.join(result.columns)})"
    )


def register(app: typer.Typer) -> None:
    """Add the ``export`` command to the ``litelong-hf`` app: its options are the fields of ``ExportOptions``."""
    from litelong_hf.errors import cli_command
    from litelong_hf.export import ExportOptions

    from .options import field_options, with_fields

    params = field_options(ExportOptions, aliases={"format": ("-f",)}, panel=None)
    app.command("export")(cli_command(with_fields(params, export)))
