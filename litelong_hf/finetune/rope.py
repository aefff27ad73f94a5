"""RoPE scaling through transformers v5 ``rope_parameters``, and a check of what the built model really uses.

transformers 5.x reads RoPE settings only from ``config.rope_parameters`` (a dict with ``rope_type`` and
``rope_theta``). Measured traps: ``config.rope_theta = x`` and ``from_pretrained(..., rope_theta=x)`` are
silently ignored, and a legacy ``rope_scaling`` dict replaces the parameters and drops ``rope_theta``. So
:func:`apply_rope` writes the whole dict, and :func:`verify_rope` recomputes the inverse frequencies and
attention scaling of each type here, independently of transformers, and compares them with the model's
rotary embedding buffers.

Types (``rope_type``):

- ``default`` with a raised ``rope_theta``: adjusted base frequency (ABF), what ProLong, LiteLong and NExtLong
  use;
- ``linear``: position interpolation, every frequency divided by ``factor``;
- ``dynamic``: NTK-aware base raised at run time once a sequence exceeds ``max_position_embeddings``;
- ``yarn``: NTK-by-parts interpolation plus attention temperature (needs ``original_max_position_embeddings``);
- ``llama3``: Llama-3.1's wavelength-banded interpolation (needs ``original_max_position_embeddings``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import TrainError

ROPE_TYPES = ("default", "linear", "dynamic", "yarn", "llama3")
"""Supported ``rope_type`` values (``default`` + a larger ``rope_theta`` is ABF)."""

_NEEDS_FACTOR = {"linear", "dynamic", "yarn", "llama3"}
_NEEDS_ORIGINAL = {"yarn", "llama3"}


@dataclass
class RopeSpec:
    """What a stage asks of RoPE; unset fields keep the model's own values."""

    rope_type: str = field(default="default", metadata={"help": f"One of {', '.join(ROPE_TYPES)}."})
    rope_theta: float | None = field(
        default=None, metadata={"help": "RoPE base frequency (ABF raises it, e.g. 8e6 for 64K)."}
    )
    factor: float | None = field(
        default=None, metadata={"help": "Scaling factor for linear, dynamic, yarn and llama3."}
    )
    original_max_position_embeddings: int | None = field(
        default=None, metadata={"help": "Context the model was trained on (yarn, llama3)."}
    )
    max_position_embeddings: int | None = field(
        default=None, metadata={"help": "New context length (default: the stage's longest row)."}
    )
    low_freq_factor: float = field(default=1.0, metadata={"help": "llama3: low-frequency band boundary."})
    high_freq_factor: float = field(default=4.0, metadata={"help": "llama3: high-frequency band boundary."})
    beta_fast: float = field(default=32.0, metadata={"help": "yarn: fast rotation boundary."})
    beta_slow: float = field(default=1.0, metadata={"help": "yarn: slow rotation boundary."})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RopeSpec:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainError(f"Unknown RoPE setting(s) {unknown}; known: {sorted(known)}.")
        return cls(**data)

    def is_scaling(self) -> bool:
        """Whether the stage extends the context (a scaling type, or a new base or position count)."""
        return (
            self.rope_type != "default"
            or self.rope_theta is not None
            or self.max_position_embeddings is not None
        )


def rope_parameters(
    spec: RopeSpec, model_rope: dict[str, Any], target_length: int
) -> tuple[dict[str, Any], int]:
    """The ``rope_parameters`` dict and ``max_position_embeddings`` for ``spec`` on a model.

    ``model_rope`` is the model's current ``config.rope_parameters`` (its ``rope_theta`` is kept unless the
    spec sets one). Raises :class:`TrainError` for an unknown type or a missing required value.
    """
    kind = spec.rope_type
    if kind not in ROPE_TYPES:
        raise TrainError(
            f"Unknown rope_type {kind!r}; use one of {', '.join(ROPE_TYPES)} (ABF is 'default' with a larger "
            "--rope-theta)."
        )
    theta = spec.rope_theta if spec.rope_theta is not None else model_rope.get("rope_theta")
    if theta is None or theta <= 0:
        raise TrainError("The model's config has no rope_theta; pass --rope-theta.")
    params: dict[str, Any] = {"rope_type": kind, "rope_theta": float(theta)}
    if kind in _NEEDS_FACTOR:
        if spec.factor is None or spec.factor <= 0:
            raise TrainError(f"rope_type {kind!r} needs a positive factor: pass --rope-factor (e.g. 4).")
        params["factor"] = float(spec.factor)
    if kind in _NEEDS_ORIGINAL:
        if spec.original_max_position_embeddings is None:
            raise TrainError(
                f"rope_type {kind!r} needs original_max_position_embeddings (the context the model was trained "
                "on, e.g. 8192 for SmolLM2): pass --original-max-position-embeddings."
            )
        params["original_max_position_embeddings"] = int(spec.original_max_position_embeddings)
    if kind == "llama3":
        params["low_freq_factor"] = float(spec.low_freq_factor)
        params["high_freq_factor"] = float(spec.high_freq_factor)
    if kind == "yarn":
        params["beta_fast"] = float(spec.beta_fast)
        params["beta_slow"] = float(spec.beta_slow)
    if "partial_rotary_factor" in model_rope:
        params["partial_rotary_factor"] = model_rope["partial_rotary_factor"]
    max_positions = spec.max_position_embeddings or target_length
    if spec.max_position_embeddings is not None and spec.max_position_embeddings < target_length:
        raise TrainError(
            f"max_position_embeddings {spec.max_position_embeddings} is shorter than the stage's rows "
            f"({target_length} tokens); raise it or leave it unset."
        )
    return params, int(max_positions)


def apply_rope(config: Any, params: dict[str, Any], max_positions: int) -> None:
    """Write the parameters into a transformers config (the only place transformers v5 reads them)."""
    config.rope_parameters = dict(params)
    config.max_position_embeddings = int(max_positions)


def _head_dim(config: Any) -> int:
    head_dim = getattr(config, "head_dim", None)
    if head_dim is None:
        head_dim = config.hidden_size // config.num_attention_heads
    rotary = float(config.rope_parameters.get("partial_rotary_factor", 1.0))
    return int(head_dim * rotary)


def expected_inv_freq(
    params: dict[str, Any], dim: int, max_positions: int, seq_len: int | None = None
) -> tuple[np.ndarray, float]:
    """Inverse frequencies and attention scaling of RoPE ``params`` for a head of ``dim`` rotary dims.

    Written from the papers (PI, NTK, YaRN, Llama-3.1), not from transformers, so it can check it.
    ``seq_len`` only matters for ``dynamic`` (the length the model last ran at).
    """
    base = float(params["rope_theta"])
    exponents = np.arange(0, dim, 2, dtype=np.float64) / dim
    inv = 1.0 / base**exponents
    kind = params["rope_type"]
    if kind == "default":
        return inv, 1.0
    factor = float(params["factor"])
    if kind == "linear":
        return inv / factor, 1.0
    if kind == "dynamic":
        length = max(seq_len or 0, max_positions)
        scaled_base = base * ((factor * length / max_positions) - (factor - 1)) ** (dim / (dim - 2))
        return 1.0 / scaled_base**exponents, 1.0
    original = int(params["original_max_position_embeddings"])
    if kind == "llama3":
        low, high = float(params["low_freq_factor"]), float(params["high_freq_factor"])
        wavelen = 2 * math.pi / inv
        out = np.where(wavelen > original / low, inv / factor, inv)
        smooth = (original / wavelen - low) / (high - low)
        medium = (wavelen >= original / high) & (wavelen <= original / low)
        return np.where(medium, (1 - smooth) * inv / factor + smooth * inv, out), 1.0

    # yarn: dimensions that rotate fast keep their frequency, slow ones are interpolated, a ramp between
    def correction_dim(rotations: float) -> float:
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low_dim = max(math.floor(correction_dim(float(params["beta_fast"]))), 0)
    high_dim = min(math.ceil(correction_dim(float(params["beta_slow"]))), dim - 1)
    if low_dim == high_dim:
        high_dim += 0.001  # type: ignore[assignment]
    ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low_dim) / (high_dim - low_dim), 0, 1)
    keep = 1 - ramp
    scaling = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
    return (inv / factor) * (1 - keep) + inv * keep, scaling


def rotary_module(model: Any) -> Any:
    """The model's rotary embedding module (``model.model.rotary_emb`` for Llama-style models)."""
    for name, module in model.named_modules():
        if name.endswith("rotary_emb") and hasattr(module, "inv_freq"):
            return module
    raise TrainError(f"{type(model).__name__} has no rotary embedding with inv_freq; is it a RoPE model?")


def verify_rope(model: Any, params: dict[str, Any], *, rtol: float = 1e-4) -> dict[str, Any]:
    """Check that the built model's rotary embedding uses ``params``; return what was checked.

    Raises ``RuntimeError`` (a bug, not user input) if the model's ``inv_freq`` or attention scaling differ
    from :func:`expected_inv_freq`: that is exactly the silent-ignore failure transformers is known for.
    """
    rotary = rotary_module(model)
    config = model.config
    dim = _head_dim(config)
    actual = rotary.inv_freq.detach().double().cpu().numpy()
    expected, scaling = expected_inv_freq(params, dim, int(config.max_position_embeddings))
    actual_scaling = float(getattr(rotary, "attention_scaling", 1.0))
    if actual.shape != expected.shape or not np.allclose(actual, expected, rtol=rtol, atol=0):
        worst = (
            float(np.max(np.abs(actual - expected) / expected))
            if actual.shape == expected.shape
            else math.inf
        )
        raise RuntimeError(
            f"The model's rotary inv_freq does not match rope_parameters {params} (max relative error "
            f"{worst:.3g}); transformers ignored part of the RoPE config."
        )
    if not math.isclose(actual_scaling, scaling, rel_tol=rtol):
        raise RuntimeError(
            f"The model's attention scaling is {actual_scaling}, expected {scaling} for rope_parameters {params}."
        )
    return {
        "rope_parameters": dict(params),
        "max_position_embeddings": int(config.max_position_embeddings),
        "rotary_dims": dim,
        "inv_freq_first": float(actual[0]),
        "inv_freq_last": float(actual[-1]),
        "attention_scaling": actual_scaling,
        "verified": True,
    }
