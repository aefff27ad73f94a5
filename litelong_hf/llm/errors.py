"""Exceptions raised by the LLM layer, and :func:`public_url`, the form in which URLs appear in messages.

Every message names what failed (the URL without credentials, the HTTP status) and the fix. None of them
ever carries an API key: messages are built from public parts only, and server text quoted in a message
passes through :func:`litelong_hf.secrets.scrub_text` first, in case a server echoes a header back.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


class LLMError(RuntimeError):
    """Base class of every error raised by ``litelong_hf.llm``."""


class LLMConfigError(LLMError, ValueError):
    """A configuration value is invalid or a needed package is missing; the message names the fix."""


class EndpointError(LLMError):
    """An endpoint failed in a way retrying will not fix, or retries ran out.

    ``url`` is the endpoint's public URL (credentials removed) and ``status`` the last HTTP status, if any.
    """

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class AuthError(EndpointError):
    """The endpoint rejected the credentials (HTTP 401 or 403)."""


class EndpointNotFoundError(EndpointError):
    """The endpoint answered 404: wrong base URL, route or model name."""


class BadRequestError(EndpointError):
    """The endpoint refused the request as malformed (HTTP 4xx other than context length)."""


class UnreachableEndpointError(EndpointError):
    """Nothing answers at the endpoint's address (connection refused, DNS failure, no route)."""


class ModelNotServedError(EndpointError):
    """The endpoint answers, but its model list does not hold the model the config asks for."""


class HubOfflineError(LLMConfigError):
    """``HF_HUB_OFFLINE`` is set and the endpoint is Hugging Face-hosted inference (the HF router).

    Your own servers (TGI, vLLM, llama.cpp, Inference Endpoints) are reached whatever ``HF_HUB_OFFLINE`` says.
    """


class RetriesExhaustedError(EndpointError):
    """Every attempt failed with a retryable error (408, 429, 5xx, timeout, dropped connection)."""


class ContextLengthExceeded(LLMError):
    """Internal signal from a backend: the prompt plus ``max_tokens`` does not fit the model's window.

    :meth:`ChatLLM.chat` turns it into ``ChatResult(error="context_length")``; callers never see it.
    """


def public_url(url: str) -> str:
    """``url`` without user-info (``http://user:key@host`` -> ``http://host``), query or fragment.

    >>> public_url("https://me:secret@example.com/v1?token=x")
    'https://example.com/v1'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
