"""Pure pieces of the LLM layer: backoff arithmetic, cache keys, config secrecy, dialects, cache, run_sync."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import multiprocessing
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from litelong_hf.llm import (
    CachedAnswer,
    LLMConfig,
    LLMConfigError,
    RequestCache,
    RolesConfig,
    Secret,
    backoff_delay,
    build_llms,
    is_context_length_error,
    parse_retry_after,
    request_key,
    retry_delay,
    run_sync,
    stats_table,
)
from litelong_hf.llm.dialects import (
    ServerInfo,
    chat_completions_url,
    classify_server,
    schema_fields,
    server_root,
    with_llamacpp_props,
)

MESSAGES = [{"role": "user", "content": "Name a planet."}]
KEY_ARGS = {"schema": None, "temperature": 0.6, "top_p": 0.95, "max_tokens": 32, "seed": 0}

# -- backoff ---------------------------------------------------------------------------------------------


@given(st.integers(0, 200), st.floats(0.01, 5), st.floats(0.1, 120), st.floats(0, 1))
def test_backoff_stays_within_half_and_full_ceiling(
    attempt: int, base: float, cap: float, jitter: float
) -> None:
    ceiling = min(cap, base * 2.0 ** min(attempt, 64))
    delay = backoff_delay(attempt, base_s=base, max_s=cap, jitter=jitter)
    assert ceiling / 2 - 1e-9 <= delay <= ceiling + 1e-9


def test_backoff_doubles_then_caps() -> None:
    delays = [backoff_delay(a, base_s=0.5, max_s=4.0, jitter=1.0) for a in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    with pytest.raises(ValueError):
        backoff_delay(-1, base_s=1, max_s=1, jitter=0)


def test_retry_after_parsing_and_precedence() -> None:
    assert parse_retry_after("7", now=0) == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0  # in the past
    assert parse_retry_after("soon", now=0) is None and parse_retry_after(None, now=0) is None
    common = {"base_s": 0.5, "max_s": 30.0, "max_retry_after_s": 60.0, "jitter": 0.0}
    assert retry_delay(0, retry_after=3.0, **common) == 3.0
    assert retry_delay(0, retry_after=3600.0, **common) == 60.0
    assert retry_delay(2, retry_after=None, **common) == 1.0


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, "This model's maximum context length is 2048 tokens. However, you requested 2151 tokens", True),
        (
            422,
            "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: 9000",
            True,
        ),
        (400, '{"error": {"code": "context_length_exceeded"}}', True),
        (413, "Payload Too Large", True),
        (400, "Invalid value for temperature", False),
        (500, "maximum context length", False),
    ],
)
def test_context_length_errors_are_recognised(status: int, body: str, expected: bool) -> None:
    assert is_context_length_error(status, body) is expected


# -- cache keys ------------------------------------------------------------------------------------------


def test_cache_key_covers_every_input_and_only_those() -> None:
    base = request_key("endpoint/m", MESSAGES, **KEY_ARGS)
    assert base == request_key("endpoint/m", [dict(MESSAGES[0])], **{**KEY_ARGS, "temperature": 0.6})
    assert base == request_key("endpoint/m", MESSAGES, **{**KEY_ARGS, "max_tokens": 32.0})  # type: ignore[arg-type]
    variants = [
        request_key("endpoint/other", MESSAGES, **KEY_ARGS),
        request_key("endpoint/m", [{"role": "user", "content": "Name a star."}], **KEY_ARGS),
        request_key("endpoint/m", MESSAGES, **{**KEY_ARGS, "schema": {"type": "array"}}),
        request_key("endpoint/m", MESSAGES, **{**KEY_ARGS, "temperature": 0.7}),
        request_key("endpoint/m", MESSAGES, **{**KEY_ARGS, "top_p": 0.9}),
        request_key("endpoint/m", MESSAGES, **{**KEY_ARGS, "max_tokens": 33}),
        request_key("endpoint/m", MESSAGES, **{**KEY_ARGS, "seed": 1}),
        request_key("endpoint/m", MESSAGES, **{**KEY_ARGS, "seed": None}),
    ]
    assert len({base, *variants}) == len(variants) + 1
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in variants)


def test_cache_key_ignores_the_api_key_and_url() -> None:
    a = build_llms(LLMConfig(endpoint="http://a:1", model="m", api_key="k1"), cache=False, probe=False)["qa"]
    b = build_llms(LLMConfig(endpoint="http://b:2", model="m", api_key="k2"), cache=False, probe=False)["qa"]
    assert a.model_id == b.model_id == "endpoint/m"


# -- config secrecy --------------------------------------------------------------------------------------


def test_config_never_shows_its_key() -> None:
    config = LLMConfig(endpoint="http://host:8080", api_key="hf_supersecret123")
    for text in (
        repr(config),
        str(config),
        f"{config}",
        f"{config.api_key}",
        repr(RolesConfig(default=config)),
    ):
        assert "hf_supersecret123" not in text
    assert isinstance(config.api_key, Secret) and config.api_key.reveal() == "hf_supersecret123"
    assert config.public_dict()["api_key"] == "***"
    with pytest.raises(TypeError):  # asdict keeps the Secret object: serialising fails loudly, never leaks
        json.dumps(dataclasses.asdict(config))


def test_key_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELONG_HF_API_KEY", "from-env-1234")
    monkeypatch.setenv("HF_TOKEN", "hf_token_5678")
    assert LLMConfig(endpoint="http://h:1", api_key="explicit-key").resolve_api_key() == Secret(
        "explicit-key"
    )
    assert LLMConfig(endpoint="http://h:1").resolve_api_key() == Secret("from-env-1234")
    monkeypatch.delenv("LITELONG_HF_API_KEY")
    assert LLMConfig(endpoint="http://h:1").resolve_api_key() == Secret("hf_token_5678")


def test_config_validation_names_the_fix() -> None:
    with pytest.raises(LLMConfigError, match="dialect 'tgl' is unknown"):
        LLMConfig(endpoint="http://h:1", dialect="tgl")  # type: ignore[arg-type]
    with pytest.raises(LLMConfigError, match="not an http"):
        LLMConfig(endpoint="h:1")
    with pytest.raises(LLMConfigError, match="carries credentials") as info:
        LLMConfig(endpoint="https://me:hf_secret99@host/v1")
    assert "hf_secret99" not in str(info.value)
    with pytest.raises(LLMConfigError, match="unknown LLM config key"):
        RolesConfig.from_dict({"judge": {"endpont": "http://h:1"}})
    with pytest.raises(LLMConfigError, match="unknown role"):
        RolesConfig.from_dict({"critic": {}})


# -- dialects --------------------------------------------------------------------------------------------


def test_schema_forms_per_dialect() -> None:
    schema = {"type": "object"}
    assert schema_fields("tgi", schema) == {"response_format": {"type": "json", "value": schema}}
    assert schema_fields("llamacpp", schema) == {"response_format": {"type": "json_object", "schema": schema}}
    assert schema_fields("vllm", schema) == {"structured_outputs": {"json": schema}}
    assert schema_fields("openai", schema)["response_format"]["json_schema"]["schema"] == schema


def test_server_classification() -> None:
    tgi = classify_server(
        {
            "model_id": "meta-llama/L",
            "max_total_tokens": 8192,
            "max_concurrent_requests": 128,
            "router": "text-generation-router",
        },
        None,
    )
    assert (tgi.kind, tgi.model, tgi.context_window, tgi.max_concurrency) == (
        "tgi",
        "meta-llama/L",
        8192,
        128,
    )
    vllm = classify_server(None, {"data": [{"id": "Qwen/Q", "owned_by": "vllm", "max_model_len": 32768}]})
    assert (vllm.kind, vllm.context_window) == ("vllm", 32768)
    llamacpp = classify_server(None, {"data": [{"id": "/m.gguf", "owned_by": "me"}]})
    assert llamacpp.kind == "llamacpp" and llamacpp.context_window is None
    props = {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 4}  # llama.cpp's llama-server
    assert with_llamacpp_props(llamacpp, props) == ServerInfo("llamacpp", "/m.gguf", 4096, 4, ("/m.gguf",))
    assert with_llamacpp_props(llamacpp, None) == llamacpp
    assert classify_server(None, {"data": [{"id": "gpt-4o", "owned_by": "system"}]}).kind == "openai"
    assert classify_server(None, None).kind == "unknown"


def test_urls() -> None:
    assert server_root("http://h:8080/v1/") == "http://h:8080"
    assert chat_completions_url("http://h:8080") == "http://h:8080/v1/chat/completions"
    assert (
        chat_completions_url("https://router.huggingface.co/v1")
        == "https://router.huggingface.co/v1/chat/completions"
    )


# -- roles -----------------------------------------------------------------------------------------------


def test_roles_share_one_client_per_endpoint() -> None:
    roles = RolesConfig(
        default=LLMConfig(endpoint="http://gpu:8080", model="big", max_concurrency=8),
        judge=LLMConfig(endpoint="http://gpu:8080", model="small", max_concurrency=4),
        qa=LLMConfig(),
    )
    llms = build_llms(roles, cache=False, probe=False)
    assert llms["debater_a"] is llms["debater_b"]
    assert llms["judge"] is not llms["debater_a"]
    assert llms["judge"].client is llms["debater_a"].client  # type: ignore[attr-defined]
    assert llms["judge"].client.max_concurrency == 4  # type: ignore[attr-defined]
    assert llms["qa"].model_id.startswith("embedded/")
    with pytest.raises(LLMConfigError, match="different dialects"):
        build_llms(
            {
                "default": {"endpoint": "http://x:1", "dialect": "tgi"},
                "judge": {"endpoint": "http://x:1", "dialect": "vllm"},
            },
            cache=False,
            probe=False,
        )


def test_stats_table_groups_roles() -> None:
    llms = build_llms(None, cache=False, probe=False)
    console = Console(record=True, width=150)
    console.print(stats_table(llms))
    text = console.export_text()
    assert "debater_a, debater_b, judge, qa" in text and "embedded/SmolLM2" in text


# -- request cache ---------------------------------------------------------------------------------------


def _write_rows(directory: str, worker: int, count: int) -> None:
    cache = RequestCache(directory)
    for i in range(count):
        cache.put(f"{worker}-{i}", "m", CachedAnswer(f"answer {worker} {i}", 1, 2, 0.1))
    cache.close()


def test_cache_is_safe_across_threads_and_processes(tmp_path: Path) -> None:
    cache = RequestCache(tmp_path)
    threads = [threading.Thread(target=_write_rows, args=(str(tmp_path), w, 40)) for w in range(4)]
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_rows, args=(str(tmp_path), 10 + w, 40)) for w in range(3)]
    for worker in [*threads, *processes]:
        worker.start()
    for worker in [*threads, *processes]:
        worker.join(60)
    assert all(p.exitcode == 0 for p in processes)
    assert len(cache) == 7 * 40
    assert cache.get("12-39") == CachedAnswer("answer 12 39", 1, 2, 0.1)
    assert cache.get("missing") is None


# -- run_sync --------------------------------------------------------------------------------------------


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


async def _fail() -> None:
    raise KeyError("boom")


def test_run_sync_everywhere() -> None:
    assert run_sync(_double(2)) == 4
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(run_sync(_double(3))))
    thread.start()
    thread.join(10)
    assert results == [6]

    async def inside_a_running_loop() -> int:
        return run_sync(_double(5))

    assert asyncio.run(inside_a_running_loop()) == 10
    with pytest.raises(KeyError, match="boom"):
        run_sync(_fail())
