"""How one failed attempt at an endpoint is classified (pure): retry it, skip it, or stop the run.

:class:`~litelong_hf.llm.client.EndpointClient` raises :class:`HTTPFailure` for an HTTP error status and
:class:`InvalidResponse` for a body that is not a chat completion; :func:`classify` turns those and the
transport's own exceptions into a :class:`Failure`, which the client retries or maps to the project's error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx2

from litelong_hf.llm.backoff import RETRYABLE_STATUS, is_context_length_error, parse_retry_after

EXCERPT_CHARS = 300
"""Characters of an error body quoted in a failure's detail."""


@dataclass(frozen=True)
class Failure:
    """One failed attempt, classified."""

    kind: str  # retry | context | auth | not_found | bad_request
    detail: str
    status: int | None = None
    retry_after: float | None = None
    connect: bool = False


class HTTPFailure(Exception):
    """The server answered with an HTTP error status."""

    def __init__(self, status: int, body: str, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.retry_after = status, body, retry_after


class InvalidResponse(Exception):
    """The server answered 2xx with a body that is not a chat completion."""


def describe(exc: object) -> str:
    """``Type: message`` of an exception (just the type when the message is empty)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def classify(exc: Exception, *, timeout_s: float, scrub: Callable[[str], str]) -> Failure:
    """The :class:`Failure` of one attempt that raised ``exc``; re-raises what no retry can be about.

    ``scrub`` removes secrets from the quoted error body (it is scrubbed before it is cut).
    """
    if isinstance(exc, HTTPFailure):
        return classify_status(exc.status, exc.body, exc.retry_after, scrub=scrub)
    if isinstance(exc, TimeoutError | httpx2.TimeoutException):
        return Failure("retry", f"no answer within timeout_s={timeout_s:g} s")
    if isinstance(exc, httpx2.ConnectError):
        return Failure("retry", f"connection failed ({describe(exc)})", connect=True)
    if isinstance(exc, httpx2.TransportError):
        return Failure("retry", f"connection dropped ({describe(exc)})")
    if isinstance(exc, InvalidResponse):
        return Failure("retry", f"invalid response: {exc}")
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return Failure("retry", "invalid response: the body is not JSON")
    raise exc


def classify_status(
    status: int, body: str, retry_after: str | None, *, scrub: Callable[[str], str]
) -> Failure:
    """The :class:`Failure` of an HTTP error ``status`` with ``body`` and its ``Retry-After`` header."""
    excerpt = scrub(" ".join(body.split()))[:EXCERPT_CHARS]  # scrub, then cut
    detail = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if status in (401, 403):
        return Failure("auth", detail, status)
    if status == 404:
        return Failure("not_found", detail, status)
    if is_context_length_error(status, body):
        return Failure("context", detail, status)
    # llama-cpp-python reports a request it cannot validate as HTTP 500: retrying cannot fix that.
    if status == 500 and "validation error" in body.lower():
        return Failure("bad_request", detail, status)
    if status in RETRYABLE_STATUS or status >= 500:
        return Failure("retry", detail, status, parse_retry_after(retry_after, now=time.time()))
    return Failure("bad_request", detail, status)
