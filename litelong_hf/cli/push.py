"""``litelong-hf push DIR REPO --config NAME``: publish a generation output folder to the Hub."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def push(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            help="Output of `litelong-hf generate --out DIR` (DIR/dataset, DIR/report.json, DIR/config.yaml) "
            "or a folder written by datasets' save_to_disk.",
            show_default=False,
        ),
    ],
    repo: Annotated[
        str, typer.Argument(metavar="REPO", help="Dataset repo id, 'namespace/name'.", show_default=False)
    ],
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help="Config name, e.g. litelong-128k (default: the run report's config_name).",
            show_default=False,
        ),
    ] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repo private.")] = False,
    revision: Annotated[
        str | None, typer.Option("--revision", help="Branch to push to (default: main).", show_default=False)
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Commit message.", show_default=False)
    ] = None,
    max_shard_size: Annotated[
        str, typer.Option("--max-shard-size", help="Largest parquet shard (Arrow size), e.g. 100MB.")
    ] = "100MB",
    row_group_size: Annotated[
        int | None,
        typer.Option(
            "--row-group-size",
            min=1,
            help="Rows per parquet row group (default: 1-8, ~32 MB).",
            show_default=False,
        ),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint", help="Hub URL (default: $HF_ENDPOINT or huggingface.co).", show_default=False
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Hub token with write access. Prefer HF_TOKEN or `hf auth login`: a token on the command "
            "line ends up in the shell history.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Push generated rows to the Hugging Face Hub as parquet shards plus a dataset card.

    Resumable: if the push fails, run the same command again; shards already uploaded are not sent twice,
    and nothing becomes visible until the final commit.
    """
    from rich.console import Console
    from rich.markup import escape

    from litelong_hf.hub import PushError, load_run_dir, push_to_hub

    console = Console(stderr=True)
    try:
        run = load_run_dir(directory)
        config_name = config or (run.report.config_name if run.report is not None else "") or None
        if config_name is None:
            raise PushError(
                f"No config name: pass --config NAME (e.g. --config litelong-128k); {directory} has no "
                "report.json naming one."
            )
        console.print(f"Pushing {config_name} from {directory} to {repo}", highlight=False)
        result = push_to_hub(
            run.dataset,
            repo,
            config_name=config_name,
            private=private,
            token=token,
            report=run.report,
            revision=revision,
            commit_message=message,
            max_shard_size=max_shard_size,
            row_group_size=row_group_size,
            endpoint=endpoint,
            progress=lambda line: console.print(escape(line), highlight=False, soft_wrap=True),
        )
    except PushError as err:
        console.print(f"[bold red]Error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    console.print(
        f"Pushed [bold]{result.config_name}[/]: {result.num_rows:,} rows in {result.num_shards} shard(s) "
        f"to {result.repo_id}\n{result.commit_url}\nLoad it with: {result.load_snippet}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add the ``push`` command to the ``litelong-hf`` app."""
    app.command("push")(push)
