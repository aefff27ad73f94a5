"""The ``datasets`` builder of litelong-hf: one builder, one BuilderConfig per preset in ``configs/``.

``datasets`` >= 4 runs no loading scripts, so the builder ships as an importable class::

    from litelong_hf.builders import LongContextBuilder
    builder = LongContextBuilder(config_name="nextlong-128k", num_rows=4)
    builder.download_and_prepare()
    ds = builder.as_dataset("train")

Every field of the strategy configs (``litelong_hf.config``) is a BuilderConfig field, so any of them can be
overridden by keyword; the preset supplies the rest. The builder's cache key (``hash``) is the resolved
config hash, which includes the code and prompt versions.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any, ClassVar

import datasets
import pyarrow as pa

from litelong_hf import layout
from litelong_hf.config import BaseConfig
from litelong_hf.pipeline import iter_shard
from litelong_hf.presets import config_fields, make_config, preset_names
from litelong_hf.rows import INSTRUCTION_FEATURES, PRETRAINING_FEATURES
from litelong_hf.strategies import make_strategy, strategy_config_class

DATASET_NAME = "litelong_hf"


def _all_field_names() -> list[str]:
    """Union of the fields of every registered strategy config, in a stable order."""
    names: dict[str, None] = {}
    for preset in preset_names():
        strategy = make_config(preset).strategy
        for name in config_fields(strategy_config_class(strategy)):
            names.setdefault(name, None)
    return [n for n in names if n != "name"]


# A BuilderConfig whose fields are every strategy field, all defaulting to None ("use the preset's value").
LongContextConfig = dataclasses.make_dataclass(
    "LongContextConfig",
    [(name, Any, dataclasses.field(default=None)) for name in _all_field_names()],
    bases=(datasets.BuilderConfig,),
    namespace={"__doc__": "BuilderConfig of a litelong-hf preset; any strategy field may be overridden."},
)
# Keyword arguments of ``datasets.DatasetBuilder.__init__``; every other keyword is a config override.
_BUILDER_KWARGS = frozenset(inspect.signature(datasets.DatasetBuilder.__init__).parameters) - {
    "self",
    "config_kwargs",
}


def resolve_config(name: str, overrides: dict[str, Any]) -> BaseConfig:
    """The strategy config of preset ``name`` with builder-level overrides applied.

    ``cache_dir`` is shared with ``datasets``; unknown names raise ``ConfigError`` listing the valid fields.
    """
    fields = {k: v for k, v in overrides.items() if k not in _BUILDER_KWARGS or k == "cache_dir"}
    return make_config(name, **{k: v for k, v in fields.items() if v is not None})


class LongContextBuilder(datasets.ArrowBasedBuilder):
    """Synthesized long-context rows; config name = preset name (``litelong-128k``, ``nextlong-512k``...)."""

    BUILDER_CONFIG_CLASS = LongContextConfig
    BUILDER_CONFIGS: ClassVar[list[Any]] = [
        LongContextConfig(name=n, version=datasets.Version("1.0.0")) for n in preset_names()
    ]
    DEFAULT_CONFIG_NAME = "litelong-128k" if "litelong-128k" in preset_names() else None
    # A 1M-token row is ~5 MB of text plus 4 MB of ids: never buffer more than a few.
    DEFAULT_WRITER_BATCH_SIZE = 4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name = kwargs.get("config_name") or (args[1] if len(args) > 1 else None) or self.DEFAULT_CONFIG_NAME
        if name is None:
            raise ValueError(f"Pass config_name=...; valid names: {', '.join(preset_names())}.")
        self.resolved = resolve_config(str(name), kwargs)
        # Fail on bad input now (an empty taxonomy selection, a missing topics file), not mid-generation.
        validate = getattr(make_strategy(self.resolved), "validate", None)
        if validate is not None:
            validate()
        if kwargs.get("hash") is None:
            kwargs["hash"] = self.resolved.config_hash()
        if kwargs.get("cache_dir") is None:
            # datasets' prepared Arrow lives next to our shard checkpoints, never in a cache they do not share.
            kwargs["cache_dir"] = str(layout.cache_root() / "datasets")
        kwargs.setdefault("dataset_name", DATASET_NAME)
        super().__init__(*args, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        instruction = make_strategy(self.resolved).row_kind == "instruction"
        features = INSTRUCTION_FEATURES if instruction else PRETRAINING_FEATURES
        return datasets.DatasetInfo(
            description=f"litelong-hf {self.resolved.name}: {self.resolved.strategy} rows of "
            f"{self.resolved.target_tokens} tokens ({self.resolved.tokenizer}).",
            features=features,
            homepage="https://github.com/litelong-hf/litelong-hf",
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        # One list entry per shard: `num_proc` splits this list between processes.
        shards = list(range(self.resolved.num_shards))
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"shards": shards})]

    def _generate_tables(self, shards: list[int]) -> Iterator[tuple[str, pa.Table]]:
        # Rows arrive as they are made (streaming sees the first row early); completed shards are reused.
        for shard in shards:
            for index, table in enumerate(iter_shard(self.resolved, shard)):
                yield f"{shard:05d}_{index:06d}", table
