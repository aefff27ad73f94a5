"""Plan a training run: every check that needs no weights, before any weights are loaded.

:func:`plan_run` resolves the model and its tokenizer, loads each stage's rows, checks them against the
tokenizer, the chat template and the stage's length and RoPE settings, and reads the resume state of the
output folder; :mod:`litelong_hf.finetune.trainer` runs the :class:`Plan` it returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from .config import Stage, TrainConfig
from .data import Rows, check_tokenizer, load_rows, require_chat_template
from .errors import TrainError
from .model import ModelRef, resolve_model
from .outputs import read_json
from .rope import apply_rope, rope_parameters

STATE_FILE = "train_state.json"
"""Settings hash and finished stages of a run in its output folder (what a re-run resumes from)."""


@dataclass
class StagePlan:
    """One stage, checked: its rows, RoPE parameters and step count."""

    stage: Stage
    rows: Rows
    rope_params: dict[str, Any]
    max_positions: int
    longest_row: int
    steps: int | None
    folder: Path


@dataclass
class Plan:
    """A checked run: nothing here has loaded weights."""

    config: TrainConfig
    model: ModelRef
    tokenizer: Any
    stages: list[StagePlan]
    out: Path
    config_hash: str
    resume_state: dict[str, Any] = field(default_factory=dict)


def _rows_per_stage(
    config: TrainConfig, stages: list[Stage], data: Sequence[str | datasets.Dataset]
) -> list[Rows]:
    if not data:
        raise TrainError(
            "No rows to train on: pass --data DIR (a `litelong-hf generate --out` folder) or a repo."
        )
    loaded: dict[int, Rows] = {}
    chosen: list[Rows] = []
    for position, stage in enumerate(stages):
        index = stage.data if stage.data is not None else (position if len(data) > 1 else 0)
        if index >= len(data):
            raise TrainError(
                f"Stage {stage.name!r} wants data source #{index + 1}, but {len(data)} --data given; give one "
                f"--data for all stages or one per stage ({len(stages)})."
            )
        if index not in loaded:
            loaded[index] = load_rows(data[index], data_config=config.data_config, split=config.split)
        chosen.append(loaded[index])
    if len(data) not in (1, len(stages)):
        raise TrainError(
            f"{len(data)} --data sources for {len(stages)} stage(s); give one, or one per stage."
        )
    return chosen


def _steps(stage: Stage, rows: Rows, config: TrainConfig) -> int | None:
    if stage.max_steps is not None:
        return int(stage.max_steps)
    if stage.max_tokens is not None:
        mean = sum(rows.lengths()) / rows.num_rows
        per_step = mean * config.batch_size * config.gradient_accumulation_steps
        return max(1, math.ceil(stage.max_tokens / per_step))
    return None


def _check_out(out: Path, config_hash: str, overwrite: bool) -> dict[str, Any]:
    """The resume state of ``out`` (empty for a fresh run); raises if ``out`` holds something else."""
    if not out.exists() or not any(out.iterdir()) or overwrite:
        return {}  # with --overwrite, `run` clears the folder once every check has passed
    state_file = out / STATE_FILE
    if state_file.is_file():
        state = read_json(state_file)
        if state.get("config_hash") == config_hash:
            return state
        raise TrainError(
            f"{out} holds a training run with other settings (hash {state.get('config_hash')}, now {config_hash}); "
            "choose another --out, or pass --overwrite to start over."
        )
    raise TrainError(f"Output folder {out} is not empty; choose an empty or new folder, or pass --overwrite.")


def plan_run(config: TrainConfig, data: Sequence[str | datasets.Dataset] | None = None) -> Plan:
    """Check everything that can be checked without weights; raise :class:`TrainError` on bad input."""
    if not config.out:
        raise TrainError("Pass --out DIR: the folder for checkpoints, the model and the report.")
    sources: Sequence[str | datasets.Dataset] = data if data is not None else config.data
    stages = config.stages()
    fingerprints = [s if isinstance(s, str) else f"dataset:{s._fingerprint}" for s in sources]
    hashed = TrainConfig(**{**config.to_dict(), "data": list(fingerprints)})
    config_hash = hashed.config_hash()
    out = Path(config.out).expanduser()
    if out.exists() and not out.is_dir():
        raise TrainError(f"--out {out} is a file; give a folder.")
    state = _check_out(out, config_hash, config.overwrite)
    model = resolve_model(config.model, config.cache_dir)
    per_stage = _rows_per_stage(config, stages, sources)
    tokenizer = model.tokenizer()
    model_config = model.config()
    checked: set[int] = set()
    plans: list[StagePlan] = []
    for stage, rows in zip(stages, per_stage, strict=True):
        if id(rows) not in checked:
            if rows.kind == "instruction":
                require_chat_template(tokenizer, model.name)
            check_tokenizer(rows, tokenizer, model.row_tokenizer_name())
            if (
                config.document_masking
                and rows.kind == "pretraining"
                and "piece_lengths" not in rows.dataset.column_names
            ):
                raise TrainError(
                    f"{rows.source} has no piece_lengths column; train without --document-masking."
                )
            checked.add(id(rows))
        longest = max(rows.lengths())  # instruction rows: n_tokens is the chat-template count
        if stage.max_length is not None and longest > stage.max_length:
            raise TrainError(
                f"Stage {stage.name!r} is for rows up to {stage.max_length:,} tokens, but {rows.source} has rows of "
                f"{longest:,}; give it rows of that length (e.g. a matching generate preset)."
            )
        current = int(getattr(model_config, "max_position_embeddings", 0) or 0)
        current_rope = dict(getattr(model_config, "rope_parameters", None) or {})
        if not stage.rope.is_scaling() and longest > current:
            raise TrainError(
                f"Rows of {rows.source} are {longest:,} tokens but {config.model} has {current:,} positions and no "
                "RoPE scaling was asked for: pass --rope-theta (ABF, e.g. 8e6 for 64K) or another --rope-type, or "
                "use a --schedule."
            )
        target = max(longest, stage.max_length or 0) if stage.rope.is_scaling() else current
        params, positions = rope_parameters(stage.rope, current_rope, target)
        if stage.rope.rope_type == "dynamic" and stage.rope.max_position_embeddings is None:
            # dynamic NTK raises the base only past max_position_embeddings: keep the trained context there
            positions = int(stage.rope.original_max_position_embeddings or current)
        plans.append(
            StagePlan(
                stage=stage,
                rows=rows,
                rope_params=params,
                max_positions=positions,
                longest_row=longest,
                steps=_steps(stage, rows, config),
                folder=out / "stages" / stage.name,
            )
        )
        apply_rope(model_config, params, positions)  # the next stage starts from this one
    return Plan(config, model, tokenizer, plans, out, config_hash, state)
