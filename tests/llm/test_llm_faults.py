"""Failure handling against the real server, with faults injected by a proxy in front of it."""

from __future__ import annotations

import logging

import pytest
from fault_proxy import DROP, NOT_JSON, FaultProxy, hang, status
from llm_helpers import TOPIC_SCHEMA, endpoint_config, topic_messages

from litelong_hf.llm import (
    AuthError,
    BadRequestError,
    EndpointLLM,
    EndpointNotFoundError,
    RetriesExhaustedError,
    UnreachableEndpointError,
    build_llms,
)
from litelong_hf.llm.server import find_free_port

pytestmark = pytest.mark.integration

PING = [{"role": "user", "content": "Reply with one word."}]


def _llm(url: str, **overrides: object) -> EndpointLLM:
    return EndpointLLM(endpoint_config(url, **overrides))


@pytest.mark.parametrize(
    ("faults", "what"),
    [
        ([status(503), status(502)], "5xx"),
        ([DROP], "dropped connection"),
        ([NOT_JSON], "body that is not JSON"),
        ([status(408), status(500, "upstream crashed")], "408 and plain 500"),
    ],
)
def test_transient_faults_are_retried(proxy: FaultProxy, faults: list, what: str) -> None:
    proxy.inject(*faults)
    llm = _llm(proxy.url)
    result = llm.chat_sync(PING, max_tokens=4)
    assert result.ok, what
    assert llm.stats()["retries"] == len(faults)
    assert (proxy.chat_requests, proxy.forwarded) == (len(faults) + 1, 1)


def test_retry_after_is_honoured(proxy: FaultProxy, caplog: pytest.LogCaptureFixture) -> None:
    proxy.inject(status(429, Retry_After="1"))
    llm = _llm(proxy.url)
    with caplog.at_level(logging.WARNING, logger="litelong_hf.llm"):
        assert llm.chat_sync(PING, max_tokens=4).ok
    (record,) = [r for r in caplog.records if "retry 1/5" in r.getMessage()]
    assert "HTTP 429" in record.getMessage() and "in 1.00 s (Retry-After)" in record.getMessage()


def test_a_response_slower_than_the_timeout_is_retried(proxy: FaultProxy) -> None:
    proxy.inject(hang(6.0))
    llm = _llm(proxy.url, timeout_s=2.0)
    llm.client.probe()  # probe first: the timeout under test is the chat request's
    assert llm.chat_sync(PING, max_tokens=4).ok
    assert llm.stats()["retries"] >= 1


def test_persistent_failure_gives_up_with_a_clear_error(proxy: FaultProxy) -> None:
    proxy.inject(*[status(503, "overloaded")] * 3)
    llm = _llm(proxy.url, max_retries=2)
    with pytest.raises(RetriesExhaustedError) as info:
        llm.chat_sync(PING, max_tokens=4)
    message = str(info.value)
    assert proxy.url in message and "3 attempts" in message and "HTTP 503: overloaded" in message
    assert "max_concurrency" in message  # names a fix
    assert proxy.chat_requests == 3 and llm.stats()["failures"] == 1


def test_401_fails_fast(proxy: FaultProxy) -> None:
    proxy.inject(status(401, '{"error": "bad key"}'))
    llm = _llm(proxy.url)
    with pytest.raises(AuthError) as info:
        llm.chat_sync(PING, max_tokens=4)
    assert (
        info.value.status == 401 and "LITELONG_HF_API_KEY" in str(info.value) and proxy.url in str(info.value)
    )
    assert proxy.chat_requests == 1 and llm.stats()["retries"] == 0


def test_wrong_key_is_refused_by_the_real_server_at_build_time(llama_server: str) -> None:
    with pytest.raises(AuthError, match="rejected the credentials"):
        build_llms(endpoint_config(llama_server, api_key="sk-wrong-key-0000"), cache=False)


def test_404_fails_fast(proxy: FaultProxy) -> None:
    proxy.inject(status(404, "no such route"))
    with pytest.raises(EndpointNotFoundError, match="Check the base URL"):
        _llm(proxy.url).chat_sync(PING, max_tokens=4)
    assert proxy.chat_requests == 1


def test_other_4xx_fails_fast(proxy: FaultProxy) -> None:
    proxy.inject(status(400, '{"error": "temperature must be positive"}'))
    with pytest.raises(BadRequestError, match="temperature must be positive"):
        _llm(proxy.url).chat_sync(PING, max_tokens=4)
    assert proxy.chat_requests == 1


def test_wrong_dialect_fails_fast_with_the_fix(proxy: FaultProxy) -> None:
    # llama-cpp-python answers TGI's response_format with HTTP 500 "validation error": not worth retrying.
    llm = _llm(proxy.url, dialect="tgi")
    with pytest.raises(BadRequestError, match="set dialect="):
        llm.chat_sync(topic_messages("SCIENCE", "Astronomy"), schema=TOPIC_SCHEMA, max_tokens=8)
    assert proxy.chat_requests == 1


def test_unreachable_endpoint_fails_fast_naming_url_and_fix() -> None:
    url = f"http://127.0.0.1:{find_free_port()}"
    with pytest.raises(UnreachableEndpointError) as info:
        build_llms(endpoint_config(url), cache=False)
    message = str(info.value)
    assert url in message and "serve-local" in message
    with pytest.raises(UnreachableEndpointError):
        _llm(url).chat_sync(PING, max_tokens=4)
