"""``litelong-hf train``: RoPE-scaled fine-tuning on generated rows (litelong_hf.finetune).

Every option is a field of :class:`litelong_hf.finetune.config.TrainConfig`; its help text comes from the
field's metadata, so the CLI and the Python API cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Annotated

import typer


@cache
def _helps() -> dict[str, str]:
    from litelong_hf.finetune.config import TrainConfig

    return {f.name: str(f.metadata.get("help", "")) for f in dataclasses.fields(TrainConfig)}


def _h(name: str) -> str:
    return _helps()[name]


def train(
    data: Annotated[list[str], typer.Option("--data", "-d", help=_h("data"), show_default=False)],
    out: Annotated[str, typer.Option("--out", "-o", help=_h("out"), show_default=False)],
    model: Annotated[str, typer.Option("--model", "-m", help=_h("model"))] = "smollm2",
    data_config: Annotated[str | None, typer.Option(help=_h("data_config"), show_default=False)] = None,
    split: Annotated[str, typer.Option(help=_h("split"))] = "train",
    schedule: Annotated[str | None, typer.Option(help=_h("schedule"), show_default=False)] = None,
    rope_type: Annotated[str, typer.Option(help=_h("rope_type"), rich_help_panel="RoPE")] = "default",
    rope_theta: Annotated[
        float | None, typer.Option(help=_h("rope_theta"), rich_help_panel="RoPE", show_default=False)
    ] = None,
    rope_factor: Annotated[
        float | None, typer.Option(help=_h("rope_factor"), rich_help_panel="RoPE", show_default=False)
    ] = None,
    original_max_position_embeddings: Annotated[
        int | None,
        typer.Option(help=_h("original_max_position_embeddings"), rich_help_panel="RoPE", show_default=False),
    ] = None,
    max_position_embeddings: Annotated[
        int | None,
        typer.Option(help=_h("max_position_embeddings"), rich_help_panel="RoPE", show_default=False),
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(help=_h("learning_rate"), rich_help_panel="Optimization", show_default=False),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help=_h("max_steps"), rich_help_panel="Optimization", show_default=False)
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help=_h("max_tokens"), rich_help_panel="Optimization", show_default=False)
    ] = None,
    num_epochs: Annotated[
        float | None, typer.Option(help=_h("num_epochs"), rich_help_panel="Optimization", show_default=False)
    ] = None,
    warmup_ratio: Annotated[
        float | None,
        typer.Option(help=_h("warmup_ratio"), rich_help_panel="Optimization", show_default=False),
    ] = None,
    batch_size: Annotated[int, typer.Option(help=_h("batch_size"), rich_help_panel="Optimization")] = 1,
    gradient_accumulation_steps: Annotated[
        int, typer.Option(help=_h("gradient_accumulation_steps"), rich_help_panel="Optimization")
    ] = 1,
    weight_decay: Annotated[
        float, typer.Option(help=_h("weight_decay"), rich_help_panel="Optimization")
    ] = 0.1,
    lr_scheduler_type: Annotated[
        str, typer.Option(help=_h("lr_scheduler_type"), rich_help_panel="Optimization")
    ] = "cosine",
    seed: Annotated[int, typer.Option(help=_h("seed"))] = 42,
    save_steps: Annotated[int, typer.Option(help=_h("save_steps"))] = 50,
    logging_steps: Annotated[int, typer.Option(help=_h("logging_steps"))] = 1,
    gradient_checkpointing: Annotated[bool, typer.Option(help=_h("gradient_checkpointing"))] = True,
    document_masking: Annotated[bool, typer.Option(help=_h("document_masking"))] = False,
    attn_implementation: Annotated[str, typer.Option(help=_h("attn_implementation"))] = "auto",
    precision: Annotated[str, typer.Option(help=_h("precision"))] = "auto",
    push_to_hub: Annotated[
        str | None, typer.Option(help=_h("push_to_hub"), rich_help_panel="Hub", show_default=False)
    ] = None,
    hub_private: Annotated[bool, typer.Option(help=_h("hub_private"), rich_help_panel="Hub")] = False,
    overwrite: Annotated[bool, typer.Option(help=_h("overwrite"))] = False,
) -> None:
    """Fine-tune a model on generated rows with RoPE scaling (TRL SFTTrainer), in one or more stages.

    Pretraining rows train as whole sequences on their own token ids; instruction rows train on the
    assistant turns only. Everything is checked before weights load. A killed run resumes from its last
    checkpoint when started again with the same arguments. Examples:

      litelong-hf generate nextlong-64k --tokenizer smollm2 --out rows/
      litelong-hf train --data rows/ --model smollm2 --rope-theta 1e6 --max-steps 100 --out runs/a
      litelong-hf train --schedule prolong --data rows-64k/ --data rows-512k/ --model meta-llama/... --out runs/b
    """
    from rich.console import Console
    from rich.markup import escape

    from litelong_hf.finetune import TrainConfig, TrainError, plan_run, run
    from litelong_hf.secrets import known_secrets, scrub_text

    values = dict(locals())
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in values.items() if k in fields})
    console = Console(stderr=True)

    def log(line: str) -> None:
        console.print(escape(scrub_text(line, known_secrets())), highlight=False, soft_wrap=True)

    try:
        plan = plan_run(config)
        stages = ", ".join(f"{s.stage.name} ({s.rows.num_rows} rows)" for s in plan.stages)
        log(f"Training {config.model} -> {plan.out} in {len(plan.stages)} stage(s): {stages}")
        result = run(plan, log)
    except TrainError as err:
        console.print(
            f"[bold red]Error:[/] {escape(scrub_text(str(err), known_secrets()))}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=1) from None
    report = result.report
    log(
        f"Done: {report['tokens_seen']:,} tokens seen, {report['tokens_per_second']:.1f} tokens/s. "
        f"Model: {result.model_dir}  Report: {result.report_path}"
    )
    if result.commit_url:
        log(f"Pushed: {result.commit_url}")


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to the ``litelong-hf`` app."""
    app.command("train")(train)
