"""Transformer backends: the packaged MiniLM through plain ``transformers`` (the reference and baseline),
and any sentence-transformers model id or folder (``--embedding-model``, e.g. jina-embeddings-v3)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .config import EmbeddingError, digest
from .static import normalize


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 exactly as sentence-transformers runs it (mean pooling over the attention mask,
    unit length, ``max_seq_length`` tokens), with only ``transformers`` and ``torch``."""

    def __init__(
        self, folder: Path, max_seq_length: int = 256, passage_prompt: str = "", query_prompt: str = ""
    ) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise EmbeddingError(
                f"The minilm embedding backend needs torch and transformers ({exc}); install the `train` extra."
            ) from None
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModel.from_pretrained(str(folder)).eval()
        self.max_seq_length = max_seq_length
        self.passage_prompt, self.query_prompt = passage_prompt, query_prompt
        self.dim = int(self.model.config.hidden_size)
        self.name = "minilm:all-MiniLM-L6-v2"
        self._fingerprint = digest(["minilm", (folder / "model.safetensors").stat().st_size, max_seq_length])

    def fingerprint(self) -> str:
        return f"minilm-{self._fingerprint}"

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        prompt = self.query_prompt if query else self.passage_prompt
        torch = self._torch
        batch = self.tokenizer(
            [prompt + t for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_tensors="pt",
        )
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return normalize(pooled.float().numpy())


class SentenceTransformerEmbedder:
    """Any sentence-transformers model (id or folder), with its named task prompt or a literal prefix."""

    def __init__(
        self,
        model: str,
        task: str | None = None,
        passage_prompt: str = "",
        query_prompt: str = "",
        query_task: str | None = None,
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EmbeddingError(
                "The sentence-transformers embedding backend needs the package: pip install sentence-transformers "
                "(or use backend 'static' or an endpoint)."
            ) from None
        try:
            # Remote code: models such as jina-embeddings-v3 ship their own modules; the user names the model.
            self.model: Any = SentenceTransformer(model, trust_remote_code=True)
        except OSError as exc:
            raise EmbeddingError(
                f"Cannot load the embedding model {model!r} ({exc}); pass a local folder or a Hub id."
            ) from None
        self.task, self.passage_prompt, self.query_prompt = task, passage_prompt, query_prompt
        self.query_task = query_task or task
        dimension = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        self.name = f"sentence-transformers:{model}"
        self._fingerprint = digest(["st", model, task, self.query_task, passage_prompt, query_prompt])

    def fingerprint(self) -> str:
        return f"st-{self._fingerprint}"

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        prompt = self.query_prompt if query else self.passage_prompt
        options: dict[str, Any] = {
            "normalize_embeddings": True,
            "convert_to_numpy": True,
            "show_progress_bar": False,
        }
        task = self.query_task if query else self.task
        prompts = getattr(self.model, "prompts", None) or {}
        if task and task in prompts:
            options["prompt_name"] = task
        elif task:
            options["task"] = task  # jina-embeddings-v3's custom encode takes task=
        vectors = self.model.encode([prompt + t for t in texts], **options)
        return normalize(np.asarray(vectors, dtype=np.float32))
