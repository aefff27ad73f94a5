"""Indexes kept in the cache: one folder per (items, settings), built once, checked against the corpus."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from .. import layout
from .config import DEFAULT_SHARD_DOCS, INDEX_FORMAT, META, IndexBuildError, IndexConfig
from .search import BM25Index

Items = Callable[[], tuple[Sequence[str], Sequence[str]]]
Batches = Callable[[], Iterable[tuple[Sequence[str], Sequence[str]]]]


def index_dir(key: str, cache_dir: str | Path | None = None) -> Path:
    """Folder where the index for ``key`` (a corpus fingerprint + unit + config) lives."""
    return layout.index_dir(key, cache_dir)


def index_path(key: str, config: IndexConfig, cache_dir: str | Path | None = None) -> Path:
    """Folder of the index :func:`get_or_build_index` keeps for ``key`` and ``config`` (this format's)."""
    return index_dir(f"{key}-{config.fingerprint()}-v{INDEX_FORMAT}", cache_dir)


def _unwritable(cache_dir: str | Path | None, exc: OSError) -> IndexBuildError:
    return IndexBuildError(
        f"Cannot write the index under {cache_dir or 'the cache root'} ({exc.strerror or exc}); pass a "
        "writable cache_dir (CLI: --cache-dir) or set LITELONG_HF_CACHE."
    )


def check_ids(index: BM25Index, expected: Sequence[str], key: str, unit: str = "documents") -> None:
    """Raise :class:`IndexBuildError` unless ``index`` holds exactly ``expected``, in order."""
    if len(index) == len(expected) and index.doc_ids == expected:
        return
    raise IndexBuildError(
        f"The cached BM25 index {key!r} holds {len(index):,} {unit} that are not the {len(expected):,} {unit} "
        "of the corpus (it changed since the index was built). Delete the index folder under the cache's "
        "indexes/ directory and run again."
    )


def get_or_build_index(
    key: str,
    items: Items | None = None,
    config: IndexConfig | None = None,
    *,
    batches: Batches | None = None,
    total: int | None = None,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
    shard_docs: int = DEFAULT_SHARD_DOCS,
    expected_ids: Sequence[str] | None = None,
    unit: str = "documents",
    num_proc: int | None = None,
) -> BM25Index:
    """Load the saved index for ``key``, or build it and save it, then memory-map it.

    Give either ``items()`` (all ids and texts at once) or ``batches()`` (an iterable of (ids, texts)
    batches, for corpora that do not fit in memory). ``key`` must change whenever the indexed items would
    (use the corpus fingerprint plus what was chunked and how); building twice from the same snapshot
    then reuses the saved index. Workers starting together build it once (a file lock).

    ``expected_ids``: the ids of the items, in order (e.g. the corpus's); the index returned, cached or just
    built, holds exactly these or an :class:`IndexBuildError` names the fix (``unit`` names the items in
    the message). This is the one place an index is checked against its corpus.

    ``num_proc``: workers that tokenize parts of the items at once (default: the build settings in force,
    :func:`litelong_hf.ingest.build_settings`; Ray tasks under ``executor="ray"``). The index is the same
    whatever it is. Items given as sequences, or ``batches`` that are a document store's ``batches``, can be
    split into parts; other batches are built in this process.
    """
    if (items is None) == (batches is None):
        raise IndexBuildError("get_or_build_index needs exactly one of items= or batches=.")
    config = config or IndexConfig()
    try:
        path = index_path(key, config, cache_dir)
    except OSError as exc:
        raise _unwritable(cache_dir, exc) from None
    if not (path / META).is_file():
        try:
            layout.check_writable(path.parent)
        except OSError as exc:
            raise _unwritable(cache_dir, exc) from None

        def from_items() -> Iterator[tuple[Sequence[str], Sequence[str]]]:
            assert items is not None
            ids, texts = items()
            if len(ids) != len(texts):
                raise IndexBuildError(f"{len(ids)} ids but {len(texts)} texts: pass one id per text.")
            for i in range(0, len(ids), 2048):
                yield ids[i : i + 2048], texts[i : i + 2048]

        def build(folder: Path) -> None:
            if _build_in_parts(folder, items, batches, config, shard_docs, num_proc, show_progress, total):
                return
            source = batches() if batches is not None else from_items()
            BM25Index.build_from_batches(
                source, config, path=folder, total=total, show_progress=show_progress, shard_docs=shard_docs
            )

        layout.build_once(path, META, build, in_place=True)
    index = BM25Index.load(path)
    if expected_ids is not None:
        check_ids(index, expected_ids, key, unit)
    return index


def _build_in_parts(
    folder: Path,
    items: Items | None,
    batches: Batches | None,
    config: IndexConfig,
    shard_docs: int,
    num_proc: int | None,
    show_progress: bool,
    total: int | None,
) -> bool:
    """Build the index in ``folder`` with several workers (:mod:`.parallel`) when the settings ask for more
    than one and the items can be read by range; ``False`` when it is to be built in this process."""
    from ..ingest import resolve_settings, workers_for
    from ..progress import progress_bar
    from . import parallel

    settings = resolve_settings(num_proc)
    if settings.executor != "ray" and (settings.num_proc or 1) <= 1:
        return False
    reader: parallel.Reader | None = None
    owner = getattr(batches, "__self__", None)
    if (
        batches is not None
        and owner is not None
        and hasattr(owner, "_rows")
        and hasattr(owner, "fingerprint")
    ):
        reader = parallel.StoreReader(owner)
        n_items = len(owner)
    elif items is not None:
        ids, texts = items()
        if len(ids) != len(texts):
            raise IndexBuildError(f"{len(ids)} ids but {len(texts)} texts: pass one id per text.")
        reader = parallel.SliceReader(ids, texts)
        n_items = len(ids)
    if reader is None or n_items < 2 * parallel.MIN_PART_DOCS:
        return False
    if settings.executor == "ray" and not parallel.picklable(reader):
        from ..ingest import BuildSettings

        settings = BuildSettings(settings.num_proc, "local")  # items only this process can read
    if workers_for(settings, 2) <= 1:
        return False
    with progress_bar(
        "Indexing for BM25", total=total or n_items, unit="docs", enabled=show_progress
    ) as advance:
        parallel.build_parallel(
            reader, n_items, config, folder, shard_docs=shard_docs, settings=settings, advance=advance
        )
    return True


def shard_count(n_docs: int, shard_docs: int = DEFAULT_SHARD_DOCS) -> int:
    """Shards an index of ``n_docs`` documents has (pure)."""
    return max(1, math.ceil(n_docs / shard_docs))
