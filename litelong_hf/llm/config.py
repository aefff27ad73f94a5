"""Configuration of the LLMs a run uses: one :class:`LLMConfig` per endpoint, one per role in :class:`RolesConfig`.

A run names the LLM for each role (``debater_a``, ``debater_b``, ``judge``, ``qa``). A role left unset uses
``default``; with nothing set at all, every role runs on the embedded SmolLM2 model, in process.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from litelong_hf.llm.errors import LLMConfigError, public_url

Dialect = Literal["auto", "tgi", "vllm", "llamacpp", "openai"]
"""How an endpoint wants a JSON schema sent; ``auto`` probes the server (see ``docs/endpoints.md``)."""

DIALECTS: tuple[str, ...] = get_args(Dialect)

ROLES: tuple[str, ...] = ("debater_a", "debater_b", "judge", "qa")
"""The roles a run assigns an LLM to: LiteLong's two debaters and judge, hierarchical QA's generator."""

DEFAULT_CONCURRENCY = 16
"""In-flight requests per endpoint when neither the config nor the server says otherwise."""


class Secret:
    """A string that never shows itself: ``repr``, ``str`` and f-strings print ``***``.

    Configs hold API keys as ``Secret`` so that printing, logging or ``dataclasses.asdict`` of a config never
    leaks them (``json.dumps`` of an ``asdict`` result fails loudly instead of writing the key).
    Call :meth:`reveal` at the single place the key is needed: building the ``Authorization`` header.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value. Only for the request header; never log or store it."""
        return self._value

    def fingerprint(self) -> str:
        """A short, one-way digest: tells two keys apart (to group endpoints) without revealing either."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass
class LLMConfig:
    """One LLM: an OpenAI-compatible / TGI Messages endpoint, or (``endpoint=None``) the embedded model.

    >>> LLMConfig(endpoint="http://tgi-host:8080", api_key="hf_xxx")  # doctest: +ELLIPSIS
    LLMConfig(endpoint='http://tgi-host:8080', model=None, api_key=Secret('***'), ...)
    """

    endpoint: str | None = None
    """Base URL of the server (``http://host:8080``, with or without ``/v1``); ``None`` runs the packaged
    SmolLM2-135M-Instruct in process."""

    model: str | None = None
    """Model name sent with each request. ``None``: the name the server reports (TGI ``/info``,
    ``/v1/models``). Required for multi-model gateways such as OpenAI or the HF router."""

    api_key: str | Secret | None = None
    """API key sent as ``Authorization: Bearer``. ``None``: ``$<api_key_env>``, then ``$HF_TOKEN``, then the
    Hugging Face login (``hf auth login``). Stored as a :class:`Secret`; never printed, logged or cached."""

    api_key_env: str = "LITELONG_HF_API_KEY"
    """Environment variable read for the key when ``api_key`` is not given."""

    dialect: Dialect = "auto"
    """How JSON schemas are sent: ``tgi``, ``vllm``, ``llamacpp``, ``openai``; ``auto`` probes the server."""

    max_concurrency: int | None = None
    """Most requests in flight to this endpoint. ``None``: TGI's ``max_concurrent_requests`` from ``/info``;
    2 for a llama.cpp server (it runs one request at a time, more would only queue into the timeout);
    otherwise 16."""

    timeout_s: float = 120.0
    """Seconds one HTTP request may take, including time queued on the server, before it is retried."""

    max_retries: int = 5
    """Retries after the first attempt for 408/429/5xx, timeouts and dropped connections."""

    backoff_base_s: float = 0.5
    """First retry delay; doubles each retry (with jitter), up to ``backoff_max_s``."""

    backoff_max_s: float = 30.0
    """Longest delay between two retries, unless the server's ``Retry-After`` asks for more."""

    max_retry_after_s: float = 300.0
    """Longest ``Retry-After`` honoured; a longer one is cut to this so a run never sleeps for hours."""

    n_ctx: int = 8192
    """Context window in tokens: the embedded model's ``n_ctx`` (SmolLM2 was trained with 8192; llama.cpp
    would default to 512), and an endpoint's window when the server does not report one."""

    threads: int | None = None
    """CPU threads of the embedded model; ``None``: half the logical CPUs, between 1 and 4."""

    model_path: str | None = None
    """GGUF file of the embedded model; ``None``: the packaged SmolLM2-135M-Instruct Q4_1."""

    def __post_init__(self) -> None:
        if isinstance(self.api_key, str):
            self.api_key = Secret(self.api_key) if self.api_key else None
        if self.endpoint is not None:
            self.endpoint = self.endpoint.strip().rstrip("/")
            if not self.endpoint.startswith(("http://", "https://")):
                raise LLMConfigError(
                    f"endpoint {public_url(self.endpoint)!r} is not an http(s) URL; "
                    "give the server root, e.g. http://127.0.0.1:8080"
                )
            if "@" in urlsplit(self.endpoint).netloc:
                # HTTP libraries log request URLs: credentials in one would end up in logs.
                raise LLMConfigError(
                    f"endpoint {public_url(self.endpoint)!r} carries credentials in the URL; remove them and "
                    f"pass the key as api_key or in ${self.api_key_env}"
                )
        if self.dialect not in DIALECTS:
            raise LLMConfigError(f"dialect {self.dialect!r} is unknown; use one of {', '.join(DIALECTS)}")
        for name in ("timeout_s", "backoff_base_s", "backoff_max_s", "n_ctx"):
            if getattr(self, name) <= 0:
                raise LLMConfigError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.max_retries < 0:
            raise LLMConfigError(f"max_retries must be >= 0, got {self.max_retries!r}")
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise LLMConfigError(f"max_concurrency must be >= 1 or None, got {self.max_concurrency!r}")
        if self.threads is not None and self.threads < 1:
            raise LLMConfigError(f"threads must be >= 1 or None, got {self.threads!r}")

    @property
    def is_embedded(self) -> bool:
        """True when this config runs the in-process model rather than an endpoint."""
        return self.endpoint is None

    def resolve_api_key(self) -> Secret | None:
        """The key to send: ``api_key``, else ``$<api_key_env>``, else ``$HF_TOKEN`` or the HF login."""
        if isinstance(self.api_key, Secret):
            return self.api_key
        for env in (self.api_key_env, "HF_TOKEN"):
            value = os.environ.get(env, "").strip()
            if value:
                return Secret(value)
        # Imported here: huggingface_hub is heavy and the embedded path never needs it.
        from huggingface_hub import get_token

        token = get_token()
        return Secret(token) if token else None

    def public_dict(self) -> dict[str, Any]:
        """The fields as plain data for dataset cards and logs: the key becomes ``"***"`` (or ``None``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "api_key":
                value = "***" if value else None
            elif f.name == "endpoint" and value:
                value = public_url(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LLMConfig:
        """Build from a mapping (a YAML preset section); unknown keys raise with the list of valid ones."""
        valid = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise LLMConfigError(f"unknown LLM config key(s) {unknown}; valid keys: {sorted(valid)}")
        return cls(**dict(data))


@dataclass
class RolesConfig:
    """Which LLM plays each role. Unset roles use ``default``; one endpoint for all is the simple case.

    >>> RolesConfig(default=LLMConfig(endpoint="http://tgi:8080"), judge=LLMConfig()).for_role("judge").is_embedded
    True
    """

    default: LLMConfig = field(default_factory=LLMConfig)
    """The LLM of every role not set below (the embedded model unless an endpoint is given)."""

    debater_a: LLMConfig | None = None
    """LiteLong's first debater (the paper used Mixtral-8x7B-Instruct)."""

    debater_b: LLMConfig | None = None
    """LiteLong's second debater (the paper used Qwen2.5-7B-Instruct)."""

    judge: LLMConfig | None = None
    """LiteLong's judge (the paper used a small Gemma)."""

    qa: LLMConfig | None = None
    """Hierarchical QA's summarizer, question writer and answerer."""

    def for_role(self, role: str) -> LLMConfig:
        """The config of ``role``: its own if set, else ``default``."""
        if role not in ROLES:
            raise LLMConfigError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        own: LLMConfig | None = getattr(self, role)
        return own if own is not None else self.default

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RolesConfig:
        """Build from ``{"default": {...}, "judge": {...}}`` (YAML); values may already be ``LLMConfig``."""
        valid = {"default", *ROLES}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise LLMConfigError(f"unknown role(s) {unknown}; valid: {sorted(valid)}")
        built: dict[str, LLMConfig] = {}
        for name, value in data.items():
            if value is None:
                continue
            built[name] = value if isinstance(value, LLMConfig) else LLMConfig.from_dict(value)
        return cls(**built)

    def public_dict(self) -> dict[str, Any]:
        """Plain data for dataset cards: every role's resolved config, keys hidden."""
        return {role: self.for_role(role).public_dict() for role in ROLES}
