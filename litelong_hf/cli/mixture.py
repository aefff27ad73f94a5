"""``litelong-hf mixture``: finished runs, presets and short data interleaved by token share (litelong_hf.mixture).

Every option but ``--preset`` is a field of :class:`litelong_hf.mixture.MixtureConfig`, made a flag by the
same mechanism as ``generate``'s and ``train``'s (``cli/options.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..errors import cli_command
from .options import field_options, given_values, with_fields

ALIASES = {"components": ("--component", "-c"), "out": ("-o",)}


def mixture(
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            "-p",
            help="A mixture preset (configs/mixtures/: nextlong-512k, prolong-64k) or a YAML path; flags "
            "given replace its values.",
            show_default=False,
        ),
    ] = None,
    **flags: Any,
) -> None:
    """Interleave finished runs, presets and short-data corpora by token share into one run directory.

    Every row has exactly --row-tokens tokens; shorter rows are packed (8 x 64K in a 512K row) and short
    documents packed whole, with their boundaries in piece_lengths. Shares are met within --tolerance of
    tokens, the order is seeded, and the folder (which export, push and train read) lists every component
    with its config hash, rows and token share. Examples:

      litelong-hf mixture --component nextlong-64k=0.4 --component runs/litelong-64k=0.3 \\
          --short 'data/*.parquet=0.3' --num-rows 1000 --out mix-64k/
      litelong-hf mixture --preset nextlong-512k --num-rows 300 --out mix-512k/
    """
    from rich.console import Console
    from rich.table import Table

    from litelong_hf.mixture import MixtureConfig
    from litelong_hf.mixture import mixture as make_mixture

    values = given_values(MixtureConfig, flags)
    out = values.pop("out")
    result = make_mixture(out, preset=preset, **values)
    table = Table(
        title=f"{result.name} ({result.config_hash}): {result.rows:,} rows of {result.row_tokens:,} tokens"
    )
    for column in ("component", "kind", "config hash", "rows", "token share", "asked"):
        table.add_column(column, justify="right" if column in ("rows", "token share", "asked") else "left")
    for c in result.components:
        table.add_row(
            c["component"],
            c["kind"],
            c["config_hash"],
            f"{c['rows']:,}",
            f"{c['token_share']:.2%}",
            f"{c['share']:.2%}",
        )
    console = Console(stderr=True)
    console.print(table)
    console.print(f"wrote {result.out}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``mixture`` command to the ``litelong-hf`` app (a bad input exits 2, naming the fix)."""
    from litelong_hf.mixture import MixtureConfig

    params = field_options(MixtureConfig, aliases=ALIASES, required=("out",), panel=None)
    app.command("mixture")(cli_command(with_fields(params, mixture)))
