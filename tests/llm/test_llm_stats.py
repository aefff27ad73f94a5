"""LLM usage is counted once, in ``LLMStats``: totals, per kind of request, and into a run report."""

from __future__ import annotations

from pathlib import Path

import pytest

from litelong_hf.llm import (
    ChatLLM,
    ChatRequest,
    LLMStats,
    RawCompletion,
    RequestCache,
    combined_stats,
)
from litelong_hf.llm.errors import ContextLengthExceeded
from litelong_hf.report import LLMMeter, RunReport


class CountingBackend(ChatLLM):
    """A backend that answers with the word count of the last message (prompt tokens = that count)."""

    def __init__(self, cache: RequestCache | None = None) -> None:
        super().__init__(cache=cache)
        self.calls = 0

    @property
    def model_id(self) -> str:
        return "test/counting"

    @property
    def context_window(self) -> int:
        return 100

    @property
    def max_concurrency(self) -> int:
        return 2

    async def _complete(self, request: ChatRequest) -> RawCompletion:
        self.calls += 1
        words = len(request.messages[-1]["content"].split())
        if words > 50:
            raise ContextLengthExceeded(f"{words} words do not fit")
        return RawCompletion(text=f'["{words}"]', prompt_tokens=words, completion_tokens=3)


def _ask(llm: ChatLLM, text: str, kind: str) -> None:
    llm.chat_sync([{"role": "user", "content": text}], kind=kind, expect="list")


def test_counts_per_kind_and_in_total(tmp_path: Path) -> None:
    llm = CountingBackend(RequestCache(tmp_path))
    _ask(llm, "one two three", "summary")
    _ask(llm, "one two three", "summary")  # cache hit: counted with the tokens of the first generation
    _ask(llm, "four five", "qa")
    _ask(llm, "word " * 60, "qa")  # context-length skip
    _ask(llm, "no kind at all", "")
    assert llm.calls == 4  # the cache hit never reached the backend

    totals = llm.stats()
    assert (totals["requests_sent"], totals["cache_hits"], totals["failures"], totals["context_length"]) == (
        4,
        1,
        1,
        1,
    )
    assert (totals["tokens_in"], totals["tokens_out"]) == (3 + 2 + 4, 9)
    assert (totals["cached_tokens_in"], totals["cached_tokens_out"]) == (3, 3)

    kinds = llm.usage.kinds()
    assert set(kinds) == {"summary", "qa"}
    assert (kinds["summary"]["requests_sent"], kinds["summary"]["cache_hits"]) == (1, 1)
    assert (kinds["qa"]["requests_sent"], kinds["qa"]["context_length"], kinds["qa"]["tokens_in"]) == (
        2,
        1,
        2,
    )

    entries = llm.usage.report_entries()
    assert (entries["requests"], entries["calls"], entries["cache_hits"]) == (4, 5, 1)
    assert (entries["call_tokens_in"], entries["call_tokens_out"]) == (3 + 3 + 2 + 4, 12)
    assert (entries["summary.calls"], entries["summary.call_tokens_in"], entries["qa.requests"]) == (2, 6, 2)
    assert "requests_sent" not in entries  # report name: "requests"


def test_usage_adds_up_across_shared_llms_and_shard_reports(tmp_path: Path) -> None:
    judge, debater = CountingBackend(), CountingBackend()
    llms = {"judge": judge, "debater_a": debater, "debater_b": debater}  # two roles share one LLM
    _ask(judge, "a b", "verdict")
    _ask(debater, "c d e", "debate")
    _ask(debater, "f", "debate")
    combined = combined_stats(llms)
    assert combined.snapshot()["requests_sent"] == 3  # the shared debater is counted once
    assert combined.kinds()["debate"]["tokens_in"] == 4

    shard_a, shard_b = RunReport(), RunReport()
    LLMMeter(llms.values(), since_start=True).add_to(shard_a)  # the one route of usage into a report
    LLMMeter([judge], since_start=True).add_to(shard_b)
    shard_a.merge(shard_b)
    assert (shard_a.llm["requests"], shard_a.llm["verdict.requests"], shard_a.llm["debate.calls"]) == (
        4,
        2,
        2,
    )


def test_merge_adds_every_counter() -> None:
    one, two = LLMStats(), LLMStats()
    one.add("qa", requests_sent=2, tokens_in=10, retries=1)
    two.add("qa", requests_sent=1, tokens_in=5)
    two.add("summary", cache_hits=4)
    one.merge(two)
    assert one.snapshot()["requests_sent"] == 3 and one.snapshot()["retries"] == 1
    assert one.kinds() == {
        "qa": {**dict.fromkeys(one.kinds()["qa"], 0), "requests_sent": 3, "tokens_in": 15},
        "summary": {**dict.fromkeys(one.kinds()["summary"], 0), "cache_hits": 4},
    }
    with pytest.raises(AttributeError):
        one.add(no_such_counter=1)
