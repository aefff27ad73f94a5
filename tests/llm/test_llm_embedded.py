"""The embedded backend: the packaged SmolLM2 GGUF in process, through llama_cpp.Llama."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from llm_helpers import TOPIC_SCHEMA, topic_messages

from litelong_hf.llm import EmbeddedLLM, LLMConfig, RequestCache, build_llms
from litelong_hf.llm import embedded as embedded_module
from litelong_hf.llm.parsing import loose_validate

pytestmark = pytest.mark.integration

CONFIG = LLMConfig(n_ctx=2048, threads=1)


def test_embedded_chat_schema_cache_and_context(tmp_path: Path) -> None:
    llm = EmbeddedLLM(CONFIG, cache=RequestCache(tmp_path))
    assert (llm.model_id, llm.context_window, llm.max_concurrency) == (
        "embedded/SmolLM2-135M-Instruct.Q4_1.gguf",
        2048,
        1,
    )

    plain = llm.chat_sync([{"role": "user", "content": "Name a planet."}], max_tokens=12)
    assert plain.ok and plain.text and 0 < plain.usage.completion_tokens <= 12

    topics = llm.chat_sync(
        topic_messages("SCIENCE", "Astronomy"), schema=TOPIC_SCHEMA, max_tokens=256, seed=3
    )
    assert topics.ok and topics.parse_method == "json", topics.text
    assert loose_validate(topics.parsed, TOPIC_SCHEMA) == []

    again = llm.chat_sync(topic_messages("SCIENCE", "Astronomy"), schema=TOPIC_SCHEMA, max_tokens=256, seed=3)
    assert again.cached and again.parsed == topics.parsed

    too_long = llm.chat_sync([{"role": "user", "content": "word " * 2500}], max_tokens=8)
    assert too_long.error == "context_length"
    stats = llm.stats()
    assert (stats["requests_sent"], stats["cache_hits"], stats["context_length"]) == (3, 1, 1)


def test_generation_does_not_block_the_event_loop() -> None:
    llm = EmbeddedLLM(CONFIG)

    async def run() -> bool:
        task = asyncio.ensure_future(
            llm.chat([{"role": "user", "content": "Tell a short story."}], max_tokens=48)
        )
        # The model holds its lock only while it generates: this coroutine seeing the lock held means the
        # loop kept running it during the generation (a blocking call would run it only before or after).
        ran_during_generation = False
        while not task.done():
            await asyncio.sleep(0.005)
            ran_during_generation = ran_during_generation or llm._model().lock.locked()
        assert (await task).ok
        assert not llm._model().lock.locked()
        return ran_during_generation

    assert asyncio.run(run())


def test_default_roles_share_one_model_per_process(tmp_path: Path) -> None:
    llms = build_llms(None, cache=tmp_path)
    assert len({id(llm) for llm in llms.values()}) == 1
    second = EmbeddedLLM(LLMConfig(n_ctx=llms["qa"].context_window))
    assert llms["qa"].chat_sync([{"role": "user", "content": "Hi"}], max_tokens=4).ok
    assert second.chat_sync([{"role": "user", "content": "Hi"}], max_tokens=4).ok
    loaded = [key for key in embedded_module._models if key[1] == llms["qa"].context_window]
    assert len(loaded) == 1  # the two objects used one llama_cpp.Llama
