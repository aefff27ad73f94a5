"""Run a staged long-context training: checks first (:mod:`.plan`), weights later, each stage from the last.

Output folder::

    OUT/train_state.json          settings hash and finished stages (what a re-run resumes from)
    OUT/stages/<name>/checkpoints/  transformers checkpoints of a stage (the resume points)
    OUT/stages/<name>/model/        the model after an intermediate stage (input of the next one)
    OUT/model/                      the final model + tokenizer + README.md (card) + loss.png + report
    OUT/training_report.json        tokens seen, tokens/s, loss per step, RoPE, stages, datasets
    OUT/loss.png                    the loss curve
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from ..layout import atomic_write_json
from .config import TrainConfig, load_schedule
from .data import RowCollator, training_examples
from .model import pick_runtime
from .outputs import plot_loss, push_model, write_card, write_report
from .plan import STATE_FILE, Plan, StagePlan
from .plan import plan_run as plan_run
from .rope import apply_rope, verify_rope

REPORT_FILE = "training_report.json"
LOSS_PNG = "loss.png"

Log = Callable[[str], None]


# ------------------------------------------------------------------------------------------------ run


def _loss_points(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    points = []
    for entry in log_history:
        if "loss" in entry and "step" in entry:
            point = {"step": int(entry["step"]), "loss": float(entry["loss"])}
            if "learning_rate" in entry:
                point["learning_rate"] = float(entry["learning_rate"])
            points.append(point)
    return points


def _last_checkpoint(folder: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def eta_line(stage: str, seconds: float, tokens: int, done: int, total: int) -> str:
    """What a stage prints after its first optimizer step: its time, tokens/s and the stage's ETA."""
    rate = f"{tokens / seconds:,.0f} tokens/s" if seconds > 0 and tokens > 0 else "tokens/s unknown"
    left = max(total - done, 0) * seconds / max(done, 1)
    return (
        f"stage {stage}: first step took {seconds:,.1f} s ({rate}); {max(total - done, 0)} more step(s), "
        f"ETA {time.strftime('%H:%M:%S', time.gmtime(left))}"
    )


def _throughput_callback(stage: str = "", log: Log | None = None) -> Any:
    from transformers import TrainerCallback

    class Throughput(TrainerCallback):
        """Wall time and tokens of this process's part of the stage (a resumed run counts only its own)."""

        def __init__(self) -> None:
            self.started = 0.0
            self.seconds = 0.0
            self.tokens_at_start = 0
            self.tokens = 0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if not self.tokens_at_start:  # after a resume, the restored count
                self.tokens_at_start = int(state.num_input_tokens_seen or 0) or -1

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if log is not None and not self.seconds:  # the first step of this process: say how long all takes
                self.seconds = time.perf_counter() - self.started
                tokens = int(state.num_input_tokens_seen or 0) - max(self.tokens_at_start, 0)
                log(
                    eta_line(
                        stage, self.seconds, tokens, 1, int(state.max_steps) - int(state.global_step) + 1
                    )
                )

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.seconds = time.perf_counter() - self.started
            self.tokens = int(state.num_input_tokens_seen or 0) - max(self.tokens_at_start, 0)

    return Throughput()


FULL_LOGITS_MAX_ELEMENTS = 2**27
"""Batches whose logits (tokens x vocabulary) fit in this many elements (512 MiB in fp32) take the plain
loss path; longer ones take TRL's fused LM head."""


def _trainer_class() -> Any:
    from transformers import Trainer
    from trl import SFTTrainer

    class LongRowTrainer(SFTTrainer):
        """TRL's SFTTrainer with the loss path chosen by batch size.

        TRL 1.16 always computes the loss through a fused LM head that never materializes the logits
        (chunked cross-entropy recomputed in the backward pass): essential for 64K-1M-token rows, whose
        logits would take tens of GB, but a ~30% slowdown for short rows of small models, where the LM head
        dominates the compute (measured by bench/train.py). Batches whose logits fit in
        ``FULL_LOGITS_MAX_ELEMENTS`` take transformers' plain loss instead (no metrics from TRL there).
        """

        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            vocab = int(getattr(model.config, "vocab_size", 0) or 0)
            if inputs["input_ids"].numel() * vocab > FULL_LOGITS_MAX_ELEMENTS:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            inputs["use_cache"] = False
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

    return LongRowTrainer


def _run_stage(plan: Plan, sp: StagePlan, init: str, final: Path, log: Log) -> dict[str, Any]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from trl import SFTConfig

    config = plan.config
    attn, dtype, bf16 = pick_runtime(config.attn_implementation, config.precision)
    model_config = AutoConfig.from_pretrained(init)
    if getattr(model_config, "quantization_config", None) is not None:
        del model_config.quantization_config
    apply_rope(model_config, sp.rope_params, sp.max_positions)
    model = AutoModelForCausalLM.from_pretrained(
        init, config=model_config, dtype=dtype, attn_implementation=attn
    )
    rope_check = verify_rope(model, sp.rope_params)
    log(
        f"stage {sp.stage.name}: {sp.rows.num_rows} rows of up to {sp.longest_row:,} tokens, "
        f"rope {sp.rope_params}, positions {sp.max_positions:,}, {attn}, {'bf16' if bf16 else 'fp32'}"
    )
    tokenizer = plan.tokenizer
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    examples = training_examples(sp.rows, tokenizer, document_masking=config.document_masking)
    stage = sp.stage
    checkpoints = sp.folder / "checkpoints"
    # transformers 5.2x renamed gradient_checkpointing (a deprecated alias until v6)
    recompute = (
        "activation_checkpointing"
        if "activation_checkpointing" in SFTConfig.__dataclass_fields__
        else "gradient_checkpointing"
    )
    settings: dict[str, Any] = {recompute: config.gradient_checkpointing}
    args = SFTConfig(
        output_dir=str(checkpoints),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=stage.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=stage.warmup_ratio,  # transformers v5: a float below 1 is a ratio of the steps
        weight_decay=config.weight_decay,
        max_steps=sp.steps if sp.steps is not None else -1,
        num_train_epochs=stage.num_epochs,
        logging_steps=config.logging_steps,
        save_steps=config.save_steps,
        save_total_limit=2,
        seed=config.seed,
        data_seed=config.seed,
        bf16=bf16,
        report_to=[],
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        # Rows are ready-made sequences: no re-tokenization, no truncation, no packing across rows.
        max_length=None,
        packing=False,
        dataset_kwargs={"skip_prepare_dataset": True},
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        **settings,
    )
    throughput = _throughput_callback(stage.name, log)
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=examples,
        processing_class=tokenizer,
        data_collator=RowCollator(pad_token_id=int(tokenizer.pad_token_id)),
        callbacks=[throughput],
    )
    resume = _last_checkpoint(checkpoints)
    if resume:
        log(f"stage {stage.name}: resuming from {resume}")
    trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))
    state = trainer.state
    losses = _loss_points(state.log_history)
    return {
        "name": stage.name,
        "stage": stage.to_dict(),
        "rope_parameters": sp.rope_params,
        "max_position_embeddings": sp.max_positions,
        "rope_check": rope_check,
        "learning_rate": stage.learning_rate,
        "steps": int(state.global_step),
        "tokens_seen": int(state.num_input_tokens_seen or 0),
        "tokens_this_process": throughput.tokens,
        "train_seconds": round(throughput.seconds, 3),
        "tokens_per_second": throughput.tokens / throughput.seconds if throughput.seconds else 0.0,
        "loss": losses,
        "final_loss": losses[-1]["loss"] if losses else None,
        "resumed_from": resume,
        "data": sp.rows.describe(),
        "attn_implementation": attn,
        "dtype": "bfloat16" if bf16 else "float32",
        "gradient_checkpointing": config.gradient_checkpointing,
        "document_masking": config.document_masking,
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("litelong-hf", "torch", "transformers", "trl", "accelerate", "datasets"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


@dataclass
class TrainResult:
    """Where the trained model and its report are."""

    model_dir: Path
    report_path: Path
    report: dict[str, Any]
    commit_url: str | None = None


def run(plan: Plan, log: Log = print) -> TrainResult:
    """Train every stage of ``plan`` (resuming finished stages and checkpoints), then write the outputs."""
    out = plan.out
    if plan.config.overwrite and out.is_dir():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    state = dict(plan.resume_state) or {"config_hash": plan.config_hash, "stages": {}}
    state_file = out / STATE_FILE
    atomic_write_json(state_file, state)
    init = plan.model.weights_dir()
    summaries: list[dict[str, Any]] = []
    for index, sp in enumerate(plan.stages):
        last = index == len(plan.stages) - 1
        final = out / "model" if last else sp.folder / "model"
        done = state["stages"].get(sp.stage.name)
        if done is not None and (final / "config.json").is_file():
            log(f"stage {sp.stage.name}: already trained, reusing {final}")
            summaries.append(done)
        else:
            summary = _run_stage(plan, sp, init, final, log)
            state["stages"][sp.stage.name] = summary
            atomic_write_json(state_file, state)
            summaries.append(summary)
        init = str(final)
    model_dir = out / "model"
    report = build_report(plan, summaries)
    report_path = out / REPORT_FILE
    write_report(report_path, report)
    write_report(model_dir / REPORT_FILE, report)
    plot_loss(out / LOSS_PNG, summaries)
    shutil.copyfile(out / LOSS_PNG, model_dir / LOSS_PNG)
    write_card(model_dir, report, plan.config.push_to_hub)
    result = TrainResult(model_dir=model_dir, report_path=report_path, report=report)
    if plan.config.push_to_hub:
        log(f"pushing {model_dir} to {plan.config.push_to_hub}")
        result.commit_url = push_model(model_dir, plan.config.push_to_hub, private=plan.config.hub_private)
    return result


def build_report(plan: Plan, stages: list[dict[str, Any]]) -> dict[str, Any]:
    """The training report: settings, datasets, and per stage tokens, speed, loss and RoPE."""
    seen: dict[str, dict[str, Any]] = {}
    for sp in plan.stages:
        description = sp.rows.describe()
        description["hub"] = not Path(sp.rows.source).exists() and not sp.rows.source.startswith("Dataset(")
        seen.setdefault(sp.rows.source, description)
    tokens = sum(int(s.get("tokens_this_process", 0)) for s in stages)
    seconds = sum(float(s.get("train_seconds", 0.0)) for s in stages)
    return {
        "model": plan.config.model,
        "base_model_hub_id": plan.model.hub_id,
        "config": plan.config.to_dict(),
        "config_hash": plan.config_hash,
        "schedule": load_schedule(plan.config.schedule)["name"] if plan.config.schedule else None,
        "datasets": list(seen.values()),
        "stages": stages,
        "tokens_seen": sum(int(s["tokens_seen"]) for s in stages),
        "tokens_per_second": tokens / seconds if seconds else 0.0,
        "versions": _versions(),
    }


def train(
    config: TrainConfig, data: Sequence[str | datasets.Dataset] | None = None, log: Log = print
) -> TrainResult:
    """Check, then train. ``data`` may hold ``datasets.Dataset`` objects (e.g. from ``litelong_hf.load``).

    Example::

        ds = litelong_hf.load("nextlong-64k", tokenizer="smollm2", num_rows=8)
        train(TrainConfig(out="out/run", model="smollm2", rope_theta=8e6, max_steps=10), data=[ds])
    """
    return run(plan_run(config, data), log)
