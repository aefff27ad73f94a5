"""Fixtures of the embedding tests: one small pool of demo chunks, the static and MiniLM embedders (the
static table is distilled once per session into the shared ``embeddings/`` cache folder)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from litelong_hf.corpus import Document
from litelong_hf.embeddings import Embedder, EmbeddingConfig, make_embedder
from litelong_hf.strategies.negatives.pool import ChunkPool
from litelong_hf.tokens import TokenCounter

sys.path.insert(0, str(Path(__file__).parents[1] / "llm"))  # the LLM tests' fault proxy


@pytest.fixture(scope="session")
def pool(demo_documents: list[Document]) -> ChunkPool:
    """About 200 chunks of 40 demo articles."""
    return ChunkPool.from_documents(demo_documents[:40], TokenCounter.get(), chunk_chars=600)


@pytest.fixture
def static_embedder() -> Embedder:
    return make_embedder(EmbeddingConfig(), show_progress=False)


@pytest.fixture(scope="session")
def minilm_embedder() -> Embedder:
    return make_embedder(EmbeddingConfig(backend="minilm"))
