"""The HTTP client of the endpoint backend (:class:`EndpointClient`): one server, probed once for its
dialect, model and window, requests with a concurrency bound, retries and the mapping of every failure to
the project's own error (the classification: :mod:`litelong_hf.llm.failures`; the dialects:
:mod:`litelong_hf.llm.endpoint`)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx2

from litelong_hf.llm.base import ChatRequest, RawCompletion
from litelong_hf.llm.config import DEFAULT_CONCURRENCY, Dialect, Secret
from litelong_hf.llm.dialects import (
    ServerInfo,
    chat_completions_url,
    classify_server,
    hub_offline,
    is_hub_hosted,
    schema_fields,
    server_root,
    with_llamacpp_props,
)
from litelong_hf.llm.errors import (
    AuthError,
    BadRequestError,
    ContextLengthExceeded,
    EndpointError,
    EndpointNotFoundError,
    HubOfflineError,
    RetriesExhaustedError,
    UnreachableEndpointError,
    public_url,
)
from litelong_hf.llm.failures import Failure, HTTPFailure, InvalidResponse, classify, describe
from litelong_hf.secrets import scrub_text

logger = logging.getLogger("litelong_hf.llm")

LLAMACPP_DEFAULT_CONCURRENCY = 2
"""A llama.cpp server generates one answer at a time; one request queued behind it hides the round trip,
more would only wait in the server's queue and eat into ``timeout_s``."""

_MIN_SECRET_CHARS = 4
"""Keys shorter than this are not scrubbed from quoted text (they would blank out ordinary words); no real
API key is that short."""


@dataclass
class _LoopState:
    """Network objects bound to one event loop (httpx connections cannot be shared across loops)."""

    http: httpx2.AsyncClient
    semaphore: asyncio.Semaphore


class EndpointClient:
    """The connection to one server (one base URL and key), shared by every LLM and role that uses it.

    Holds the probe results and, per event loop, one ``httpx2.AsyncClient`` (a connection pool) and one
    semaphore, so the concurrency bound applies to the endpoint as a whole, whatever the number of roles
    pointing at it.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        api_key: Secret | None = None,
        api_key_env: str = "LITELONG_HF_API_KEY",
        dialect: Dialect = "auto",
        timeout_s: float = 120.0,
        max_concurrency: int | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.url = public_url(self.endpoint)
        """The endpoint's URL as shown in messages (credentials removed)."""
        self._api_key = api_key
        self._api_key_env = api_key_env
        self._requested_dialect = dialect
        self.timeout_s = timeout_s
        self.requested_concurrency = max_concurrency
        """The configured bound (None: ask the server, see :attr:`max_concurrency`)."""
        self._info: ServerInfo | None = None
        self._probe_lock = threading.Lock()
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._states_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EndpointClient({self.url!r}, dialect={self._requested_dialect!r})"

    def _secrets(self) -> tuple[str, ...]:
        """Values to scrub from any text shown to users."""
        key = self._api_key.reveal() if self._api_key else ""
        return (key,) if len(key) >= _MIN_SECRET_CHARS else ()

    def _scrub(self, text: str) -> str:
        return scrub_text(text, self._secrets())

    def check_offline(self) -> None:
        """Raise :class:`HubOfflineError` when ``HF_HUB_OFFLINE`` is set and this is Hugging Face-hosted inference.

        Read at every probe and request (not once at import), so a process may set or clear it at any time.
        """
        if hub_offline(os.environ) and is_hub_hosted(self.endpoint, os.environ):
            raise HubOfflineError(
                f"HF_HUB_OFFLINE is set, and {self.url} is Hugging Face-hosted inference (the Hub's own servers). "
                "Unset HF_HUB_OFFLINE for this run, or point the endpoint at your own server (TGI, vLLM, "
                "llama.cpp, an Inference Endpoint), which HF_HUB_OFFLINE never blocks."
            )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key.reveal()}"} if self._api_key else {}

    # -- probing ---------------------------------------------------------------------------------------

    def probe(self) -> ServerInfo:
        """Ask the server what it is (once; thread-safe). Fails fast when unreachable or unauthorized."""
        with self._probe_lock:
            if self._info is None:
                self._info = self._probe()
                logger.info(
                    "LLM endpoint %s: %s server, model %s, context %s, dialect %s, concurrency %d",
                    self.url,
                    self._info.kind,
                    self._info.model or "?",
                    self._info.context_window or "?",
                    self.dialect,
                    self.max_concurrency,
                )
            return self._info

    async def ensure_probed(self) -> ServerInfo:
        """:meth:`probe` without blocking the event loop."""
        if self._info is not None:
            return self._info
        return await asyncio.to_thread(self.probe)

    def _probe(self) -> ServerInfo:
        self.check_offline()
        root = server_root(self.endpoint)
        with httpx2.Client(timeout=self.timeout_s, headers=self._headers(), follow_redirects=True) as http:
            info = self._probe_json(http, f"{root}/info")
            # vLLM and llama.cpp serve /v1/models; TGI too, but /info already said enough.
            models = None if info and "model_id" in info else self._probe_json(http, f"{root}/v1/models")
            found = classify_server(info, models)
            if found.kind == "llamacpp":
                found = with_llamacpp_props(found, self._probe_json(http, f"{root}/props"))
        if found.kind == "unknown" and self._requested_dialect == "auto":
            logger.warning(
                "LLM endpoint %s answers neither /info nor /v1/models; assuming an OpenAI-compatible server. "
                "Set dialect= (tgi, vllm, llamacpp, openai) if JSON schemas are not honoured.",
                self.url,
            )
        return found

    def _probe_json(self, http: httpx2.Client, url: str) -> dict[str, Any] | None:
        failure: str | None = None
        try:
            response = http.get(url)
        except httpx2.TimeoutException:
            # Reachable but slow (llama.cpp answers /v1/models only between generations): not fatal.
            logger.warning("LLM endpoint %s: GET %s timed out while probing", self.url, public_url(url))
            return None
        except httpx2.TransportError as exc:
            failure = describe(exc)
        if failure is not None:
            # Raised outside the except block: the httpx error (which holds the request and its
            # Authorization header) must not ride along as __context__.
            raise UnreachableEndpointError(self._unreachable_message(failure), url=self.url)
        if response.status_code in (401, 403):
            raise AuthError(
                self._auth_message(response.status_code), url=self.url, status=response.status_code
            )
        if response.status_code != 200:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    # -- resolved settings -----------------------------------------------------------------------------

    @property
    def info(self) -> ServerInfo:
        """The probe's findings (probing now if needed)."""
        return self._info if self._info is not None else self.probe()

    @property
    def dialect(self) -> str:
        """The dialect in use: the configured one, or what the probe found (``openai`` when unsure)."""
        if self._requested_dialect != "auto":
            return self._requested_dialect
        kind = self.info.kind
        return kind if kind in ("tgi", "vllm", "llamacpp") else "openai"

    @property
    def max_concurrency(self) -> int:
        """Requests in flight at most: config, else server, else a default (see ``LLMConfig``)."""
        if self.requested_concurrency is not None:
            return self.requested_concurrency
        info = self.info
        if info.max_concurrency:
            return info.max_concurrency
        return LLAMACPP_DEFAULT_CONCURRENCY if self.dialect == "llamacpp" else DEFAULT_CONCURRENCY

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        with self._states_lock:
            state = self._states.get(loop)
            if state is None:
                # A state keeps its loop alive (the semaphore refers to it), so the weak keys alone never
                # let go: drop the states of loops that have ended (their connections died with them).
                for ended in [other for other in self._states if other.is_closed()]:
                    del self._states[ended]
                state = _LoopState(
                    http=httpx2.AsyncClient(
                        timeout=self.timeout_s, headers=self._headers(), follow_redirects=True
                    ),
                    semaphore=asyncio.Semaphore(self.max_concurrency),
                )
                self._states[loop] = state
            return state

    async def aclose(self) -> None:
        """Close the clients of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._states_lock:
            state = self._states.pop(loop, None)
        if state is not None:
            await state.http.aclose()

    # -- one request -----------------------------------------------------------------------------------

    async def complete(
        self, request: ChatRequest, *, model: str | None, retries: Callable[[int, Failure], float]
    ) -> RawCompletion:
        """Send ``request`` with retries; ``retries(attempt, failure)`` returns the delay or raises to stop."""
        self.check_offline()
        await self.ensure_probed()  # dialect and concurrency bound; a no-op after the first request
        state = self._state()
        fields = schema_fields(self.dialect, request.schema) if request.schema is not None else {}
        attempt = 0
        while True:
            async with state.semaphore:
                try:
                    return await self._post(state, request, model, fields)
                except Exception as exc:
                    failure = self._classify(exc)
            if failure.kind == "context":
                raise ContextLengthExceeded(failure.detail)
            if failure.kind != "retry":
                self._raise(failure, model)
            delay = retries(attempt, failure)
            attempt += 1
            await asyncio.sleep(delay)

    async def _post(
        self, state: _LoopState, request: ChatRequest, model: str | None, fields: dict[str, Any]
    ) -> RawCompletion:
        body: dict[str, Any] = {
            # TGI and llama.cpp ignore the name, vLLM needs it (the probe found it); "tgi" is the placeholder
            # TGI's documentation uses when nothing tells the model.
            "model": model or "tgi",
            "messages": [dict(m) for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": False,
            **({"seed": request.seed} if request.seed is not None else {}),
            **fields,
        }
        response = await state.http.post(chat_completions_url(self.endpoint), json=body)
        if response.status_code >= 400:
            raise HTTPFailure(response.status_code, response.text, response.headers.get("retry-after"))
        try:
            data = response.json()
            message = data["choices"][0]["message"]
            usage = data.get("usage") or {}
            return RawCompletion(
                text=message.get("content") or "",
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise InvalidResponse(f"the answer is not a chat completion ({type(exc).__name__})") from None

    # -- errors ----------------------------------------------------------------------------------------

    def _classify(self, exc: Exception) -> Failure:
        return classify(exc, timeout_s=self.timeout_s, scrub=self._scrub)

    def _raise(self, failure: Failure, model: str | None) -> NoReturn:
        if failure.kind == "auth":
            raise AuthError(self._auth_message(failure.status or 401), url=self.url, status=failure.status)
        if failure.kind == "not_found":
            raise EndpointNotFoundError(
                f"The LLM endpoint {self.url} answered {failure.detail} for chat completions. Check the base URL "
                f"(the server root such as http://host:8080, or a URL ending in /v1) and the model name {model!r}.",
                url=self.url,
                status=failure.status,
            )
        raise BadRequestError(
            f"The LLM endpoint {self.url} refused the request: {failure.detail}. If it complains about "
            f"response_format, set dialect= to the server's kind (tgi, vllm, llamacpp, openai); now {self.dialect!r}.",
            url=self.url,
            status=failure.status,
        )

    def exhausted(self, attempts: int, failure: Failure) -> EndpointError:
        """The error to raise once every attempt failed with ``failure`` last."""
        if failure.connect:
            return UnreachableEndpointError(self._unreachable_message(failure.detail), url=self.url)
        return RetriesExhaustedError(
            f"The LLM endpoint {self.url} failed {attempts} attempts in a row; last: {failure.detail}. The server may "
            "be overloaded or down: check its logs, or lower max_concurrency / raise timeout_s or max_retries.",
            url=self.url,
            status=failure.status,
        )

    def _unreachable_message(self, cause: object) -> str:
        detail = self._scrub(cause if isinstance(cause, str) else describe(cause))
        return (
            f"Cannot reach the LLM endpoint {self.url} ({detail}). Check that the server is running and that the "
            "URL's scheme, host and port are right; `litelong-hf serve-local` starts a local one, and leaving "
            "`endpoint` unset uses the embedded model."
        )

    def _auth_message(self, status: int) -> str:
        what = "rejected the credentials" if status == 401 else "refused access"
        return (
            f"The LLM endpoint {self.url} {what} (HTTP {status}). Give a valid API key: `api_key` in the LLM "
            f"config, the {self._api_key_env} environment variable, HF_TOKEN, or `hf auth login` for Hugging Face "
            "endpoints."
        )


__all__ = ["EndpointClient", "Failure"]
