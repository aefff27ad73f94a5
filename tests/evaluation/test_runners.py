"""Runners: the length check against a model's positions, and the real embedded model end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from litelong_hf.evaluation.results import run_suite
from litelong_hf.evaluation.ruler import SuiteConfig, generate_suite
from litelong_hf.evaluation.runners import (
    LengthBeyondModelError,
    ScriptedRunner,
    check_positions,
    embedded_runner,
    wrong_answer,
)
from litelong_hf.tokens import TokenCounter


def test_a_length_beyond_the_positions_says_how_to_allow_it() -> None:
    runner = ScriptedRunner("tiny-model", wrong_answer, TokenCounter.get(), max_positions=8192)
    check_positions(runner, [4096], 128, allow_longer=False)
    with pytest.raises(LengthBeyondModelError) as info:
        check_positions(runner, [4096, 16384], 128, allow_longer=False)
    message = str(info.value)
    assert "16,384" in message and "8,192 positions of tiny-model" in message
    assert "--allow-longer" in message and "--lengths up to 8,000" in message
    check_positions(runner, [16384], 128, allow_longer=True)


@pytest.mark.integration
def test_the_embedded_model_answers_samples_exact_in_its_own_tokenizer() -> None:
    config = SuiteConfig(tasks=("passkey",), lengths=(300,), depths=(0.5,), samples=2)
    runner = embedded_runner(max(config.lengths), config.max_new_tokens())
    assert runner.max_positions == 8192  # SmolLM2's trained window, from the GGUF
    samples = list(generate_suite(config, runner.tokenizer))
    assert all(len(runner.tokenizer.encode(s.input)) == 300 for s in samples)
    # SmolLM2's tokenizer is not Llama-3's: the same prompt has another length there.
    assert any(len(TokenCounter.get().encode(s.input)) != 300 for s in samples)
    result = run_suite(runner, samples, config)
    assert len(result.samples) == 2
    assert all(isinstance(r["prediction"], str) and r["prediction"] for r in result.samples)
    assert 0.0 <= result.overall <= 100.0


@pytest.mark.integration
def test_a_transformers_model_from_a_local_folder(tmp_path: Path) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from litelong_hf.evaluation.runners import TransformersRunner
    from litelong_hf.resources import llama3_tokenizer_dir

    torch.manual_seed(0)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(llama3_tokenizer_dir() / "tokenizer.json"),
        bos_token="<|begin_of_text|>",
        eos_token="<|end_of_text|>",
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
    )
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)

    runner = TransformersRunner(str(tmp_path), device="cpu")
    assert runner.max_positions == 512
    with pytest.raises(LengthBeyondModelError, match="512 positions"):
        check_positions(runner, [1024], 16, allow_longer=False)
    suite = SuiteConfig(tasks=("passkey",), lengths=(200,), depths=(0.5,))
    samples = list(generate_suite(suite, runner.tokenizer))
    assert len(runner.tokenizer.encode(samples[0].input)) == 200
    result = run_suite(runner, samples, suite)
    assert isinstance(result.samples[0]["prediction"], str)
    assert result.overall == 0.0  # an untrained model does not find the pass key
