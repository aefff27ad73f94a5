"""``litelong-hf generate CONFIG --out DIR``: rows of a preset, written as parquet (once) with a report.

Each preset is a command of its own (``litelong-hf generate litelong-128k``) whose flags are exactly its
config class's fields, with their help and the preset's values as defaults: the preset name is parsed first,
so ``generate nextlong-64k --help`` shows NExtLong's knobs only, and a flag of another strategy is an error.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from ..config import ConfigError
from ..errors import cli_command, cli_errors
from ..presets import load_preset, preset_names
from ..progress import console
from ..report import render_report
from ..run import Run
from ..strategies import make_strategy, strategy_config_class
from .options import field_options, given_values, with_fields

# Fields a preset fixes: its name and its strategy are what the command is.
_FIXED = {"name", "strategy", "num_proc"}  # num_proc: the run option below sets the field


def write_outputs(run: Run, out: Path, overwrite: bool) -> None:
    """Write the run directory (parquet/ hard-linked to the shard files, report.json, config.yaml,
    transcripts.jsonl): :func:`litelong_hf.publish.rundir.write_run_dir`."""
    from ..publish.rundir import write_run_dir

    write_run_dir(run, out, overwrite)


def generate(
    config_name: str,
    out: Path,
    num_proc: int | None,
    executor: str,
    ray_address: str | None,
    overwrite: bool,
    **overrides: Any,
) -> None:
    """The command: the same code path as :func:`litelong_hf.load` (``litelong_hf.run.generate``)."""
    from ..run import generate as run_generate

    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{out} exists and is not empty; pass --overwrite or choose another --out.")
    console.print(f"generating [bold]{config_name}[/bold] (executor {executor})")
    run = run_generate(
        config_name,
        executor=executor,  # type: ignore[arg-type]
        num_proc=num_proc,
        ray_address=ray_address,
        **overrides,
    )
    # What the card shows of the transcripts (LiteLong: every subcategory's debate) is the strategy's say.
    run.report.extra.update(make_strategy(run.config).card_entries(run.transcripts))
    write_outputs(run, out, overwrite)
    console.print(render_report(run.report))
    extra = ", transcripts.jsonl" if run.transcripts else ""
    console.print(
        f"wrote {len(run.dataset):,} rows of {run.config.target_tokens:,} tokens to {out} "
        f"(parquet/, report.json, config.yaml{extra}; config hash {run.config.config_hash()})"
    )


def _run_options(
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (parquet/, report.json, config.yaml)."),
    num_proc: int | None = typer.Option(
        None, help="Processes reading the corpus, building indexes and running shards (rows never change)."
    ),
    executor: str = typer.Option(
        "local", help="'local' (num_proc processes) or 'ray' (shards as Ray tasks; docs/scale.md)."
    ),
    ray_address: str | None = typer.Option(
        None, help="Ray cluster to join with --executor ray (default: a local one)."
    ),
    overwrite: bool = typer.Option(False, help="Replace an existing --out folder."),
) -> None:
    """The options of a run that are not config fields (its signature is every preset command's start)."""


def preset_command(config_name: str) -> Any:
    """The ``generate CONFIG`` command: the run options, then every field of the preset's config class,
    showing the preset's values as defaults."""
    preset = load_preset(config_name)
    config_class = strategy_config_class(str(preset.get("strategy", "")))

    own = list(inspect.signature(_run_options).parameters.values())

    def command(**kwargs: Any) -> None:
        run = {p.name: kwargs.pop(p.name) for p in own}
        generate(config_name, **run, **given_values(config_class, kwargs))

    command.__doc__ = (
        f"Generate the rows of {config_name} ({preset['strategy']}) and write them with a run report.\n\n"
        f"Every field of the {config_class.__name__} is a flag (defaults: the preset's); text 'none' sets "
        "an optional field to None."
    )
    return cli_command(with_fields(own + field_options(config_class, skip=_FIXED, shown=preset), command))


class PresetGroup(TyperGroup):
    """``generate``'s preset commands; an unknown preset name is a user error naming the valid ones."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            with cli_errors():
                load_preset(args[0])  # an unknown name raises ConfigError listing the valid names
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # preset order, not alphabetical


generate_app = typer.Typer(
    cls=PresetGroup,
    no_args_is_help=True,
    help="Generate the rows of a preset and write them with a run report: litelong-hf generate CONFIG "
    "--out DIR. Each preset's fields are its flags: litelong-hf generate CONFIG --help.",
)


def register(app: typer.Typer) -> None:
    for config_name in preset_names():
        generate_app.command(config_name)(preset_command(config_name))
    app.add_typer(generate_app, name="generate")
