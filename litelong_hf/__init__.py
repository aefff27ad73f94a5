"""litelong-hf: long-context training data (64K-1M tokens) synthesized from short documents.

Example::

    import litelong_hf
    ds = litelong_hf.load("nextlong-128k", num_rows=2)          # embedded defaults, no internet
    litelong_hf.push_to_hub(ds, "me/long-data", config_name="nextlong-128k")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    import datasets


def load(
    config_name: str,
    *,
    corpus: str | None = None,
    endpoint: str | None = None,
    split: str = "train",
    streaming: bool = False,
    num_proc: int | None = None,
    cache_dir: str | None = None,
    num_rows: int | None = None,
    **overrides: Any,
) -> datasets.Dataset | datasets.IterableDataset:
    """Generate (or reuse) the rows of preset ``config_name``, like ``datasets.load_dataset``.

    Args:
        config_name: a preset name (``litelong-128k``, ``nextlong-512k``, ...); unknown names raise a
            ``ConfigError`` that lists the valid ones.
        corpus: base corpus (``"demo"``, a Hub dataset id, or local files); default: the preset's.
        endpoint: OpenAI-compatible / TGI endpoint for every LLM role; default: the embedded model.
        split: only ``"train"`` exists.
        streaming: return an ``IterableDataset`` that generates rows lazily.
        num_proc: processes for generation; also the default number of shards.
        cache_dir: where the ``datasets`` cache, indexes, LLM answers and shard checkpoints live.
        num_rows: stop after this many rows.
        **overrides: any field of the strategy config (see ``litelong-hf generate --help``).
    """
    from .builders import LongContextBuilder

    if split != "train":
        raise ValueError(f"Unknown split {split!r}: litelong-hf configs have a single 'train' split.")
    if num_proc and num_proc > 1:
        overrides.setdefault("num_shards", num_proc)
    kwargs = dict(overrides, corpus=corpus, endpoint=endpoint, num_rows=num_rows)
    if cache_dir is not None:
        kwargs["cache_dir"] = cache_dir
    builder = LongContextBuilder(
        config_name=config_name, **{k: v for k, v in kwargs.items() if v is not None}
    )
    if streaming:
        return builder.as_streaming_dataset(split=split)
    builder.download_and_prepare(num_proc=num_proc if num_proc and num_proc > 1 else None)
    from .pipeline import merged_report, require_rows

    require_rows(merged_report(builder.resolved))
    return builder.as_dataset(split=split)


def push_to_hub(*args: Any, **kwargs: Any) -> Any:
    """Publish a generated dataset with its card; see :func:`litelong_hf.hub.push_to_hub`."""
    from .hub import push_to_hub as _push

    return _push(*args, **kwargs)


__all__ = ["__version__", "load", "push_to_hub"]
