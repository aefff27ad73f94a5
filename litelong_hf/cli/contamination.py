"""``litelong-hf eval contamination RUN_DIR [--contamination-check FILE.jsonl]``: eval overlap, into the card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def contamination(
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR", help="The --out folder of `litelong-hf generate`.", show_default=False
        ),
    ],
    contamination_check: Annotated[
        list[Path] | None,
        typer.Option(
            "--contamination-check",
            help="An evaluation file (JSONL: every string of every record; else plain text); repeatable.",
            show_default=False,
        ),
    ] = None,
    suite: Annotated[
        bool, typer.Option("--suite/--no-suite", help="Compare with the RULER-style suite of `eval ruler`.")
    ] = True,
    lengths: Annotated[
        str, typer.Option("--lengths", help="Suite prompt lengths, as for `eval ruler`.")
    ] = "1k,2k,4k",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the suite.")] = 0,
    corpus: Annotated[str, typer.Option("--corpus", help="Corpus of the suite's corpus haystacks.")] = "demo",
    threshold: Annotated[
        float,
        typer.Option("--threshold", help="Flag rows with more than this share of shingles in the evals."),
    ] = 0.01,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the scores, do not write report.json.")
    ] = False,
) -> None:
    """Share of each row's 13-word shingles found in the evaluation suite's haystacks and needles and in
    the named eval files; rows above --threshold are flagged. Stored as `contamination` in
    RUN_DIR/report.json (the dataset card shows it)."""
    import json

    from litelong_hf.errors import cli_errors
    from litelong_hf.evaluation.contamination import score_run
    from litelong_hf.evaluation.tasks import SuiteConfig, parse_lengths

    with cli_errors():
        config = SuiteConfig(lengths=parse_lengths(lengths), seed=seed, corpus=corpus) if suite else None
        scores = score_run(
            run_dir,
            eval_files=contamination_check or [],
            suite=config,
            threshold=threshold,
            write=not dry_run,
        )
    typer.echo(json.dumps(scores, indent=2))
    if scores["flagged_rows"]:
        typer.echo(
            f"{scores['flagged_rows']} of {scores['rows']} rows share more than {threshold:.1%} of their "
            "shingles with the evaluation data",
            err=True,
        )
    if not dry_run:
        typer.echo(f"stored as extra.contamination in {run_dir / 'report.json'}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``litelong-hf eval contamination`` (to the ``eval`` group of :mod:`litelong_hf.cli.eval`)."""
    from litelong_hf.errors import cli_command

    from .eval import eval_app

    eval_app.command("contamination")(cli_command(contamination))
