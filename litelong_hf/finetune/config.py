"""Training configuration: one :class:`TrainConfig` per run, one :class:`Stage` per context length.

A run is a list of stages; each stage starts from the model the previous one produced. Stages come from a
schedule preset (``configs/train/<name>.yaml``, see :func:`load_schedule`) or, without ``--schedule``, from
the single-stage fields of :class:`TrainConfig` (``--rope-type``, ``--rope-theta``, ``--learning-rate``...).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..fields import check_field_metadata
from .errors import TrainError
from .rope import RopeSpec

SCHEDULE_PACKAGE = "litelong_hf.presets"
SCHEDULE_FOLDER = "train"


@dataclass
class Stage:
    """One stage of a schedule: a context length, a RoPE setting, an optimizer setting and a token budget."""

    name: str = field(metadata={"help": "Stage name, e.g. 64k; the stage's folder under OUT/stages/."})
    rope: RopeSpec = field(default_factory=RopeSpec, metadata={"help": "RoPE parameters of this stage."})
    learning_rate: float = field(default=2e-5, metadata={"help": "Peak learning rate."})
    max_length: int | None = field(
        default=None, metadata={"help": "Intended row length; rows longer than this are an error."}
    )
    max_tokens: int | None = field(
        default=None, metadata={"help": "Token budget; sets the number of steps (max_steps wins)."}
    )
    max_steps: int | None = field(default=None, metadata={"help": "Optimizer steps (overrides max_tokens)."})
    num_epochs: float = field(default=1.0, metadata={"help": "Passes over the rows when no budget is set."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Share of steps spent warming up."})
    data: int | None = field(
        default=None,
        metadata={"help": "Index of the --data source for this stage (default: the stage's own position)."},
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stage:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainError(f"Unknown stage setting(s) {unknown}; known: {sorted(known)}.")
        if "name" not in data:
            raise TrainError("Every stage needs a name (e.g. name: 64k).")
        values = dict(data)
        values["rope"] = RopeSpec.from_dict(dict(values.get("rope") or {}))
        for key in ("learning_rate", "warmup_ratio", "num_epochs"):
            if key in values:
                values[key] = float(values[key])
        for key in ("max_tokens", "max_steps", "max_length"):
            if values.get(key) is not None:
                values[key] = int(values[key])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TrainConfig:
    """Everything ``litelong-hf train`` needs; every field is a CLI flag of the same name (``panel``: its
    group in ``--help``; ``min``: checked here as in every run config)."""

    data: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Rows: a `litelong-hf generate --out` folder, a saved datasets folder, or a Hub repo id "
            "(with --data-config). Give one for all stages or one per stage."
        },
    )
    out: str = field(default="", metadata={"help": "Output folder (must be empty, or a run to resume)."})
    model: str = field(
        default="smollm2",
        metadata={
            "help": "Model: 'smollm2' (the packaged SmolLM2-135M-Instruct, converted from GGUF once), a local "
            "HF model folder, a .gguf file, or a Hub id."
        },
    )
    data_config: str | None = field(default=None, metadata={"help": "Config name of a Hub dataset repo."})
    split: str = field(default="train", metadata={"help": "Split of a Hub dataset repo."})
    schedule: str | None = field(
        default=None,
        metadata={"help": "Staged schedule: a preset (prolong, litelong, hierarchical, ...) or a YAML path."},
    )
    rope_type: str = field(
        default="default", metadata={"panel": "RoPE", "help": "Single stage: RoPE type (ABF = default)."}
    )
    rope_theta: float | None = field(
        default=None, metadata={"panel": "RoPE", "help": "Single stage: RoPE base frequency."}
    )
    rope_factor: float | None = field(
        default=None,
        metadata={"panel": "RoPE", "help": "Single stage: factor for linear/dynamic/yarn/llama3."},
    )
    original_max_position_embeddings: int | None = field(
        default=None,
        metadata={"panel": "RoPE", "help": "Single stage: the model's trained context (yarn, llama3)."},
    )
    max_position_embeddings: int | None = field(
        default=None,
        metadata={"panel": "RoPE", "help": "Single stage: new context length (default: longest row)."},
    )
    learning_rate: float | None = field(
        default=None,
        metadata={"panel": "Optimization", "help": "Peak learning rate (overrides every stage's)."},
    )
    max_steps: int | None = field(
        default=None, metadata={"panel": "Optimization", "help": "Steps per stage (overrides budgets)."}
    )
    max_tokens: int | None = field(
        default=None, metadata={"panel": "Optimization", "help": "Token budget per stage."}
    )
    num_epochs: float | None = field(
        default=None, metadata={"panel": "Optimization", "help": "Epochs per stage when no budget."}
    )
    warmup_ratio: float | None = field(
        default=None, metadata={"panel": "Optimization", "help": "Warm-up share of the steps."}
    )
    batch_size: int = field(
        default=1, metadata={"panel": "Optimization", "min": 1, "help": "Rows per device per micro-step."}
    )
    gradient_accumulation_steps: int = field(
        default=1, metadata={"panel": "Optimization", "min": 1, "help": "Micro-steps per optimizer step."}
    )
    weight_decay: float = field(
        default=0.1, metadata={"panel": "Optimization", "help": "AdamW weight decay."}
    )
    lr_scheduler_type: str = field(
        default="cosine", metadata={"panel": "Optimization", "help": "transformers scheduler name."}
    )
    seed: int = field(default=42, metadata={"help": "Seed of data order and initialisation."})
    save_steps: int = field(
        default=50, metadata={"min": 1, "help": "Checkpoint every N steps (resume point)."}
    )
    logging_steps: int = field(default=1, metadata={"min": 1, "help": "Log loss every N steps."})
    gradient_checkpointing: bool = field(
        default=True, metadata={"help": "Recompute activations (long rows)."}
    )
    document_masking: bool = field(
        default=False,
        metadata={"help": "Restart positions per piece (piece_lengths): no attention across documents."},
    )
    attn_implementation: str = field(
        default="auto",
        metadata={"help": "auto (flash_attention_2 on a GPU that has it, else sdpa), sdpa, eager, ..."},
    )
    precision: str = field(default="auto", metadata={"help": "auto (bf16 where supported), bf16, fp32."})
    push_to_hub: str | None = field(
        default=None, metadata={"panel": "Hub", "help": "Model repo id to publish the result to."}
    )
    hub_private: bool = field(
        default=False, metadata={"panel": "Hub", "help": "Create the Hub repo private."}
    )
    overwrite: bool = field(default=False, metadata={"help": "Delete a non-empty output folder first."})
    cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "litelong-hf cache root for the converted GGUF model and its tokenizer (default: "
            "$LITELONG_HF_CACHE, else ~/.cache/litelong_hf)."
        },
    )

    def __post_init__(self) -> None:
        check_field_metadata(self, TrainError)

    def single_stage(self) -> Stage:
        """The stage described by the single-stage fields (used without --schedule)."""
        rope = RopeSpec(
            rope_type=self.rope_type,
            rope_theta=self.rope_theta,
            factor=self.rope_factor,
            original_max_position_embeddings=self.original_max_position_embeddings,
            max_position_embeddings=self.max_position_embeddings,
        )
        return Stage(name="stage-1", rope=rope)

    def stages(self) -> list[Stage]:
        """The stages of this run, with the run-wide overrides applied."""
        if self.schedule:
            rope_flags = (
                self.rope_theta,
                self.rope_factor,
                self.original_max_position_embeddings,
                self.max_position_embeddings,
            )
            if self.rope_type != "default" or any(v is not None for v in rope_flags):
                raise TrainError(
                    "--schedule sets RoPE per stage; drop the --rope-* flags or copy the preset YAML and edit it."
                )
            stages = load_schedule(self.schedule)["stages"]
        else:
            stages = [self.single_stage()]
        for stage in stages:
            if self.learning_rate is not None:
                stage.learning_rate = self.learning_rate
            if self.max_steps is not None:
                stage.max_steps = self.max_steps
            if self.max_tokens is not None:
                stage.max_tokens = self.max_tokens
            if self.num_epochs is not None:
                stage.num_epochs = self.num_epochs
            if self.warmup_ratio is not None:
                stage.warmup_ratio = self.warmup_ratio
        return stages

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def config_hash(self) -> str:
        """Hash of what changes the trained weights (not the output folder, Hub target or overwrite flag)."""
        values = self.to_dict()
        for key in (
            "out",
            "push_to_hub",
            "hub_private",
            "overwrite",
            "save_steps",
            "logging_steps",
            "cache_dir",
        ):
            values.pop(key, None)
        values["stages"] = [s.to_dict() for s in self.stages()]
        blob = json.dumps(values, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def schedule_names() -> list[str]:
    """Names of the packaged schedule presets."""
    folder = resources.files(SCHEDULE_PACKAGE) / SCHEDULE_FOLDER
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_schedule(name_or_path: str) -> dict[str, Any]:
    """A schedule preset by name or a YAML file: ``{"name", "description", "stages": [Stage, ...]}``."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise TrainError(f"Schedule file {path} does not exist.")
        text = path.read_text(encoding="utf-8")
    else:
        preset = resources.files(SCHEDULE_PACKAGE) / SCHEDULE_FOLDER / f"{name_or_path}.yaml"
        if not preset.is_file():
            raise TrainError(
                f"Unknown schedule {name_or_path!r}; presets: {', '.join(schedule_names())} (or a YAML path)."
            )
        text = preset.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TrainError(f"Schedule {name_or_path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("stages"), list) or not raw["stages"]:
        raise TrainError(f"Schedule {name_or_path} needs a non-empty 'stages' list.")
    stages = [Stage.from_dict(dict(s)) for s in raw["stages"]]
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise TrainError(f"Schedule {name_or_path} repeats a stage name: {names}.")
    return {"name": raw.get("name", path.stem), "description": raw.get("description", ""), "stages": stages}
