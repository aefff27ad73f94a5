"""``litelong-hf push DIR REPO --config NAME``: publish a generation output folder to the Hub."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from litelong_hf.errors import cli_command

HubEndpointOption = Annotated[
    str | None,
    typer.Option("--endpoint", help="Hub URL (default: $HF_ENDPOINT or huggingface.co).", show_default=False),
]
"""``--endpoint`` of every command that talks to the Hub (``push``, ``space push``...)."""

HubTokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="Hub token with write access. Prefer HF_TOKEN or `hf auth login`: a token on the command "
        "line ends up in the shell history.",
        show_default=False,
    ),
]
"""``--token`` of every command that writes to the Hub."""


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
    endpoint: HubEndpointOption = None,
    token: HubTokenOption = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="On an error, show the traceback and the Hub's debug log too.")
    ] = False,
) -> None:
    """Push generated rows to the Hugging Face Hub as parquet shards plus a dataset card.

    Resumable: if the push fails, run the same command again; shards already uploaded are not sent twice,
    and nothing becomes visible until the final commit. Bad inputs (folder, repo id, config name, token)
    are reported in one line before anything is sent (exit status 2); --debug shows the traceback.
    """
    from litelong_hf.cli.output import say
    from litelong_hf.errors import cli_errors, debug_enabled
    from litelong_hf.hub import PushValidationError, load_run_dir, push_to_hub

    if debug:
        os.environ["LITELONG_HF_DEBUG"] = (
            "1"  # what the global `litelong-hf --debug` sets, read by cli_errors
        )
    if debug_enabled():
        _debug_logging()
    # A user error (PushError...) becomes one line and exit status 2; --debug lets its traceback through.
    with cli_errors():
        run = load_run_dir(directory)
        config_name = config or (run.report.config_name if run.report is not None else "") or None
        if config_name is None:
            raise PushValidationError(
                f"No config name: pass --config NAME (e.g. --config litelong-128k); {directory} has no "
                "report.json naming one."
            )
        say(f"Pushing {config_name} from {directory} to {repo}")
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
            progress=lambda line: say(line, markup=False),
        )
    say(
        f"Pushed [bold]{result.config_name}[/]: {result.num_rows:,} rows in {result.num_shards} shard(s) "
        f"to {result.repo_id}\n{result.commit_url}\nLoad it with: {result.load_snippet}"
    )


def _debug_logging() -> None:
    """Debug lines of the push (Hub errors, scrubbed of the token) on stderr."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("litelong_hf.hub")  # the push's own logger: never huggingface_hub's headers
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)


def register(app: typer.Typer) -> None:
    """Add the ``push`` command to the ``litelong-hf`` app."""
    app.command("push")(cli_command(push))
