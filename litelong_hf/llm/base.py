"""The one interface strategies use: :class:`ChatLLM` and its :class:`ChatResult`.

A backend only implements :meth:`ChatLLM._complete` (one request, already past the cache); the shared
logic lives here: cache lookup and commit, context-length skips, lenient parsing, counters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litelong_hf.llm.cache import CachedAnswer, RequestCache, request_key
from litelong_hf.llm.errors import ContextLengthExceeded
from litelong_hf.llm.parsing import Expect, parse_answer
from litelong_hf.llm.stats import LLMStats
from litelong_hf.llm.sync import run_sync

logger = logging.getLogger("litelong_hf.llm")

Message = Mapping[str, str]
"""A chat message: ``{"role": "system" | "user" | "assistant", "content": "..."}``."""

DEFAULT_TEMPERATURE = 0.6
"""LiteLong's sampling temperature for every call (see METHODS.md)."""

DEFAULT_TOP_P = 0.95
"""LiteLong's nucleus sampling threshold for every call."""

DEFAULT_MAX_TOKENS = 512
"""Answer budget when a caller does not say; topic lists of 10 items fit comfortably."""

DEFAULT_SEED = 0
"""Seed when a caller does not say: a fixed seed keeps runs reproducible and cache hits exact."""


@dataclass(frozen=True)
class Usage:
    """Tokens of one request, as the backend counted them."""

    prompt_tokens: int = 0
    """Tokens of the templated prompt."""

    completion_tokens: int = 0
    """Tokens generated."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ChatRequest:
    """One chat request, for :meth:`ChatLLM.chat_many`; the fields mirror :meth:`ChatLLM.chat`'s arguments."""

    messages: Sequence[Message]
    """The conversation so far, oldest first."""

    schema: Mapping[str, Any] | None = None
    """JSON schema the answer must follow (constrained decoding where the backend supports it)."""

    temperature: float = DEFAULT_TEMPERATURE
    """Sampling temperature."""

    top_p: float = DEFAULT_TOP_P
    """Nucleus sampling threshold."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    """Most tokens to generate."""

    seed: int | None = DEFAULT_SEED
    """Sampling seed; ``None`` lets the server pick (answers then differ between runs, the cache still holds)."""

    expect: Expect | None = None
    """Parse the answer as ``json`` or a ``list`` even without a schema; default: parse only with a schema."""

    kind: str = ""
    """What the request is for (``summary``, ``qa``, ``debate``...): counted per kind in :class:`LLMStats`.
    A label only: it is not sent and not part of the cache key."""


@dataclass(frozen=True)
class RawCompletion:
    """What a backend returns for one request: the text and its token counts."""

    text: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class ChatResult:
    """The answer to one request.

    ``text`` is always the raw answer. ``parsed`` is the parsed object when a schema (or ``expect``) was given
    and parsing succeeded; otherwise ``parse_error`` says why and ``parsed`` is None. ``error`` is
    ``"context_length"`` when the request did not fit the model's window and was skipped (``text`` is then
    empty). Errors that stop a run (bad key, unreachable endpoint) are raised, not returned.
    """

    text: str
    """The answer as generated (empty when ``error`` is set)."""

    parsed: Any = None
    """The parsed JSON value (or list items), when asked for and parseable."""

    usage: Usage = field(default_factory=Usage)
    """Token counts of the generation (for a cache hit: of the original generation)."""

    elapsed_s: float = 0.0
    """Wall time of this call, including queueing, retries and the cache lookup."""

    cached: bool = False
    """True when the answer came from the request cache and nothing was sent."""

    error: str | None = None
    """``"context_length"`` when the request was skipped; None otherwise."""

    parse_error: str | None = None
    """Why the answer could not be parsed into the requested shape; None when it could (or was not asked)."""

    parse_method: str = ""
    """How the answer was read: ``json``, ``fenced``, ``repaired``, ``embedded``, ``truncated`` or ``list``."""

    model_id: str = ""
    """The model that answered (as used in the cache key and dataset cards)."""

    key: str = ""
    """The request's cache key (SHA-256 hex)."""

    @property
    def ok(self) -> bool:
        """True when there is an answer and, if parsing was asked for, a parsed value."""
        return self.error is None and self.parse_error is None


class ChatLLM(ABC):
    """An LLM behind one async interface: an endpoint or the embedded model, cached and counted.

    Use :meth:`chat` from async code, :meth:`chat_many` for batches, and the ``*_sync`` variants from plain
    synchronous code (they run on a shared background event loop, see :func:`run_sync`).
    """

    def __init__(self, *, cache: RequestCache | None = None) -> None:
        self.cache = cache
        """Where answers are stored and looked up; None disables caching."""
        self._stats = LLMStats()

    @property
    @abstractmethod
    def model_id(self) -> str:
        """A stable name of the model, used in cache keys and dataset cards (no URL, no key)."""

    @property
    @abstractmethod
    def context_window(self) -> int:
        """Tokens the model accepts (prompt plus answer): from the server when it says, else the config."""

    @property
    @abstractmethod
    def max_concurrency(self) -> int:
        """Requests this LLM runs at once; :meth:`chat_many` keeps that many in flight."""

    @abstractmethod
    async def _complete(self, request: ChatRequest) -> RawCompletion:
        """Send one request (cache already missed). Raise :class:`ContextLengthExceeded` when it does not fit."""

    async def _ensure_ready(self) -> None:  # noqa: B027 - optional hook, a no-op for most backends
        """Make :attr:`model_id` available without blocking the loop (an endpoint may probe its server)."""

    async def _concurrency_limit(self) -> int:
        """:attr:`max_concurrency`, found out without blocking the event loop."""
        return self.max_concurrency

    async def aclose(self) -> None:  # noqa: B027 - optional hook, a no-op for most backends
        """Release network clients held for the running event loop."""

    def stats(self) -> dict[str, float]:
        """Counters so far: requests_sent, cache_hits, retries, failures, context_length, unparseable,
        tokens_in, tokens_out, cached_tokens_in, cached_tokens_out, busy_s."""
        return self._stats.snapshot()

    @property
    def usage(self) -> LLMStats:
        """The live counters of this LLM, per kind too (``usage.report_entries()`` for a run report)."""
        return self._stats

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: Mapping[str, Any] | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        seed: int | None = DEFAULT_SEED,
        expect: Expect | None = None,
        kind: str = "",
    ) -> ChatResult:
        """Answer one conversation; with ``schema``, constrain the answer and parse it leniently.

        ``kind`` labels the request for the per-kind counters of :attr:`usage` (not sent, not in the cache key).

        Example::

            result = await llm.chat([{"role": "user", "content": "Name a planet."}], max_tokens=16)
            print(result.text, result.usage.completion_tokens, result.cached)
        """
        request = ChatRequest(
            messages=messages,
            schema=schema,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            seed=seed,
            expect=expect,
            kind=kind,
        )
        return await self.chat_request(request)

    async def chat_request(self, request: ChatRequest) -> ChatResult:
        """:meth:`chat` for a prepared :class:`ChatRequest`."""
        started = time.perf_counter()
        await self._ensure_ready()
        model_id = self.model_id
        key = request_key(
            model_id,
            request.messages,
            schema=request.schema,
            temperature=request.temperature,
            top_p=request.top_p,
            max_tokens=request.max_tokens,
            seed=request.seed,
        )
        hit = self.cache.get(key) if self.cache is not None else None
        kind = request.kind
        if hit is not None:
            self._stats.add(
                kind,
                cache_hits=1,
                cached_tokens_in=hit.prompt_tokens,
                cached_tokens_out=hit.completion_tokens,
            )
            usage = Usage(hit.prompt_tokens, hit.completion_tokens)
            return self._finish(request, hit.text, usage, started, cached=True, key=key)

        self._stats.add(kind, requests_sent=1)
        try:
            raw = await self._complete(request)
        except ContextLengthExceeded as exc:
            self._stats.add(kind, failures=1, context_length=1, busy_s=time.perf_counter() - started)
            logger.warning(
                "%s: request %s skipped, it does not fit the context window: %s", model_id, key[:12], exc
            )
            return ChatResult(
                text="",
                elapsed_s=time.perf_counter() - started,
                error="context_length",
                model_id=model_id,
                key=key,
            )
        except Exception:
            self._stats.add(kind, failures=1, busy_s=time.perf_counter() - started)
            raise
        elapsed = time.perf_counter() - started
        self._stats.add(kind, busy_s=elapsed, tokens_in=raw.prompt_tokens, tokens_out=raw.completion_tokens)
        if self.cache is not None:
            self.cache.put(
                key, model_id, CachedAnswer(raw.text, raw.prompt_tokens, raw.completion_tokens, elapsed)
            )
        usage = Usage(raw.prompt_tokens, raw.completion_tokens)
        return self._finish(request, raw.text, usage, started, cached=False, key=key)

    def _finish(
        self, request: ChatRequest, text: str, usage: Usage, started: float, *, cached: bool, key: str
    ) -> ChatResult:
        parsed: Any = None
        parse_error: str | None = None
        method = ""
        if request.schema is not None or request.expect is not None:
            # Parsed again on every cache hit (cheap and pure), so a better parser also fixes cached answers.
            outcome = parse_answer(text, request.schema, expect=request.expect)
            parsed, parse_error, method = outcome.value, outcome.error, outcome.method
            if parse_error is not None:
                self._stats.add(request.kind, unparseable=1)
                logger.debug("%s: unparseable answer %s: %s", self.model_id, key[:12], parse_error)
                if self.cache is not None:
                    self.cache.log_unparseable(model_id=self.model_id, key=key, reason=parse_error, text=text)
        return ChatResult(
            text=text,
            parsed=parsed,
            usage=usage,
            elapsed_s=time.perf_counter() - started,
            cached=cached,
            parse_error=parse_error,
            parse_method=method,
            model_id=self.model_id,
            key=key,
        )

    async def chat_many(
        self, requests: Sequence[ChatRequest], *, return_exceptions: bool = False
    ) -> list[Any]:
        """Answer many requests concurrently (up to :attr:`max_concurrency` in flight); results keep input order.

        The first exception (a bad key, an unreachable endpoint) cancels the rest and is raised, unless
        ``return_exceptions`` is true: then it takes that request's place in the list.

        Example::

            results = await llm.chat_many([ChatRequest(messages=m, schema=TOPICS) for m in prompts])
        """
        if not requests:
            return []
        limit = await self._concurrency_limit()
        results: list[Any] = [None] * len(requests)
        pending = iter(enumerate(requests))

        async def worker() -> None:
            # One shared iterator: in asyncio only one worker runs at a time, so no item is taken twice.
            for index, request in pending:
                try:
                    results[index] = await self.chat_request(request)
                except Exception as exc:
                    if not return_exceptions:
                        raise
                    results[index] = exc

        workers = [asyncio.ensure_future(worker()) for _ in range(min(len(requests), limit))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        return results

    def chat_sync(self, messages: Sequence[Message], **kwargs: Any) -> ChatResult:
        """:meth:`chat` from synchronous code (any thread, with or without a running event loop)."""
        return run_sync(self.chat(messages, **kwargs))

    def chat_many_sync(
        self, requests: Sequence[ChatRequest], *, return_exceptions: bool = False
    ) -> list[Any]:
        """:meth:`chat_many` from synchronous code."""
        return run_sync(self.chat_many(requests, return_exceptions=return_exceptions))
