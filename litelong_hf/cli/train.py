"""``litelong-hf train``: RoPE-scaled fine-tuning on generated rows (litelong_hf.finetune).

Every option is a field of :class:`litelong_hf.finetune.config.TrainConfig`, made a flag by the same
mechanism as ``generate``'s (``cli/options.py``): its help, default and ``panel`` come from the field, so the
CLI and the Python API cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import typer

from ..errors import cli_command
from .options import field_options, given_values, with_fields

# Short names of the most used flags.
ALIASES = {"data": ("-d",), "out": ("-o",), "model": ("-m",)}


def train(**flags: Any) -> None:
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

    from litelong_hf.finetune import TrainConfig, plan_run, run
    from litelong_hf.secrets import known_secrets, scrub_text

    config = TrainConfig(**given_values(TrainConfig, flags))
    console = Console(stderr=True)

    def log(line: str) -> None:
        console.print(escape(scrub_text(line, known_secrets())), highlight=False, soft_wrap=True)

    plan = plan_run(config)
    stages = ", ".join(f"{s.stage.name} ({s.rows.num_rows} rows)" for s in plan.stages)
    log(f"Training {config.model} -> {plan.out} in {len(plan.stages)} stage(s): {stages}")
    result = run(plan, log)
    report = result.report
    log(
        f"Done: {report['tokens_seen']:,} tokens seen, {report['tokens_per_second']:.1f} tokens/s. "
        f"Model: {result.model_dir}  Report: {result.report_path}"
    )
    if result.commit_url:
        log(f"Pushed: {result.commit_url}")


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to the ``litelong-hf`` app (a bad input exits 2, naming the fix)."""
    from litelong_hf.finetune.config import TrainConfig

    params = field_options(TrainConfig, aliases=ALIASES, required=("data", "out"), panel=None)
    app.command("train")(cli_command(with_fields(params, train)))
