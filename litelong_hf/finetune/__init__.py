"""Companion fine-tuning: RoPE-scaled continued pretraining and SFT with TRL on litelong-hf rows.

Needs the ``train`` extra (``pip install 'litelong-hf[train]'``). Entry points: :func:`train` (Python) and
``litelong-hf train`` (CLI). See docs/finetune.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import Stage, TrainConfig, load_schedule, schedule_names
from .errors import TrainError
from .rope import ROPE_TYPES, RopeSpec, expected_inv_freq, verify_rope

if TYPE_CHECKING:
    from .trainer import Plan, TrainResult, plan_run, run, train

_TRAINER_NAMES = ("Plan", "TrainResult", "plan_run", "run", "train")


def __getattr__(name: str) -> Any:
    # The trainer imports datasets; `litelong-hf --help` reads only the config's help texts.
    if name in _TRAINER_NAMES:
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ROPE_TYPES",
    "Plan",
    "RopeSpec",
    "Stage",
    "TrainConfig",
    "TrainError",
    "TrainResult",
    "expected_inv_freq",
    "load_schedule",
    "plan_run",
    "run",
    "schedule_names",
    "train",
    "verify_rope",
]
