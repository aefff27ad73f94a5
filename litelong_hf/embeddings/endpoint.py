"""Embeddings from a server: Text Embeddings Inference (``POST /embed``) or any OpenAI-compatible
``POST /v1/embeddings``, batched, with bounded concurrency, retries with backoff and a request cache.

The cache holds one vector per text, keyed like the LLM cache (:mod:`litelong_hf.llm.cache`): a SHA-256 of the
model id, the API shape and the text sent, never the URL or the key, so a re-run (or the same model behind
another URL) re-sends only texts it has not seen. Keys go into the ``Authorization`` header and nowhere else:
every error message is scrubbed of them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2
import numpy as np

from ..layout import embedding_request_cache_dir
from ..llm.backoff import RETRYABLE_STATUS, parse_retry_after, retry_delay
from ..llm.cache import CachedAnswer, RequestCache
from ..secrets import scrub_text
from .config import EmbeddingConfig, EmbeddingError, digest
from .static import normalize

logger = logging.getLogger("litelong_hf.embeddings")

CACHE_FORMAT = 1
_EXCERPT_CHARS = 300


def embedding_request_key(model_id: str, api: str, text: str) -> str:
    """SHA-256 (hex) of what determines one vector: model id, API shape and the exact text sent (pure)."""
    payload = {"v": CACHE_FORMAT, "kind": "embedding", "model": model_id, "api": api, "input": text}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def encode_vector(vector: np.ndarray) -> str:
    """A float32 vector as base64 text (how the request cache stores it; pure)."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    """Inverse of :func:`encode_vector`."""
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)


def parse_embeddings(api: str, data: Any, expected: int) -> list[list[float]]:
    """The vectors of a TEI (``[[...], ...]``) or OpenAI (``{"data": [{"index", "embedding"}]}``) answer,
    in input order; raises ``ValueError`` on any other shape (pure)."""
    if api == "tei":
        vectors = data
    else:
        items = sorted(data["data"], key=lambda item: int(item["index"]))
        vectors = [item["embedding"] for item in items]
    if not isinstance(vectors, list) or len(vectors) != expected:
        raise ValueError(f"expected {expected} vectors")
    if not all(isinstance(v, list) and v and all(isinstance(x, int | float) for x in v) for v in vectors):
        raise ValueError("a vector is not a list of numbers")
    return vectors


class _Retryable(Exception):
    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class EndpointEmbedder:
    """Texts to unit vectors through a TEI or OpenAI-compatible embeddings server (see the module docstring)."""

    def __init__(self, config: EmbeddingConfig, cache_dir: str | None = None) -> None:
        assert config.endpoint
        self.config = config
        parts = urlsplit(config.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise EmbeddingError(
                f"embedding endpoint {self._public(config.endpoint)!r} is not an http(s) URL."
            )
        self.root = config.endpoint.rstrip("/").removesuffix("/v1")
        self.url = self._public(self.root)
        self.cache = RequestCache(embedding_request_cache_dir(cache_dir))
        self.api, self.model_id = self._probe()
        self.dim = 0
        self.name = f"endpoint:{self.model_id}"
        self.requests = 0
        """Requests sent (answered or not): what a cache hit saves."""

    # -- identity ----------------------------------------------------------------------------------------

    def _secrets(self) -> list[str]:
        key = self.config.api_key.reveal() if self.config.api_key is not None else ""
        return [key] if len(key) >= 4 else []

    def _public(self, text: str) -> str:
        return scrub_text(text, self._secrets() if hasattr(self, "config") else [])

    def _headers(self) -> dict[str, str]:
        if self.config.api_key is None:
            return {}
        return {"Authorization": f"Bearer {self.config.api_key.reveal()}"}

    def fingerprint(self) -> str:
        """The served model and how it is asked (never the URL or key)."""
        prompts = [self.config.passage_prompt, self.config.query_prompt]
        return f"endpoint-{digest([self.api, self.model_id, prompts])}"

    def _probe(self) -> tuple[str, str]:
        """(api, model id): TEI answers ``GET /info`` with its ``model_id``; anything else is OpenAI-style."""
        api, model = self.config.api, self.config.model
        if api == "openai" and model:
            return api, model
        info: dict[str, Any] | None = None
        try:
            with httpx2.Client(timeout=self.config.timeout_s, headers=self._headers()) as http:
                response = http.get(f"{self.root}/info")
            if response.status_code < 400:
                info = response.json()
        except (httpx2.HTTPError, ValueError):
            info = None
        if api == "auto":
            api = "tei" if isinstance(info, dict) and "model_id" in info else "openai"
        if api == "tei":
            served = info.get("model_id") if isinstance(info, dict) else None
            return api, str(model or served or "tei")
        if not model:
            raise EmbeddingError(
                f"The embedding endpoint {self.url} is not TEI (no GET /info); an OpenAI-compatible server needs "
                "the model name: --embedding-model NAME."
            )
        return api, model

    # -- embedding ---------------------------------------------------------------------------------------

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """One unit vector per text; cached texts are not sent again."""
        prompt = self.config.query_prompt if query else self.config.passage_prompt
        sent = [prompt + t for t in texts]
        keys = [embedding_request_key(self.model_id, self.api, t) for t in sent]
        found: dict[int, np.ndarray] = {}
        for i, key in enumerate(keys):
            hit = self.cache.get(key)
            if hit is not None:
                found[i] = decode_vector(hit.text)
        missing = [i for i in range(len(sent)) if i not in found]
        if missing:
            size = self.config.batch_size
            groups = [missing[i : i + size] for i in range(0, len(missing), size)]
            answers = _run(self._embed_groups([[sent[i] for i in g] for g in groups]))
            for group, vectors in zip(groups, answers, strict=True):
                for i, vector in zip(group, vectors, strict=True):
                    found[i] = np.asarray(vector, dtype=np.float32)
                    self.cache.put(keys[i], self.model_id, CachedAnswer(encode_vector(found[i]), 0, 0, 0.0))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = normalize(np.stack([found[i] for i in range(len(sent))]))
        self.dim = out.shape[1]
        return out

    async def _embed_groups(self, groups: list[list[str]]) -> list[list[list[float]]]:
        semaphore = asyncio.Semaphore(self.config.max_concurrency)
        timeout = httpx2.Timeout(self.config.timeout_s)
        async with httpx2.AsyncClient(timeout=timeout, headers=self._headers()) as http:
            return list(await asyncio.gather(*(self._embed_one(http, semaphore, g) for g in groups)))

    async def _embed_one(
        self, http: httpx2.AsyncClient, semaphore: asyncio.Semaphore, texts: list[str]
    ) -> list[list[float]]:
        last = ""
        for attempt in range(self.config.max_retries + 1):
            async with semaphore:
                try:
                    return await self._post(http, texts)
                except _Retryable as failure:
                    last, retry_after = str(failure), failure.retry_after
            if attempt == self.config.max_retries:
                break
            delay = retry_delay(
                attempt, retry_after=retry_after, base_s=0.25, max_s=20.0, max_retry_after_s=120.0, jitter=0.5
            )
            logger.warning("embedding request to %s failed (%s); retrying in %.1f s", self.url, last, delay)
            await asyncio.sleep(delay)
        raise EmbeddingError(
            f"The embedding endpoint {self.url} failed {self.config.max_retries + 1} attempts in a row; last: {last}. "
            "Check the server, or lower max_concurrency / raise timeout_s or max_retries."
        )

    async def _post(self, http: httpx2.AsyncClient, texts: list[str]) -> list[list[float]]:
        if self.api == "tei":
            url, body = f"{self.root}/embed", {"inputs": texts, "truncate": True, "normalize": True}
        else:
            url, body = f"{self.root}/v1/embeddings", {"model": self.model_id, "input": texts}
        self.requests += 1
        try:
            response = await http.post(url, json=body)
        except httpx2.TimeoutException:
            raise _Retryable(f"no answer within timeout_s={self.config.timeout_s:g} s") from None
        except httpx2.TransportError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        if response.status_code >= 400:
            excerpt = scrub_text(" ".join(response.text.split()), self._secrets())[:_EXCERPT_CHARS]
            detail = f"HTTP {response.status_code}" + (f": {excerpt}" if excerpt else "")
            if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
                raise _Retryable(
                    detail, parse_retry_after(response.headers.get("retry-after"), now=time.time())
                )
            if response.status_code in (401, 403):
                raise EmbeddingError(
                    f"The embedding endpoint {self.url} refused the key ({detail}); pass a valid --embedding-api-key."
                )
            path = "/embed" if self.api == "tei" else "/v1/embeddings"
            raise EmbeddingError(
                f"The embedding endpoint {self.url} refused {path} ({detail}); check the URL and set "
                "api= to 'tei' or 'openai' to match the server."
            )
        try:
            return parse_embeddings(self.api, response.json(), len(texts))
        except (ValueError, KeyError, TypeError) as exc:
            raise _Retryable(f"invalid response: {exc}") from None


def _run(coroutine: Any) -> Any:
    """Run ``coroutine`` to completion from synchronous code, also when an event loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
