"""The retrieval options of NExtLong mining, shared by ``nextlong`` and ``litelong-nextlong`` configs.

:class:`RetrievalOptions` is a dataclass mixin: its fields become config fields (and CLI flags) of every
config that inherits it. ``retriever`` picks the backend (``bm25``, ``dense``, ``hybrid``), the
``embedding_*`` fields build the :class:`~litelong_hf.embeddings.config.EmbeddingConfig` of the dense side,
and the ``near_copy_*`` fields the :class:`~.nearcopy.NearCopySettings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ...embeddings.config import APIS, BACKENDS, DTYPES, EmbeddingConfig
from .nearcopy import NearCopySettings

RETRIEVERS = ("bm25", "dense", "hybrid")


@dataclass
class RetrievalOptions:
    """Which retriever mines the negatives, how the dense side embeds, and which near-copies are dropped."""

    retriever: str = field(
        default="bm25",
        metadata={
            "choices": RETRIEVERS,
            "help": (
                "How hard negatives are found: ``bm25`` (lexical, the LiteLong paper's BM25-NExtLong), ``dense`` "
                "(cosine of embeddings, as the NExtLong paper; FAISS over vectors computed once per corpus "
                "snapshot and model) or ``hybrid`` (reciprocal-rank fusion of both)."
            ),
        },
    )
    embedding_backend: str | None = field(
        default=None,
        metadata={
            "choices": BACKENDS,
            "help": (
                "Dense embeddings: ``static`` (embedded, fast on CPU), ``minilm`` (the packaged all-MiniLM-L6-v2), "
                "``sentence-transformers`` or ``endpoint``; ``None``: ``endpoint`` when embedding_endpoint is set, "
                "``sentence-transformers`` when embedding_model is, else ``static``."
            ),
        },
    )
    embedding_model: str | None = field(
        default=None,
        metadata={
            "help": (
                "A sentence-transformers model id or folder (e.g. ``jinaai/jina-embeddings-v3``), or the model name "
                "sent to an OpenAI-compatible embedding endpoint."
            )
        },
    )
    embedding_endpoint: str | None = field(
        default=None,
        metadata={"help": "Base URL of a Text Embeddings Inference or OpenAI-compatible embedding server."},
    )
    embedding_api: str = field(
        default="auto",
        metadata={
            "choices": APIS,
            "help": "Endpoint dialect: ``tei`` (``/embed``), ``openai`` (``/v1/embeddings``) or ``auto``.",
        },
    )
    embedding_api_key_env: str = field(
        default="LITELONG_HF_EMBEDDING_API_KEY",
        metadata={
            "help": "Environment variable holding the embedding endpoint's key (never stored or logged)."
        },
    )
    embedding_task: str | None = field(
        default=None,
        metadata={"help": "The model's named prompt/task (jina-embeddings-v3: ``retrieval.passage``)."},
    )
    embedding_passage_prompt: str = field(
        default="", metadata={"help": "Prefix put before every chunk text (e.g. ``passage: ``)."}
    )
    embedding_query_prompt: str = field(
        default="", metadata={"help": "Prefix put before every query text (e.g. ``query: ``)."}
    )
    embedding_batch_size: int = field(
        default=64, metadata={"min": 1, "help": "Texts per embedding batch (and per endpoint request)."}
    )
    embedding_max_concurrency: int = field(
        default=4, metadata={"min": 1, "help": "Embedding requests in flight at once (endpoint only)."}
    )
    embedding_dtype: str = field(
        default="float16",
        metadata={"choices": DTYPES, "help": "How vectors are stored on disk: ``float16`` or ``int8``."},
    )
    hybrid_rrf_k: int = field(
        default=60, metadata={"min": 0, "help": "``hybrid``: the reciprocal-rank fusion constant."}
    )
    hybrid_depth: int = field(
        default=100,
        metadata={
            "min": 1,
            "help": "``hybrid``: hits fetched from each of BM25 and dense per query, at least.",
        },
    )
    near_copy_jaccard: float | None = field(
        default=0.5,
        metadata={
            "help": (
                "Drop a candidate negative whose 8-word-shingle Jaccard with a meta-chunk of the row, or with a "
                "negative already in it, is at least this (``None``: no shingle test)."
            )
        },
    )
    near_copy_cosine: float | None = field(
        default=None,
        metadata={
            "help": (
                "``dense`` / ``hybrid``: also drop a candidate whose embedding cosine with a meta-chunk or a "
                "negative of the row is at least this (``None``, the default: no cosine test; the scale is the "
                "model's: the static model puts unrelated chunks of one topic above 0.95, MiniLM near-copies "
                "above 0.98)."
            )
        },
    )
    hardness_cosine: bool | None = field(
        default=None,
        metadata={
            "help": (
                "Report the mean embedding cosine of negatives vs random chunks; ``None``: for ``dense`` and "
                "``hybrid`` only (a ``bm25`` run would have to embed the whole pool)."
            )
        },
    )

    def check_retrieval(self, error: type[Exception]) -> None:
        """Raise ``error`` for thresholds outside (0, 1]."""
        try:
            self.near_copy_settings()
        except ValueError as exc:
            raise error(
                f"{exc} Set near_copy_jaccard / near_copy_cosine to a share like 0.5, or None."
            ) from None

    @property
    def cosine_hardness(self) -> bool:
        """Whether the hardness report holds embedding cosines (``hardness_cosine``, or dense/hybrid)."""
        return self.retriever != "bm25" if self.hardness_cosine is None else self.hardness_cosine

    @property
    def uses_dense(self) -> bool:
        """Whether the run needs the pool's embeddings (dense or hybrid search, or cosine hardness)."""
        return self.retriever != "bm25" or self.cosine_hardness

    def near_copy_settings(self) -> NearCopySettings:
        cosine = self.near_copy_cosine if self.retriever != "bm25" else None
        return NearCopySettings(jaccard=self.near_copy_jaccard, cosine=cosine)

    def embedding_config(self) -> EmbeddingConfig:
        """The :class:`EmbeddingConfig` of these fields (the key read from ``embedding_api_key_env``)."""
        options: dict[str, Any] = {
            "api": self.embedding_api,
            "passage_prompt": self.embedding_passage_prompt,
            "query_prompt": self.embedding_query_prompt,
            "task": self.embedding_task,
            "batch_size": self.embedding_batch_size,
            "max_concurrency": self.embedding_max_concurrency,
            "dtype": self.embedding_dtype,
            "api_key": os.environ.get(self.embedding_api_key_env) or None,
        }
        if self.embedding_backend is not None:
            return EmbeddingConfig(
                backend=self.embedding_backend,
                model=self.embedding_model,
                endpoint=self.embedding_endpoint,
                **options,
            )
        return EmbeddingConfig.from_options(
            model=self.embedding_model, endpoint=self.embedding_endpoint, **options
        )
