"""Dense embeddings of chunks: one config, four backends, one on-disk vector store.

* ``static`` (default): a static token table distilled once, offline, from the packaged all-MiniLM-L6-v2
  (:mod:`.static`); thousands of chunks per second on two CPU cores.
* ``minilm``: the packaged MiniLM itself through plain ``transformers`` (:mod:`.models`), the reference.
* ``sentence-transformers``: any model id or folder, with its task prompt (jina-embeddings-v3, e5, ...).
* ``endpoint``: Text Embeddings Inference ``/embed`` or OpenAI-compatible ``/v1/embeddings``
  (:mod:`.endpoint`), batched, bounded, retried and cached.

Vectors are unit length, so cosine similarity is the inner product. :class:`VectorStore` keeps the vectors
of one corpus snapshot under one model on disk (float16 or int8), resumable batch by batch; the FAISS index
that searches them is :class:`litelong_hf.index.DenseIndex`::

    embedder = make_embedder(EmbeddingConfig())
    vectors = embedder.embed(["the sun is a star", "cats purr"])     # (2, 384) float32, unit rows
"""

from __future__ import annotations

from pathlib import Path

from .config import BACKENDS, EmbeddingConfig, EmbeddingError, minilm_dir
from .store import Embedder, VectorStore, quantize_int8


def make_embedder(
    config: EmbeddingConfig | None = None, *, cache_dir: str | Path | None = None, show_progress: bool = True
) -> Embedder:
    """The embedder ``config`` describes (the static table is distilled on first use, once per machine)."""
    config = config or EmbeddingConfig()
    if config.backend == "static":
        from .static import StaticEmbedder, static_model_dir

        folder = static_model_dir(cache_dir, show_progress=show_progress)
        return StaticEmbedder(folder, config.passage_prompt, config.query_prompt)
    if config.backend == "minilm":
        from .models import MiniLMEmbedder

        return MiniLMEmbedder(minilm_dir(), config.max_seq_length, config.passage_prompt, config.query_prompt)
    if config.backend == "sentence-transformers":
        from .models import SentenceTransformerEmbedder

        assert config.model
        return SentenceTransformerEmbedder(
            config.model, config.task, config.passage_prompt, config.query_prompt, config.query_task
        )
    from .endpoint import EndpointEmbedder

    return EndpointEmbedder(config, None if cache_dir is None else str(cache_dir))


__all__ = [
    "BACKENDS",
    "Embedder",
    "EmbeddingConfig",
    "EmbeddingError",
    "VectorStore",
    "make_embedder",
    "minilm_dir",
    "quantize_int8",
]
