"""The strategy protocol binds: an abstract base, a typed registry, ``row_kind_of``, declared outputs, and
one bounded per-process resource cache."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from litelong_hf.config import BaseConfig, ConfigError
from litelong_hf.presets import load_preset, make_config, preset_names
from litelong_hf.publish.names import expected_schema
from litelong_hf.report import LLMMeter, RunReport
from litelong_hf.strategies import make_strategy, row_kind_of, strategy_class, strategy_names
from litelong_hf.strategies.base import Bundle, Strategy
from litelong_hf.strategies.common import ResourceCache
from litelong_hf.strategies.context import StrategyContext
from litelong_hf.testing.scripted import ScriptedLLM

PACKAGE = Path(__file__).resolve().parents[2] / "litelong_hf"


def test_every_registered_strategy_is_a_strategy_subclass() -> None:
    for name in strategy_names():
        cls = strategy_class(name)
        assert issubclass(cls, Strategy) and cls.name == name
        assert cls.row_kind in ("pretraining", "instruction")


def test_row_kind_of_answers_for_strategies_and_presets_from_the_class_attribute() -> None:
    for preset in preset_names():
        strategy = str(load_preset(preset)["strategy"])
        assert row_kind_of(preset) == row_kind_of(strategy) == strategy_class(strategy).row_kind
    assert row_kind_of("hierarchical-128k") == "instruction"
    assert row_kind_of("litelong") == row_kind_of("nextlong-64k") == "pretraining"
    with pytest.raises(ConfigError, match="Unknown strategy or config 'nope'"):
        row_kind_of("nope")


def test_publish_asks_row_kind_of() -> None:
    assert expected_schema("hierarchical-1m") == "instruction"
    assert expected_schema("hierarchical-2m-fineweb") == "instruction"  # not a preset: its method answers
    assert expected_schema("nextlong-64k-fineweb") == "pretraining"
    assert expected_schema("litelong-nextlong-128k") == "pretraining"


def test_no_module_outside_strategies_knows_a_strategy_by_name() -> None:
    pattern = re.compile(
        r"""[=!]= *["'](hierarchical|litelong|nextlong|random-concat|litelong-nextlong)["']"""
    )
    startswith = re.compile(r"""strategy\.startswith\(""")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "strategies" in path.relative_to(PACKAGE).parts or "space" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if pattern.search(text) or startswith.search(text):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


class _Minimal(Strategy):
    """A strategy implementing only what the base does not."""

    name = "minimal"
    row_kind = "pretraining"

    def num_work_items(self) -> int:
        return 1

    def drafts(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Bundle]:
        self.record_transcript({"shard": shard})
        yield Bundle(key="one", pieces=[])


def test_the_base_supplies_defaults_and_declared_outputs() -> None:
    config = make_config("random-concat-64k")
    strategy = _Minimal(config)
    report = RunReport()
    strategy.validate()
    assert strategy.summarize(report) == {} and strategy.card_entries([{"x": 1}]) == {}
    strategy.close()
    assert [b.key for b in strategy.drafts(3, 4, report)] == ["one"]
    assert strategy.take_transcripts() == [{"shard": 3}]
    assert strategy.take_transcripts() == []  # taken once
    assert report.extra == {}  # transcripts are an output of the strategy, not a report key


def test_a_strategy_without_drafts_cannot_be_made() -> None:
    class Incomplete(Strategy):
        name = "incomplete"
        row_kind = "pretraining"

        def num_work_items(self) -> int:
            return 0

    with pytest.raises(TypeError, match="drafts"):
        Incomplete(make_config("random-concat-64k"))  # type: ignore[abstract]


def test_make_strategy_uses_the_registry() -> None:
    config: BaseConfig = make_config("random-concat-64k")
    strategy = make_strategy(config)
    assert isinstance(strategy, strategy_class("random-concat")) and strategy.config is config


def test_resource_cache_builds_once_per_key_and_stays_bounded() -> None:
    cache: ResourceCache[str, list[str]] = ResourceCache(maxsize=2)
    built: list[str] = []

    def build(key: str) -> list[str]:
        built.append(key)
        return [key]

    a = cache.get("a", lambda: build("a"))
    assert cache.get("a", lambda: build("a")) is a and built == ["a"]
    cache.get("b", lambda: build("b"))
    cache.get("a", lambda: build("a"))  # a is now the most recently used
    cache.get("c", lambda: build("c"))  # evicts b, the least recently used
    assert len(cache) == 2 and "a" in cache and "c" in cache and "b" not in cache
    cache.get("b", lambda: build("b"))
    assert built == ["a", "b", "c", "b"]
    with pytest.raises(ValueError):
        ResourceCache(maxsize=0)


def test_resource_cache_builds_once_when_threads_race() -> None:
    cache: ResourceCache[str, object] = ResourceCache()
    built: list[int] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        cache.get("k", lambda: built.append(1) or object())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [1]


def test_llm_meter_adds_only_what_happened_since_the_last_call() -> None:
    llm = ScriptedLLM("meter", lambda prompt, request: "ok")
    llm.chat_sync([{"role": "user", "content": "before"}], max_tokens=8)
    meter = LLMMeter([llm, llm])  # one LLM under two roles counts once
    first, second = RunReport(), RunReport()
    llm.chat_sync([{"role": "user", "content": "one"}], max_tokens=8)
    meter.add_to(first)
    llm.chat_sync([{"role": "user", "content": "two"}], max_tokens=8)
    llm.chat_sync([{"role": "user", "content": "three"}], max_tokens=8)
    meter.add_to(second)
    assert first.llm["requests"] == 1 and second.llm["requests"] == 2
    whole = RunReport()
    LLMMeter([llm], since_start=True).add_to(whole)
    assert whole.llm["requests"] == 4 == first.llm["requests"] + second.llm["requests"] + 1
    assert whole.llm["tokens_in"] > second.llm["tokens_in"] > 0


def test_the_context_hands_out_injected_llms_and_names_a_missing_role() -> None:
    llm = ScriptedLLM("qa", lambda prompt, request: "ok")
    context = StrategyContext(llms={"qa": llm})
    assert context.chat_llms(None, ("qa",)) == {"qa": llm}
    with pytest.raises(KeyError, match="judge"):
        context.chat_llms(None, ("qa", "judge"))


def test_the_pipeline_hands_its_context_to_the_strategy(tmp_path: Path) -> None:
    config = make_config("random-concat-64k", cache_dir=str(tmp_path), target_tokens=4096)
    context = StrategyContext(cache_dir=str(tmp_path))
    strategy = make_strategy(config, context)
    assert strategy.context is context
    assert make_strategy(config).context.cache_dir == str(tmp_path)  # default: the config's cache root
    store = context.store(config.corpus_config())
    assert strategy.num_work_items() == -(-len(store) // 256)
