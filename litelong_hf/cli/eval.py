"""`litelong-hf eval`: long-context suite and data-quality scores (litelong_hf.evaluation).

``eval ruler`` runs the RULER-style suite on a model, ``eval generate`` only writes the suite (JSONL),
``eval compare`` puts two results side by side, ``eval quality RUN_DIR`` scores a generated set.
"""

# No `from __future__ import annotations`: `options.with_fields` copies these signatures, and typer must see
# the Annotated options as objects, not as text.
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import cli_command
from ..evaluation.dependency import DependencyConfig
from ..evaluation.quality import QualityConfig
from ..evaluation.tasks import SuiteConfig
from .options import with_config_fields
from .output import say

eval_app = typer.Typer(
    help="Evaluate models (RULER-style suite) and generated sets (data-quality scores).",
    no_args_is_help=True,
)

SUITE_FIELDS = (
    "tasks",
    "lengths",
    "depths",
    "samples",
    "seed",
    "corpus",
    "vt_chains",
    "vt_hops",
    "cwe_words",
)
"""The fields of :class:`SuiteConfig` that are flags of ``eval ruler`` and ``eval generate``."""
QUALITY_FIELDS = ("label_field", "lm", "local", "baseline", "max_corpus_documents", "seed")
"""The fields of :class:`QualityConfig` that are flags of ``eval quality`` (its ``--seed`` seeds both)."""
DEPENDENCY_FIELDS = ("window", "short_context", "tail", "windows_per_row", "max_rows")
"""The fields of :class:`DependencyConfig` that are flags of ``eval quality``."""

suite_options = with_config_fields(SuiteConfig, {n: n for n in SUITE_FIELDS}, SuiteConfig, "config")
"""A command's ``config: SuiteConfig`` parameter as the suite's flags (help, defaults and checks: the fields')."""


@eval_app.command("ruler")
@cli_command
@suite_options
def ruler(
    config: SuiteConfig,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for results.json, results.md, heatmap.png.")
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", help="A transformers model (local folder or Hub id).", show_default=False),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="An OpenAI-compatible / TGI endpoint (default: the embedded SmolLM2).",
            show_default=False,
        ),
    ] = None,
    served_model: Annotated[
        str | None,
        typer.Option("--served-model", help="Model name sent to the endpoint.", show_default=False),
    ] = None,
    tokenizer: Annotated[
        str,
        typer.Option("--tokenizer", help="Tokenizer of the endpoint's model (lengths are counted in it)."),
    ] = "llama-3",
    api_key_env: Annotated[
        str | None,
        typer.Option("--api-key-env", help="Variable holding the endpoint key.", show_default=False),
    ] = None,
    oracle: Annotated[
        bool, typer.Option("--oracle", help="Answer with a perfect reader of the prompts (checks the suite).")
    ] = False,
    allow_longer: Annotated[
        bool,
        typer.Option(
            "--allow-longer", help="Run lengths beyond the model's trained positions (extrapolation)."
        ),
    ] = False,
    compare: Annotated[
        Path | None,
        typer.Option(
            "--compare",
            help="A previous results.json (or its folder) to put side by side.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the RULER-style suite on a model and write JSON, a markdown table and a length x depth heatmap."""
    from litelong_hf.evaluation.results import (
        SuiteResult,
        markdown_table,
        run_suite,
        write_outputs,
    )
    from litelong_hf.evaluation.ruler import generate_suite
    from litelong_hf.evaluation.runners import (
        EvalError,
        ScriptedRunner,
        TransformersRunner,
        check_positions,
        embedded_runner,
        endpoint_runner,
        oracle_answer,
    )
    from litelong_hf.progress import progress_bar
    from litelong_hf.tokens import TokenCounter

    if model and endpoint:
        raise EvalError("pass either --model (transformers) or --endpoint, not both")
    previous = SuiteResult.load(compare) if compare is not None else None
    runner: Any
    if oracle:
        runner = ScriptedRunner("oracle", oracle_answer, TokenCounter.get(tokenizer))
    elif model:
        runner = TransformersRunner(model)
    elif endpoint:
        runner = endpoint_runner(endpoint, model=served_model, tokenizer=tokenizer, api_key_env=api_key_env)
    else:
        runner = embedded_runner(max(config.lengths), config.max_new_tokens())
    check_positions(runner, config.lengths, config.max_new_tokens(), allow_longer)
    per_task = [len(config.depths) if t != "cwe" else 1 for t in config.tasks]
    total = sum(per_task) * len(config.lengths) * config.samples
    with progress_bar(f"RULER suite on {runner.name}", total=total, unit="samples") as advance:
        result = run_suite(runner, generate_suite(config, runner.tokenizer), config, progress=advance)
    written = write_outputs(result, out, compare=previous)
    typer.echo(markdown_table(result))
    if previous is not None:
        typer.echo((out / "compare.md").read_text(encoding="utf-8"))
    skipped = getattr(runner, "skipped", 0)
    if skipped:
        say(f"[yellow]{skipped} sample(s) did not fit the backend's window and scored 0[/]")
    say("wrote " + ", ".join(str(p) for p in written))


@eval_app.command("generate")
@cli_command
@suite_options
def generate(
    config: SuiteConfig,
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file of samples.")],
    tokenizer: Annotated[
        str, typer.Option("--tokenizer", help="Tokenizer the lengths are exact in.")
    ] = "llama-3",
) -> None:
    """Write the suite (prompts, references, depths) as JSONL, for another harness."""
    from litelong_hf.evaluation.results import write_samples
    from litelong_hf.evaluation.ruler import generate_suite
    from litelong_hf.tokens import TokenCounter

    n = write_samples(generate_suite(config, TokenCounter.get(tokenizer)), out)
    say(f"wrote {n} samples to {out}")


@eval_app.command("compare")
@cli_command
def compare_cmd(
    first: Annotated[
        Path, typer.Argument(help="results.json (or its folder) of model A.", show_default=False)
    ],
    second: Annotated[
        Path, typer.Argument(help="results.json (or its folder) of model B.", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for compare.md and heatmap.png.", show_default=False),
    ] = None,
) -> None:
    """Put two suite results side by side (e.g. before and after `litelong-hf train`)."""
    from litelong_hf.evaluation.results import SuiteResult, compare_table, save_heatmap
    from litelong_hf.layout import atomic_write_text

    a, b = SuiteResult.load(first), SuiteResult.load(second)
    table = compare_table(a, b)
    typer.echo(table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "compare.md", table)
        save_heatmap([a, b], out / "heatmap.png")
        say(f"wrote {out / 'compare.md'}, {out / 'heatmap.png'}")


@eval_app.command("quality")
@cli_command
@with_config_fields(QualityConfig, {n: n for n in QUALITY_FIELDS}, QualityConfig, "config")
@with_config_fields(DependencyConfig, {n: n for n in DEPENDENCY_FIELDS}, DependencyConfig, "dependency")
def quality(
    config: QualityConfig,
    dependency: DependencyConfig,
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR", help="The --out folder of `litelong-hf generate`.", show_default=False
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the scores, do not write report.json.")
    ] = False,
) -> None:
    """Score a generated set (dependency across pieces and local, purity, duplicates, reuse, hardness) against
    random-concat rows and store the scores as `quality` in RUN_DIR/report.json (the dataset card shows them)."""
    import json
    from dataclasses import replace

    from litelong_hf.evaluation.quality import score_run

    config = replace(config, dependency=replace(dependency, seed=config.seed))
    scores = score_run(run_dir, config, write=not dry_run)
    typer.echo(json.dumps(scores, indent=2))
    if not dry_run:
        say(f"stored as extra.quality in {run_dir / 'report.json'}")


def register(app: typer.Typer) -> None:
    """Add ``litelong-hf eval`` and its commands."""
    app.add_typer(eval_app, name="eval")
