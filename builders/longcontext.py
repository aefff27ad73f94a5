"""The ``datasets`` builder of litelong-hf: one builder, one BuilderConfig per preset in ``configs/``.

``datasets`` >= 4 runs no loading scripts, so the builder ships as an importable class::

    from litelong_hf.builders import LongContextBuilder
    builder = LongContextBuilder(config_name="nextlong-128k", num_rows=4)
    builder.download_and_prepare()
    ds = builder.as_dataset("train")

Every field of the strategy configs (``litelong_hf.config``) is a BuilderConfig field, so any of them can be
overridden by keyword; the preset supplies the rest. The builder's cache key (``hash``) is the resolved
config hash, which includes the code and prompt versions.

The builder is a thin reader over the shard parquet files, the one copy of the rows on disk
(:mod:`litelong_hf.rowstore`): ``download_and_prepare`` completes the shards
(:func:`litelong_hf.run.complete_shards`) and writes no ``datasets`` Arrow cache, ``as_dataset`` reads the
finished shards, and streaming reads (or makes) them row by row, like ``datasets``' packaged parquet
builder. ``download_and_prepare(output_dir=..., file_format=...)`` is ``datasets``' own export, a copy.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any, ClassVar

import datasets
import pyarrow as pa

from litelong_hf import layout
from litelong_hf.config import UNSET, BaseConfig
from litelong_hf.pipeline import iter_shard, shard_complete, shard_files
from litelong_hf.presets import config_fields, make_config, preset_names
from litelong_hf.rows import INSTRUCTION_FEATURES, PRETRAINING_FEATURES
from litelong_hf.rowstore import parquet_dataset
from litelong_hf.strategies import make_strategy, row_kind_of, strategy_config_class

DATASET_NAME = "litelong_hf"


def _all_field_names() -> list[str]:
    """Union of the fields of every registered strategy config, in a stable order."""
    names: dict[str, None] = {}
    for preset in preset_names():
        strategy = make_config(preset).strategy
        for name in config_fields(strategy_config_class(strategy)):
            names.setdefault(name, None)
    return [n for n in names if n != "name"]


# A BuilderConfig whose fields are every strategy field, all defaulting to UNSET ("use the preset's value").
LongContextConfig = dataclasses.make_dataclass(
    "LongContextConfig",
    [(name, Any, dataclasses.field(default=UNSET)) for name in _all_field_names()],
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
    return make_config(name, **fields)


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
        make_strategy(self.resolved).validate()
        if kwargs.get("hash") is None:
            kwargs["hash"] = self.resolved.config_hash()
        if kwargs.get("cache_dir") is None:
            # datasets' prepared Arrow lives next to our shard checkpoints, never in a cache they do not share.
            kwargs["cache_dir"] = str(layout.datasets_cache_dir(self.resolved.cache_dir))
        kwargs.setdefault("dataset_name", DATASET_NAME)
        super().__init__(*args, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        instruction = row_kind_of(self.resolved.strategy) == "instruction"
        features = INSTRUCTION_FEATURES if instruction else PRETRAINING_FEATURES
        return datasets.DatasetInfo(
            description=f"litelong-hf {self.resolved.name}: {self.resolved.strategy} rows of "
            f"{self.resolved.target_tokens} tokens ({self.resolved.tokenizer}).",
            features=features,
            homepage="https://github.com/litelong-hf/litelong-hf",
        )

    def download_and_prepare(
        self,
        output_dir: str | None = None,
        *,
        num_proc: int | None = None,
        file_format: str = "arrow",
        **kwargs: Any,
    ) -> None:
        """Complete every shard (``num_proc`` processes at a time); no ``datasets`` cache is written.

        With ``output_dir`` or ``file_format="parquet"`` this is ``datasets``' own export (a copy of the rows).
        """
        if output_dir is not None or file_format != "arrow":
            super().download_and_prepare(output_dir, num_proc=num_proc, file_format=file_format, **kwargs)
            return
        from litelong_hf.run import complete_shards

        complete_shards(self.resolved, num_proc=num_proc)

    def as_dataset(
        self, split: str | datasets.Split | None = None, in_memory: bool = False
    ) -> datasets.Dataset | datasets.DatasetDict:
        """The rows of the finished shards, read from their parquet files (``in_memory`` is always so)."""
        config = self.resolved
        missing = [s for s in range(config.num_shards) if not shard_complete(config, s)]
        if missing:
            raise FileNotFoundError(
                f"Shards {missing} of {config.name} are not generated yet; call download_and_prepare() first."
            )
        if split is not None and str(split) != "train":
            raise ValueError(f"Unknown split {split!r}: litelong-hf configs have a single 'train' split.")
        files = [shard_files(config, shard).rows for shard in range(config.num_shards)]
        dataset = parquet_dataset(files, info=self.info, split="train")
        return dataset if split is not None else datasets.DatasetDict({"train": dataset})

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        # One list entry per shard: `num_proc` splits this list between processes.
        shards = list(range(self.resolved.num_shards))
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"shards": shards})]

    def _generate_tables(self, shards: list[int]) -> Iterator[tuple[str, pa.Table]]:
        # Rows arrive as they are made (streaming sees the first row early); finished shards are read back.
        for shard in shards:
            for index, table in enumerate(iter_shard(self.resolved, shard)):
                yield f"{shard:05d}_{index:06d}", table
