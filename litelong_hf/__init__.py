"""litelong-hf: long-context training data (64K-1M tokens) synthesized from short documents.

Example::

    import litelong_hf
    ds = litelong_hf.load("nextlong-128k", num_rows=2)          # embedded defaults, no internet
    litelong_hf.push_to_hub(ds, "me/long-data", config_name="nextlong-128k")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fields import UNSET, Unset

__version__ = "0.1.0"

if TYPE_CHECKING:
    import datasets

    from .hub import push_to_hub


def load(
    config_name: str,
    *,
    corpus: str | Unset = UNSET,
    endpoint: str | Unset | None = UNSET,
    split: str = "train",
    streaming: bool = False,
    num_proc: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    cache_dir: str | None = None,
    num_rows: int | Unset | None = UNSET,
    **overrides: Any,
) -> datasets.Dataset | datasets.IterableDataset:
    """Generate (or reuse) the rows of preset ``config_name``, like ``datasets.load_dataset``.

    Args:
        config_name: a preset name (``litelong-128k``, ``nextlong-512k``, ...); unknown names raise a
            ``ConfigError`` that lists the valid ones.
        corpus: base corpus (``"demo"``, a Hub dataset id, or local files); default: the preset's.
        endpoint: OpenAI-compatible / TGI endpoint for every LLM role; default: the embedded model.
        split: only ``"train"`` exists.
        streaming: return an ``IterableDataset`` that yields rows as they are made.
        num_proc: processes that run shards in parallel (rows never depend on it; see ``num_shards``).
        executor: ``"local"`` (this machine, ``num_proc`` processes) or ``"ray"`` (shards as Ray tasks).
        ray_address: Ray cluster to join with ``executor="ray"`` (default: start a local one).
        cache_dir: where indexes, LLM answers and the shard parquet files (the rows, stored once) live.
        num_rows: stop after this many rows.
        **overrides: any field of the strategy config (see ``litelong-hf generate CONFIG --help``); a field
            not given keeps the preset's value, ``None`` is a value (``bm25_stemmer=None``: no stemming).

    Raises the project's own exceptions (``ConfigError``, ``CorpusError``, ``EndpointError``,
    ``NoRowsError``...), each naming the fix.
    """
    from .config import ConfigError
    from .run import generate, prepare, surface_user_errors

    if split != "train":
        raise ConfigError(f"Unknown split {split!r}: litelong-hf configs have a single 'train' split.")
    kwargs = dict(overrides, corpus=corpus, endpoint=endpoint, num_rows=num_rows)
    if streaming:
        if executor != "local":
            raise ConfigError("streaming=True runs in this process; use executor='local' (the default).")
        builder = prepare(config_name, cache_dir=cache_dir, **kwargs)
        with surface_user_errors():
            return builder.as_streaming_dataset(split=split)
    run = generate(
        config_name,
        executor=executor,  # type: ignore[arg-type]
        num_proc=num_proc,
        ray_address=ray_address,
        cache_dir=cache_dir,
        **kwargs,
    )
    return run.dataset


def __getattr__(name: str) -> Any:
    # `push_to_hub` is litelong_hf.hub's own function (its real signature and docs), imported on first use
    # so that `import litelong_hf` stays light.
    if name == "push_to_hub":
        from .hub import push_to_hub

        return push_to_hub
    if name == "mixture":
        # The package litelong_hf.mixture, callable as its mixture(out, components=..., short=...).
        import importlib

        return importlib.import_module(".mixture", __name__)
    raise AttributeError(f"module 'litelong_hf' has no attribute {name!r}")


__all__ = ["__version__", "load", "mixture", "push_to_hub"]
