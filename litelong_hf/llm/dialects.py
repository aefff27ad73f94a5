"""Server dialects as pure functions: how each kind of server wants a JSON schema, and how to tell them apart.

=========  ===============================================================
dialect    request-body fields that ask for JSON matching SCHEMA
=========  ===============================================================
tgi        ``response_format={"type": "json", "value": SCHEMA}``
llamacpp   ``response_format={"type": "json_object", "schema": SCHEMA}``
vllm       ``structured_outputs={"json": SCHEMA}`` (vLLM's own field)
openai     ``response_format={"type": "json_schema", "json_schema": {...}}``
=========  ===============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litelong_hf.llm.errors import LLMConfigError

HUB_INFERENCE_HOSTS: frozenset[str] = frozenset(
    {"router.huggingface.co", "api-inference.huggingface.co", "huggingface.co"}
)
"""Hosts of Hugging Face-hosted inference: the only endpoints ``HF_HUB_OFFLINE`` applies to."""

_TRUE = frozenset({"1", "ON", "YES", "TRUE"})


@dataclass(frozen=True)
class ServerInfo:
    """What probing a server found out; every field may be unknown (None)."""

    kind: str
    """``tgi``, ``vllm``, ``llamacpp``, ``openai`` (anything OpenAI-compatible) or ``unknown``."""

    model: str | None = None
    """The model name the server reports (the first of its list)."""

    context_window: int | None = None
    """Tokens per request (prompt plus answer) the server reports."""

    max_concurrency: int | None = None
    """Requests the server says it can take at once (TGI's ``max_concurrent_requests``)."""

    models: tuple[str, ...] = ()
    """Every model name the server lists (``/v1/models``, or TGI's ``model_id``)."""


def schema_fields(dialect: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The request-body fields that ask ``dialect``'s server for JSON matching ``schema``.

    >>> schema_fields("llamacpp", {"type": "object"})
    {'response_format': {'type': 'json_object', 'schema': {'type': 'object'}}}
    """
    if dialect == "tgi":
        return {"response_format": {"type": "json", "value": dict(schema)}}
    if dialect == "llamacpp":
        return {"response_format": {"type": "json_object", "schema": dict(schema)}}
    if dialect == "vllm":
        return {"structured_outputs": {"json": dict(schema)}}
    if dialect == "openai":
        # strict=False: OpenAI's strict mode rejects schemas without additionalProperties=false everywhere;
        # the answer is validated loosely on our side anyway.
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": dict(schema), "strict": False},
            }
        }
    raise LLMConfigError(f"dialect {dialect!r} cannot send a schema; use tgi, vllm, llamacpp or openai")


def server_root(endpoint: str) -> str:
    """The server root of an endpoint URL: without a trailing ``/chat/completions`` or ``/v1``."""
    url = endpoint.rstrip("/")
    for suffix in ("/chat/completions", "/v1"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def chat_completions_url(endpoint: str) -> str:
    """``POST`` URL for chat completions, built the way ``AsyncInferenceClient`` builds it."""
    url = endpoint.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return url + "/chat/completions"
    return url + "/v1/chat/completions"


def classify_server(info: Mapping[str, Any] | None, models: Mapping[str, Any] | None) -> ServerInfo:
    """Tell the server's kind and limits from its ``/info`` and ``/v1/models`` answers (either may be None)."""
    if info and "model_id" in info and ("max_total_tokens" in info or "router" in info):
        window = info.get("max_total_tokens")
        return ServerInfo(
            kind="tgi",
            model=str(info["model_id"]),
            models=(str(info["model_id"]),),
            context_window=int(window) if isinstance(window, int) else None,
            max_concurrency=info.get("max_concurrent_requests")
            if isinstance(info.get("max_concurrent_requests"), int)
            else None,
        )
    data = models.get("data") if models else None
    entries: list[Any] = data if isinstance(data, list) else []
    first = entries[0] if entries and isinstance(entries[0], Mapping) else None
    if first is None:
        return ServerInfo(kind="unknown" if models is None else "openai")
    owner = str(first.get("owned_by", "")).lower()
    model = str(first["id"]) if first.get("id") is not None else None
    listed = tuple(
        str(entry["id"]) for entry in entries if isinstance(entry, Mapping) and entry.get("id") is not None
    )
    if owner == "vllm":
        window = first.get("max_model_len")
        return ServerInfo(
            kind="vllm",
            model=model,
            models=listed,
            context_window=window if isinstance(window, int) else None,
        )
    if owner in ("me", "llamacpp"):  # llama-cpp-python says "me", llama.cpp's own llama-server "llamacpp"
        return ServerInfo(kind="llamacpp", model=model, models=listed)
    return ServerInfo(kind="openai", model=model, models=listed)


def with_llamacpp_props(info: ServerInfo, props: Mapping[str, Any] | None) -> ServerInfo:
    """Add what llama.cpp's ``llama-server`` tells in ``GET /props``: its window and parallel slots.

    (llama-cpp-python has no ``/props``; its window must come from the config's ``n_ctx``.)
    """
    if not props:
        return info
    settings = props.get("default_generation_settings")
    window = settings.get("n_ctx") if isinstance(settings, Mapping) else None
    slots = props.get("total_slots")
    return ServerInfo(
        kind=info.kind,
        model=info.model,
        models=info.models,
        context_window=window if isinstance(window, int) and window > 0 else info.context_window,
        max_concurrency=slots if isinstance(slots, int) and slots > 0 else info.max_concurrency,
    )


def hub_offline(environ: Mapping[str, str]) -> bool:
    """True when ``HF_HUB_OFFLINE`` is set to a true value (``1``, ``ON``, ``YES``, ``TRUE``), as
    ``huggingface_hub`` reads it."""
    return environ.get("HF_HUB_OFFLINE", "").strip().upper() in _TRUE


def is_hub_hosted(endpoint: str, environ: Mapping[str, str]) -> bool:
    """True when ``endpoint`` is Hugging Face-hosted inference: the HF router (``router.huggingface.co``), the
    old Inference API, or the Hub itself (``$HF_ENDPOINT`` when set). Inference Endpoints
    (``*.endpoints.huggingface.cloud``) and every other URL are the user's own servers.

    >>> is_hub_hosted("https://router.huggingface.co/v1", {}), is_hub_hosted("http://127.0.0.1:8080", {})
    (True, False)
    """
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if host in HUB_INFERENCE_HOSTS:
        return True
    hub = environ.get("HF_ENDPOINT", "").strip()
    if not hub:
        return False
    hub_parts = urlsplit(hub)
    return (hub_parts.hostname or "").lower() == host and hub_parts.port == parts.port
