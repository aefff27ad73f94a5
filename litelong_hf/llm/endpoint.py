"""The endpoint backend: any OpenAI-compatible / TGI Messages server, over plain HTTP (``httpx2``).
:class:`EndpointLLM` is the :class:`~litelong_hf.llm.base.ChatLLM`; its HTTP client, :class:`EndpointClient`,
lives in :mod:`litelong_hf.llm.client`.

Every request is one ``POST {server}/v1/chat/completions`` with a JSON body, sent with ``httpx2`` (the HTTP
library ``huggingface_hub`` 2.x uses), with retries, backoff and a concurrency bound added here. Servers
disagree on how a JSON schema is sent (the *dialect*):

=========  ===============================================================
dialect    what is sent
=========  ===============================================================
tgi        ``response_format={"type": "json", "value": SCHEMA}``
llamacpp   ``response_format={"type": "json_object", "schema": SCHEMA}``
vllm       ``structured_outputs={"json": SCHEMA}`` (vLLM's own field)
openai     ``response_format={"type": "json_schema", "json_schema": ...}``
=========  ===============================================================

Why not ``huggingface_hub.AsyncInferenceClient``: for an explicit server URL it adds nothing we need (no
retries, no backoff), it rewrites an OpenAI ``json_schema`` response format into TGI's form before sending
it, and with ``HF_HUB_OFFLINE=1`` (what air-gapped clusters set) it refuses every request, even to the
user's own server on ``127.0.0.1``. ``HF_HUB_OFFLINE`` is about the Hub: here it only stops requests to
Hugging Face-hosted inference (the HF router, see :func:`~litelong_hf.llm.dialects.is_hub_hosted`), with a
:class:`~litelong_hf.llm.errors.HubOfflineError` that says so.

``dialect="auto"`` probes the server once: TGI answers ``GET /info``; ``GET /v1/models`` says
``owned_by: "vllm"`` on vLLM and ``"me"`` / ``"llamacpp"`` on llama-cpp-python / llama.cpp's server;
anything else is treated as OpenAI-compatible.
"""

from __future__ import annotations

import logging
import random
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from litelong_hf.llm.backoff import retry_delay
from litelong_hf.llm.base import ChatLLM, ChatRequest, RawCompletion
from litelong_hf.llm.cache import RequestCache
from litelong_hf.llm.client import EndpointClient, Failure
from litelong_hf.llm.config import LLMConfig
from litelong_hf.llm.errors import LLMConfigError

logger = logging.getLogger("litelong_hf.llm")


class EndpointLLM(ChatLLM):
    """A :class:`ChatLLM` served by an endpoint; several may share one :class:`EndpointClient`."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        client: EndpointClient | None = None,
        cache: RequestCache | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if config.endpoint is None:
            raise LLMConfigError(
                "EndpointLLM needs config.endpoint; use EmbeddedLLM for the in-process model"
            )
        super().__init__(cache=cache)
        self.config = config
        self.client = client or EndpointClient(
            config.endpoint,
            api_key=config.resolve_api_key(),
            api_key_env=config.api_key_env,
            dialect=config.dialect,
            timeout_s=config.timeout_s,
            max_concurrency=config.max_concurrency,
        )
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"EndpointLLM({self.client.url!r}, model={self.config.model!r})"

    @property
    def request_model(self) -> str | None:
        """The ``model`` field sent with each request: the config's, else the server's name for it."""
        return self.config.model or self.client.info.model

    @property
    def model_id(self) -> str:
        """``endpoint/<model>``; a path-like name (llama.cpp reports the GGUF path) is cut to its file name."""
        name = self.request_model
        if name is None:
            parts = urlsplit(self.client.url)
            name = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        elif "/" in name and (name.startswith("/") or name.endswith(".gguf")):
            name = PurePosixPath(name).name
        return f"endpoint/{name}"

    @property
    def context_window(self) -> int:
        return self.client.info.context_window or self.config.n_ctx

    @property
    def max_concurrency(self) -> int:
        return self.client.max_concurrency

    async def _ensure_ready(self) -> None:
        # The cache key needs the model name; with `model` configured, a fully cached run never probes.
        if self.config.model is None:
            await self.client.ensure_probed()

    async def _concurrency_limit(self) -> int:
        if self.client.requested_concurrency is None:
            await self.client.ensure_probed()
        return self.client.max_concurrency

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _complete(self, request: ChatRequest) -> RawCompletion:
        config = self.config

        def next_delay(attempt: int, failure: Failure) -> float:
            if attempt >= config.max_retries:
                raise self.client.exhausted(attempt + 1, failure) from None
            delay = retry_delay(
                attempt,
                retry_after=failure.retry_after,
                base_s=config.backoff_base_s,
                max_s=config.backoff_max_s,
                max_retry_after_s=config.max_retry_after_s,
                jitter=self._rng.random(),
            )
            self._stats.add(retries=1)
            logger.warning(
                "LLM endpoint %s: %s; retry %d/%d in %.2f s%s",
                self.client.url,
                failure.detail,
                attempt + 1,
                config.max_retries,
                delay,
                " (Retry-After)" if failure.retry_after is not None else "",
            )
            return delay

        return await self.client.complete(request, model=self.request_model, retries=next_delay)


__all__ = ["EndpointClient", "EndpointLLM"]
