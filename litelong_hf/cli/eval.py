"""`litelong-hf eval`: long-context suite and data-quality scores (litelong_hf.evaluation).

``eval ruler`` runs the RULER-style suite on a model, ``eval generate`` only writes the suite (JSONL),
``eval compare`` puts two results side by side, ``eval quality RUN_DIR`` scores a generated set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ..errors import cli_command

eval_app = typer.Typer(
    help="Evaluate models (RULER-style suite) and generated sets (data-quality scores).",
    no_args_is_help=True,
)
_console = Console(stderr=True)


def _lengths(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split(","):
        item = part.strip().lower()
        if not item:
            continue
        scale = 1024 if item.endswith("k") else 1024 * 1024 if item.endswith("m") else 1
        try:
            out.append(int(float(item.rstrip("km").replace("_", "")) * scale))
        except ValueError:
            raise typer.BadParameter(f"cannot read length {part!r}; use e.g. 4096,8k,16k") from None
    return tuple(out)


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise typer.BadParameter(f"cannot read depths {text!r}; use e.g. 0,0.25,0.5,0.75,1") from None


TasksOpt = Annotated[
    str,
    typer.Option(
        "--tasks", help="Comma-separated tasks, or 'all' (see docs/evaluation.md; RULER names work too)."
    ),
]
LengthsOpt = Annotated[str, typer.Option("--lengths", help="Prompt lengths in tokens, e.g. 4k,8k,16k.")]
DepthsOpt = Annotated[str, typer.Option("--depths", help="Needle depths in [0, 1].")]
SamplesOpt = Annotated[int, typer.Option("--samples", min=1, help="Samples per task, length and depth.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the suite.")]
CorpusOpt = Annotated[str, typer.Option("--corpus", help="Corpus of the corpus haystacks.")]


def _suite_config(tasks: str, lengths: str, depths: str, samples: int, seed: int, corpus: str) -> Any:
    from litelong_hf.evaluation.ruler import SuiteConfig

    return SuiteConfig(
        tasks=tuple(t for t in tasks.split(",") if t.strip()),
        lengths=_lengths(lengths),
        depths=_floats(depths),
        samples=samples,
        seed=seed,
        corpus=corpus,
    )


@eval_app.command("ruler")
@cli_command
def ruler(
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
    tasks: TasksOpt = "all",
    lengths: LengthsOpt = "1k,2k,4k",
    depths: DepthsOpt = "0,0.25,0.5,0.75,1",
    samples: SamplesOpt = 1,
    seed: SeedOpt = 0,
    corpus: CorpusOpt = "demo",
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
    config = _suite_config(tasks, lengths, depths, samples, seed, corpus)
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
        _console.print(f"[yellow]{skipped} sample(s) did not fit the backend's window and scored 0[/]")
    _console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)


@eval_app.command("generate")
@cli_command
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file of samples.")],
    tokenizer: Annotated[
        str, typer.Option("--tokenizer", help="Tokenizer the lengths are exact in.")
    ] = "llama-3",
    tasks: TasksOpt = "all",
    lengths: LengthsOpt = "4k",
    depths: DepthsOpt = "0,0.25,0.5,0.75,1",
    samples: SamplesOpt = 1,
    seed: SeedOpt = 0,
    corpus: CorpusOpt = "demo",
) -> None:
    """Write the suite (prompts, references, depths) as JSONL, for another harness."""
    from litelong_hf.evaluation.results import write_samples
    from litelong_hf.evaluation.ruler import generate_suite
    from litelong_hf.tokens import TokenCounter

    config = _suite_config(tasks, lengths, depths, samples, seed, corpus)
    n = write_samples(generate_suite(config, TokenCounter.get(tokenizer)), out)
    _console.print(f"wrote {n} samples to {out}", highlight=False)


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
        _console.print(f"wrote {out / 'compare.md'}, {out / 'heatmap.png'}", highlight=False)


@eval_app.command("quality")
@cli_command
def quality(
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR", help="The --out folder of `litelong-hf generate`.", show_default=False
        ),
    ],
    label_field: Annotated[
        str,
        typer.Option(
            "--label-field", help="Corpus metadata field used as topic label ('none': skip purity)."
        ),
    ] = "source",
    lm: Annotated[
        str,
        typer.Option(
            "--lm", help="LM of the dependency score: embedded, a .gguf file, a transformers model, none."
        ),
    ] = "embedded",
    window: Annotated[int, typer.Option("--window", min=64, help="LM tokens per scored window.")] = 2048,
    short_context: Annotated[
        int, typer.Option("--short-context", min=1, help="Recent-context tokens.")
    ] = 256,
    tail: Annotated[
        int, typer.Option("--tail", min=1, help="Scored tokens at the end of each window.")
    ] = 128,
    windows_per_row: Annotated[
        int, typer.Option("--windows-per-row", min=1, help="Windows per sampled row.")
    ] = 2,
    max_rows: Annotated[
        int, typer.Option("--max-rows", min=1, help="Rows sampled for the dependency score.")
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sampling and of the baseline.")] = 0,
    no_baseline: Annotated[
        bool, typer.Option("--no-baseline", help="Skip the random-concat baseline.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the scores, do not write report.json.")
    ] = False,
) -> None:
    """Score a generated set (dependency, purity, duplicates, reuse, hardness) against random-concat rows and
    store the scores as `quality` in RUN_DIR/report.json (the dataset card shows them)."""
    import json

    from litelong_hf.evaluation.dependency import DependencyConfig
    from litelong_hf.evaluation.quality import QualityConfig, score_run

    config = QualityConfig(
        label_field=None if label_field.lower() == "none" else label_field,
        lm=None if lm.lower() == "none" else lm,
        dependency=DependencyConfig(
            window=window,
            short_context=short_context,
            tail=tail,
            windows_per_row=windows_per_row,
            max_rows=max_rows,
            seed=seed,
        ),
        baseline=not no_baseline,
        seed=seed,
    )
    scores = score_run(run_dir, config, write=not dry_run)
    typer.echo(json.dumps(scores, indent=2))
    if not dry_run:
        _console.print(f"stored as extra.quality in {run_dir / 'report.json'}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``litelong-hf eval`` and its commands."""
    app.add_typer(eval_app, name="eval")
