"""Retry timing as pure functions: exponential backoff with jitter, and ``Retry-After`` parsing."""

from __future__ import annotations

import email.utils
import re

RETRYABLE_STATUS: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504})
"""HTTP statuses worth retrying: the server is busy, restarting or timed out, not rejecting the request."""

_CONTEXT_PATTERN = re.compile(
    r"context[ _-]?(length|window|size)|maximum context|too many tokens|too long|max_total_tokens"
    r"|max_input_tokens|exceeds? .{0,40}tokens|tokens? .{0,60}(exceed|must be <=|greater than)",
    re.IGNORECASE,
)
"""How TGI (422 "inputs tokens + max_new_tokens must be <= ..."), vLLM and llama.cpp (400 "maximum context
length is N tokens"), and OpenAI (400 ``context_length_exceeded``) word a prompt that does not fit."""


def backoff_delay(attempt: int, *, base_s: float, max_s: float, jitter: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry).

    Exponential (``base_s * 2**attempt``), capped at ``max_s``, with "equal jitter": the delay is drawn in
    the upper half of that ceiling (``jitter`` in [0, 1] picks where), so clients that failed together do not
    retry together, yet each still waits at least half the ceiling.

    >>> backoff_delay(0, base_s=0.5, max_s=30, jitter=1.0), backoff_delay(3, base_s=0.5, max_s=30, jitter=0.0)
    (0.5, 2.0)
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    jitter = min(1.0, max(0.0, jitter))
    # Clamping the exponent keeps 2**attempt finite for absurd attempt numbers.
    ceiling = min(max_s, base_s * 2.0 ** min(attempt, 64))
    return ceiling * (0.5 + 0.5 * jitter)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or HTTP-date), or None if absent/garbled.

    ``now`` is the current POSIX time, injected so the function stays pure.

    >>> parse_retry_after("3", now=0.0), parse_retry_after("soon", now=0.0)
    (3.0, None)
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP-date is always GMT; a naive result means the header lied
            return None
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def retry_delay(
    attempt: int,
    *,
    retry_after: float | None,
    base_s: float,
    max_s: float,
    max_retry_after_s: float,
    jitter: float,
) -> float:
    """The wait before retry ``attempt``: the server's ``Retry-After`` when given (capped), else backoff.

    The server knows its own load better than our backoff does, so its ``Retry-After`` is used as is; the
    attempt bound still stops a server that keeps answering "retry after 0" from being hammered forever.

    >>> retry_delay(4, retry_after=1.0, base_s=0.5, max_s=30, max_retry_after_s=300, jitter=0.5)
    1.0
    """
    if retry_after is not None:
        return min(retry_after, max_retry_after_s)
    return backoff_delay(attempt, base_s=base_s, max_s=max_s, jitter=jitter)


def is_context_length_error(status: int, body: str) -> bool:
    """True when an HTTP error says the prompt (plus ``max_tokens``) does not fit the model's window."""
    if status not in (400, 413, 422):
        return False
    return status == 413 or bool(_CONTEXT_PATTERN.search(body))


__all__ = [
    "RETRYABLE_STATUS",
    "backoff_delay",
    "is_context_length_error",
    "parse_retry_after",
    "retry_delay",
]
