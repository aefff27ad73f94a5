"""The endpoint backend against a real llama.cpp server (through a counting proxy): chat, schemas, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from llm_helpers import TOPIC_SCHEMA, endpoint_config, topic_messages

from litelong_hf.llm import BadRequestError, ChatRequest, EndpointLLM, RequestCache, build_llms
from litelong_hf.llm.parsing import loose_validate

pytestmark = pytest.mark.integration

HELLO = [{"role": "user", "content": "Say hello in three words."}]


def test_plain_chat_probes_the_server(proxy: FaultProxy, tmp_path: Path) -> None:
    llm = EndpointLLM(endpoint_config(proxy.url, n_ctx=2048), cache=RequestCache(tmp_path))
    result = llm.chat_sync(HELLO, max_tokens=12)
    assert result.ok and result.text and not result.cached
    assert result.usage.prompt_tokens > 0 and 0 < result.usage.completion_tokens <= 12
    assert llm.client.dialect == "llamacpp"
    assert llm.model_id == "endpoint/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert llm.context_window == 2048  # llama-cpp-python does not report it: the config's n_ctx
    assert llm.max_concurrency == 2  # llama.cpp's default bound (one generating, one queued)

    again = llm.chat_sync(HELLO, max_tokens=12)
    assert again.cached and again.text == result.text and proxy.chat_requests == 1
    stats = llm.stats()
    assert (stats["requests_sent"], stats["cache_hits"], stats["failures"]) == (1, 1, 0)
    assert stats["tokens_out"] == result.usage.completion_tokens


def test_topic_schema_is_valid_ten_times_in_ten(proxy: FaultProxy, tmp_path: Path) -> None:
    llm = EndpointLLM(endpoint_config(proxy.url), cache=RequestCache(tmp_path))
    subjects = [
        ("SCIENCE", "Astronomy"),
        ("HISTORY", "Europe"),
        ("COOKING", "Baking"),
        ("MUSIC", "Jazz"),
        ("NATURE", "Birds"),
    ]
    requests = [
        ChatRequest(messages=topic_messages(top, sub), schema=TOPIC_SCHEMA, max_tokens=256, seed=seed)
        for seed in range(2)
        for top, sub in subjects
    ]
    results = llm.chat_many_sync(requests)
    assert len(results) == 10
    for result in results:
        assert result.ok, (result.parse_error, result.text)
        assert result.parse_method == "json"  # constrained decoding: the answer is JSON as is
        assert loose_validate(result.parsed, TOPIC_SCHEMA) == []
        assert 2 <= len(result.parsed) <= 3
    assert llm.stats()["unparseable"] == 0


def test_concurrency_is_bounded_per_endpoint(proxy: FaultProxy, tmp_path: Path) -> None:
    # Two roles, two models' worth of LLM objects, one endpoint: the bound holds for the endpoint as a whole.
    roles = {
        "default": endpoint_config(proxy.url, max_concurrency=3),
        "judge": endpoint_config(proxy.url, model="judge-alias", max_concurrency=3),
    }
    llms = build_llms(roles, cache=tmp_path)
    debater, judge = llms["debater_a"], llms["judge"]
    assert debater is not judge

    async def burst() -> None:
        calls = [
            llm.chat([{"role": "user", "content": f"Count to {i}."}], max_tokens=4, seed=i)
            for i in range(5)
            for llm in (debater, judge)
        ]
        await asyncio.gather(*calls)
        await debater.aclose()

    asyncio.run(burst())
    assert proxy.chat_requests == 10
    assert proxy.max_in_flight == 3


def test_context_length_is_recorded_and_skipped(proxy: FaultProxy, tmp_path: Path) -> None:
    llm = EndpointLLM(endpoint_config(proxy.url), cache=RequestCache(tmp_path))
    too_long = [{"role": "user", "content": "word " * 2500}]
    results = llm.chat_many_sync(
        [ChatRequest(messages=too_long, max_tokens=8), ChatRequest(messages=HELLO, max_tokens=8)]
    )
    assert results[0].error == "context_length" and results[0].text == "" and not results[0].ok
    assert results[1].ok
    stats = llm.stats()
    assert (stats["context_length"], stats["failures"], stats["retries"]) == (1, 1, 0)


@pytest.mark.parametrize(
    ("dialect", "field", "expected"),
    [
        ("llamacpp", "response_format", {"type": "json_object", "schema": TOPIC_SCHEMA}),
        ("tgi", "response_format", {"type": "json", "value": TOPIC_SCHEMA}),
        ("vllm", "structured_outputs", {"json": TOPIC_SCHEMA}),
        (
            "openai",  # sent with httpx2, since huggingface_hub would rewrite it into TGI's form
            "response_format",
            {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": TOPIC_SCHEMA, "strict": False},
            },
        ),
    ],
)
def test_each_dialect_sends_its_schema_form(
    proxy: FaultProxy, dialect: str, field: str, expected: dict
) -> None:
    llm = EndpointLLM(endpoint_config(proxy.url, dialect=dialect))
    try:
        result = llm.chat_sync(topic_messages("SCIENCE", "Optics"), schema=TOPIC_SCHEMA, max_tokens=48)
    except BadRequestError:
        result = None
    (body,) = proxy.bodies
    assert body[field] == expected
    assert body["max_tokens"] == 48 and body["seed"] == 0 and body["temperature"] == 0.6
    # What llama.cpp makes of each form: its own is honoured, TGI's and OpenAI's are refused, and vLLM's
    # extra field is ignored (an unconstrained answer): hence a dialect per endpoint.
    if dialect == "llamacpp":
        assert result is not None and result.ok
    elif dialect == "vllm":
        assert result is not None
    else:
        assert result is None
