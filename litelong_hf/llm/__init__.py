"""The LLM layer: one async chat interface over endpoints and the embedded model, cached and counted.

Strategies depend on :class:`ChatLLM` only::

    from litelong_hf.llm import ChatRequest, LLMConfig, RolesConfig, build_llms, print_llm_summary

    llms = build_llms(RolesConfig(default=LLMConfig(endpoint="http://tgi-host:8080")), cache=run_dir / "llm")
    result = await llms["judge"].chat(messages, schema=VERDICT_SCHEMA)      # async code
    result = llms["qa"].chat_sync(messages, max_tokens=256)                  # synchronous code
    results = await llms["debater_a"].chat_many([ChatRequest(messages=m) for m in batch])
    print_llm_summary(llms)                                                  # end of every run
    add_llm_usage(report.llm, llms)                                          # counts into a run report

Before a run: ``check_endpoint(roles)`` fails fast with one clear error, and ``fingerprint(roles)`` names
the model behind each role for the config hash.

See ``docs/endpoints.md`` for configuring TGI, vLLM, Inference Endpoints, llama.cpp and OpenAI.
"""

from litelong_hf.llm.backoff import backoff_delay, is_context_length_error, parse_retry_after, retry_delay
from litelong_hf.llm.base import ChatLLM, ChatRequest, ChatResult, Message, RawCompletion, Usage
from litelong_hf.llm.cache import CachedAnswer, RequestCache, request_key
from litelong_hf.llm.config import DIALECTS, ROLES, Dialect, LLMConfig, RolesConfig, Secret
from litelong_hf.llm.embedded import EmbeddedLLM
from litelong_hf.llm.endpoint import EndpointClient, EndpointLLM
from litelong_hf.llm.errors import (
    AuthError,
    BadRequestError,
    EndpointError,
    EndpointNotFoundError,
    HubOfflineError,
    LLMConfigError,
    LLMError,
    ModelNotServedError,
    RetriesExhaustedError,
    UnreachableEndpointError,
)
from litelong_hf.llm.fingerprints import check_endpoint, clear_fingerprints, fingerprint
from litelong_hf.llm.parsing import ParseOutcome, parse_answer, parse_list_items
from litelong_hf.llm.roles import build_llms
from litelong_hf.llm.server import LocalServer, LocalServerError, local_server
from litelong_hf.llm.stats import LLMStats, combined_stats, print_llm_summary, stats_table
from litelong_hf.llm.sync import run_sync

__all__ = [
    "DIALECTS",
    "ROLES",
    "AuthError",
    "BadRequestError",
    "CachedAnswer",
    "ChatLLM",
    "ChatRequest",
    "ChatResult",
    "Dialect",
    "EmbeddedLLM",
    "EndpointClient",
    "EndpointError",
    "EndpointLLM",
    "EndpointNotFoundError",
    "HubOfflineError",
    "LLMConfig",
    "LLMConfigError",
    "LLMError",
    "LLMStats",
    "LocalServer",
    "LocalServerError",
    "Message",
    "ModelNotServedError",
    "ParseOutcome",
    "RawCompletion",
    "RequestCache",
    "RetriesExhaustedError",
    "RolesConfig",
    "Secret",
    "UnreachableEndpointError",
    "Usage",
    "backoff_delay",
    "build_llms",
    "check_endpoint",
    "clear_fingerprints",
    "combined_stats",
    "fingerprint",
    "is_context_length_error",
    "local_server",
    "parse_answer",
    "parse_list_items",
    "parse_retry_after",
    "print_llm_summary",
    "request_key",
    "retry_delay",
    "run_sync",
    "stats_table",
]
