"""Turn a run's role configuration into ready :class:`ChatLLM` objects, sharing what can be shared."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from litelong_hf.llm.base import ChatLLM
from litelong_hf.llm.cache import RequestCache
from litelong_hf.llm.config import ROLES, Dialect, LLMConfig, RolesConfig
from litelong_hf.llm.embedded import EmbeddedLLM, default_threads
from litelong_hf.llm.endpoint import EndpointClient, EndpointLLM
from litelong_hf.llm.errors import LLMConfigError, public_url

RolesLike = RolesConfig | LLMConfig | Mapping[str, "LLMConfig | Mapping[str, Any] | None"] | None
CacheLike = RequestCache | str | os.PathLike[str] | Literal[False] | None


def build_llms(
    roles: RolesLike = None,
    *,
    cache: CacheLike = None,
    needed: Iterable[str] = ROLES,
    probe: bool = True,
) -> dict[str, ChatLLM]:
    """One :class:`ChatLLM` per role in ``needed``; roles with the same LLM get the same object.

    ``roles``: a :class:`RolesConfig`, one :class:`LLMConfig` for every role, or a mapping
    ``{"default": ..., "judge": ...}`` (``LLMConfig`` or plain dicts, as read from YAML); None: the embedded
    model for every role. ``cache``: a :class:`RequestCache`, a directory for one, None for the default
    directory (``layout.llm_cache_dir()``) or False for no cache. One :class:`EndpointClient` is created per
    distinct (URL, API key), so ``max_concurrency`` bounds an endpoint as a whole; conflicting settings for
    one endpoint resolve to the smallest concurrency and the longest timeout. With ``probe`` (default), each
    endpoint is contacted now, so a wrong URL or key fails before any work starts.

    >>> llms = build_llms(None, cache=False, probe=False)
    >>> llms["judge"] is llms["debater_a"], llms["qa"].model_id
    (True, 'embedded/SmolLM2-135M-Instruct.Q4_1.gguf')
    """
    roles_config = as_roles_config(roles)
    request_cache = _as_cache(cache)
    configs = {role: roles_config.for_role(role) for role in needed}

    # Resolve each key once (it may read the HF login file); group endpoints by URL and key fingerprint.
    keys = {role: c.resolve_api_key() if c.endpoint is not None else None for role, c in configs.items()}
    groups: dict[tuple[str, str | None], list[str]] = {}
    for role, config in configs.items():
        if config.endpoint is not None:
            secret = keys[role]
            groups.setdefault((config.endpoint, secret.fingerprint() if secret else None), []).append(role)

    clients: dict[tuple[str, str | None], EndpointClient] = {}
    for group_key, group_roles in groups.items():
        group = [configs[role] for role in group_roles]
        dialects = sorted({c.dialect for c in group} - {"auto"})
        if len(dialects) > 1:
            raise LLMConfigError(
                f"roles {group_roles} give endpoint {public_url(group_key[0])} different dialects {dialects}; pick one"
            )
        limits = [c.max_concurrency for c in group if c.max_concurrency is not None]
        clients[group_key] = EndpointClient(
            group_key[0],
            api_key=keys[group_roles[0]],
            api_key_env=group[0].api_key_env,
            dialect=cast(Dialect, dialects[0] if dialects else "auto"),
            timeout_s=max(c.timeout_s for c in group),
            max_concurrency=min(limits) if limits else None,
        )
    client_of = {role: clients[k] for k, group_roles in groups.items() for role in group_roles}

    llms: dict[tuple[Any, ...], ChatLLM] = {}
    by_role: dict[str, ChatLLM] = {}
    for role, config in configs.items():
        if config.endpoint is None:
            path = config.model_path or ""
            identity: tuple[Any, ...] = (
                "embedded",
                path,
                config.model,
                config.n_ctx,
                config.threads or default_threads(),
            )
            if identity not in llms:
                llms[identity] = EmbeddedLLM(config, cache=request_cache)
        else:
            client = client_of[role]
            identity = (
                "endpoint",
                id(client),
                config.model,
                config.max_retries,
                config.backoff_base_s,
                config.backoff_max_s,
                config.max_retry_after_s,
                config.n_ctx,
            )
            if identity not in llms:
                llms[identity] = EndpointLLM(config, client=client, cache=request_cache)
        by_role[role] = llms[identity]

    if probe:
        for client in clients.values():
            client.probe()
    return by_role


def as_roles_config(roles: RolesLike) -> RolesConfig:
    """``roles`` as a :class:`RolesConfig` (see :func:`build_llms` for what it may be)."""
    if roles is None:
        return RolesConfig()
    if isinstance(roles, RolesConfig):
        return roles
    if isinstance(roles, LLMConfig):
        return RolesConfig(default=roles)
    if isinstance(roles, Mapping):
        return RolesConfig.from_dict(roles)
    raise LLMConfigError(
        f"roles must be a RolesConfig, an LLMConfig or a mapping, not {type(roles).__name__}"
    )


def _as_cache(cache: CacheLike) -> RequestCache | None:
    if cache is False:
        return None
    if isinstance(cache, RequestCache):
        return cache
    return RequestCache(Path(cache) if cache is not None else None)
