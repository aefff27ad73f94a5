"""RoPE parameters reach the instantiated model: its rotary inv_freq and attention scaling, per type."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from litelong_hf.finetune.errors import TrainError
from litelong_hf.finetune.rope import (
    RopeSpec,
    apply_rope,
    expected_inv_freq,
    rope_parameters,
    rotary_module,
    verify_rope,
)

HEAD_DIM = 16
BASE_THETA = 10000.0


def _config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rope_parameters={"rope_type": "default", "rope_theta": BASE_THETA},
    )


def _build(spec: RopeSpec, target: int = 1024) -> tuple[Any, dict[str, Any]]:
    config = _config()
    params, positions = rope_parameters(spec, dict(config.rope_parameters or {}), target)
    apply_rope(config, params, positions)
    return LlamaForCausalLM(config), params


def _inv_freq(model: Any) -> np.ndarray:
    return rotary_module(model).inv_freq.double().numpy()


def _default(theta: float = BASE_THETA) -> np.ndarray:
    return 1.0 / theta ** (np.arange(0, HEAD_DIM, 2) / HEAD_DIM)


def test_abf_raises_the_base_frequency_of_the_built_model() -> None:
    model, params = _build(RopeSpec(rope_theta=8e6))
    assert params == {"rope_type": "default", "rope_theta": 8e6}
    assert model.config.max_position_embeddings == 1024
    np.testing.assert_allclose(_inv_freq(model), _default(8e6), rtol=1e-6)
    assert verify_rope(model, params)["verified"]


def test_linear_divides_every_frequency_by_the_factor() -> None:
    model, params = _build(RopeSpec(rope_type="linear", factor=4.0))
    np.testing.assert_allclose(_inv_freq(model), _default() / 4.0, rtol=1e-6)
    assert verify_rope(model, params)["attention_scaling"] == 1.0


def test_yarn_interpolates_slow_dimensions_and_sets_attention_temperature() -> None:
    spec = RopeSpec(rope_type="yarn", factor=4.0, original_max_position_embeddings=256, rope_theta=BASE_THETA)
    model, params = _build(spec)
    actual = _inv_freq(model)
    assert actual[0] == pytest.approx(_default()[0])  # the fastest dimension keeps its frequency
    assert actual[-1] == pytest.approx(_default()[-1] / 4.0)  # the slowest is interpolated
    checked = verify_rope(model, params)
    assert checked["attention_scaling"] == pytest.approx(0.1 * math.log(4.0) + 1.0)


def test_llama3_bands() -> None:
    spec = RopeSpec(rope_type="llama3", factor=8.0, original_max_position_embeddings=64, rope_theta=5e5)
    model, params = _build(spec)
    actual = _inv_freq(model)
    base = _default(5e5)
    wavelen = 2 * math.pi / base
    high = wavelen < 64 / 4.0
    low = wavelen > 64 / 1.0
    assert high.any() and low.any()
    np.testing.assert_allclose(actual[high], base[high], rtol=1e-6)
    np.testing.assert_allclose(actual[low], base[low] / 8.0, rtol=1e-6)
    verify_rope(model, params)


def test_dynamic_keeps_trained_context_and_raises_base_past_it() -> None:
    config = _config()
    params, _ = rope_parameters(
        RopeSpec(rope_type="dynamic", factor=2.0), dict(config.rope_parameters or {}), 1024
    )
    apply_rope(config, params, 256)  # dynamic scales past max_position_embeddings: keep the trained 256
    model = LlamaForCausalLM(config).eval()
    verify_rope(model, params)  # at init: the unscaled frequencies
    with torch.no_grad():
        model(torch.zeros((1, 600), dtype=torch.long))
    expected, _ = expected_inv_freq(params, HEAD_DIM, 256, seq_len=600)
    np.testing.assert_allclose(_inv_freq(model), expected, rtol=1e-5)
    assert _inv_freq(model)[-1] < _default()[-1]


def test_verify_catches_the_silently_ignored_rope_theta_attribute() -> None:
    config = _config()
    config.rope_theta = 8e6  # measured trap: transformers 5 ignores this attribute
    model = LlamaForCausalLM(config)
    with pytest.raises(RuntimeError, match="inv_freq"):
        verify_rope(model, {"rope_type": "default", "rope_theta": 8e6})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (RopeSpec(rope_type="ntk-by-parts"), "Unknown rope_type"),
        (RopeSpec(rope_type="yarn", factor=4.0), "original_max_position_embeddings"),
        (RopeSpec(rope_type="llama3", factor=8.0), "original_max_position_embeddings"),
        (RopeSpec(rope_type="linear"), "factor"),
        (RopeSpec(rope_theta=1e6, max_position_embeddings=512), "shorter"),
    ],
)
def test_bad_rope_settings_name_the_fix(spec: RopeSpec, message: str) -> None:
    with pytest.raises(TrainError, match=message):
        rope_parameters(spec, {"rope_type": "default", "rope_theta": BASE_THETA}, 1024)
