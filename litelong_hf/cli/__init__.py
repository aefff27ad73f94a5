"""The ``litelong-hf`` command line: one sub-module per area registers its commands on ``app``."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="litelong-hf",
    help="Synthesize long-context training data (LiteLong, NExtLong, hierarchical QA) from short documents.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold tokens and API keys
)

# Each module exposes ``register(app)``. Order is the order of `--help`.
_COMMAND_MODULES = ("corpus", "index", "topics", "generate", "serve", "push")


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"litelong_hf.cli.{name}")
        module.register(app)


_register_all()


def main() -> None:
    app()
