"""The ``litelong-hf`` command line: one sub-module per area registers its commands on ``app``."""

from __future__ import annotations

import importlib
import os

import typer

from ..errors import cli_errors

app = typer.Typer(
    name="litelong-hf",
    help="Synthesize long-context training data (LiteLong, NExtLong, hierarchical QA) from short documents.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold tokens and API keys
)

# Each module exposes ``register(app)``. Order is the order of `--help`.
_COMMAND_MODULES = (
    "corpus",
    "index",
    "topics",
    "generate",
    "serve",
    "push",
    "export",
    "mixture",
    "train",
    "eval",
    "contamination",  # adds `eval contamination` to the eval group
    "space",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"litelong_hf.cli.{name}")
        module.register(app)


@app.callback()
def _options(
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of errors (also LITELONG_HF_DEBUG=1).", is_eager=True
    ),
) -> None:
    """Synthesize long-context training data (LiteLong, NExtLong, hierarchical QA) from short documents."""
    if debug:
        os.environ["LITELONG_HF_DEBUG"] = "1"


_register_all()


def main() -> None:
    """The console script: a user error prints one line naming the fix and exits 2 (``--debug``: traceback)."""
    with cli_errors(top_level=True):
        app()
