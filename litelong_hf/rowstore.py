"""The row store: a run's rows exist once on disk, as the shard parquet files; everything else is a view.

``shards/<name>-<hash>/shard-XXXXX-of-YYYYY.parquet`` (written by :mod:`litelong_hf.pipeline`) is the one
artifact. :func:`parquet_dataset` turns finished shard files into a ``datasets.Dataset`` without writing a
``datasets`` Arrow cache (the rows are decoded into memory, like ``Dataset.from_dict``); ``DIR/parquet/`` of
``litelong-hf generate --out DIR`` holds hard links to the same files (:func:`link_rows`), a copy only
when the cache sits on another filesystem. :func:`read_rows` reads a run directory back, also the
``DIR/dataset/`` (``save_to_disk``) folders of older runs.

Example::

    ds = parquet_dataset(["shard-00000-of-00002.parquet", "shard-00001-of-00002.parquet"])
    read_rows("out/").num_rows == ds.num_rows
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import datasets

__all__ = ["RowsNotFound", "link_rows", "parquet_dataset", "parquet_rows", "read_rows", "rows_file_name"]


class RowsNotFound(FileNotFoundError):
    """A folder holds no rows: neither ``parquet/`` nor a ``save_to_disk`` folder."""


def _read_table(path: str) -> pa.Table:
    if "://" in path and not path.startswith("file://"):
        with fsspec.open(path, "rb") as handle:
            return pq.read_table(handle)
    return pq.read_table(path.removeprefix("file://"), memory_map=True)


def parquet_rows(path: str | os.PathLike[str]) -> int:
    """Rows in the parquet file ``path`` (from its footer; local or fsspec)."""
    with fsspec.open(os.fspath(path), "rb") as handle:
        return int(pq.ParquetFile(handle).metadata.num_rows)


def parquet_dataset(
    paths: Sequence[str | os.PathLike[str]],
    *,
    info: datasets.DatasetInfo | None = None,
    split: str = "train",
) -> datasets.Dataset:
    """A ``datasets.Dataset`` of the rows of ``paths``, in order, with no file written.

    Features come from ``info`` or from the files' own schema (``datasets`` stores them in the parquet
    metadata). Nothing is cached: reading the same files again gives the same rows.
    """
    import datasets

    tables = [_read_table(os.fspath(p)) for p in paths]
    if not tables:
        raise RowsNotFound("No parquet files to read rows from.")
    features = info.features if info is not None and info.features is not None else None
    schema = features.arrow_schema if features is not None else tables[0].schema
    table = pa.concat_tables([t.cast(schema) if t.schema != schema else t for t in tables])
    if info is None:
        info = datasets.DatasetInfo(features=datasets.Features.from_arrow_schema(schema))
    return datasets.Dataset(datasets.table.InMemoryTable(table), info=info, split=datasets.NamedSplit(split))


def rows_file_name(index: int, count: int, split: str = "train") -> str:
    """``train-00000-of-00003.parquet``: the name of one rows file of a run directory."""
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def _link_or_copy(source: str, target: Path) -> None:
    if "://" in source and not source.startswith("file://"):
        with fsspec.open(source, "rb") as remote, open(target, "wb") as local:
            shutil.copyfileobj(remote, local)
        return
    local_source = source.removeprefix("file://")
    try:
        os.link(local_source, target)
    except OSError as exc:
        # Another filesystem (EXDEV) or one without hard links: the only case that costs a copy.
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
        shutil.copyfile(local_source, target)


def link_rows(shard_paths: Sequence[str], folder: Path) -> list[Path]:
    """Put the rows of ``shard_paths`` into ``folder`` as ``train-XXXXX-of-YYYYY.parquet`` files.

    Each non-empty shard becomes one file, a hard link to the shard (no byte written) where the
    filesystem allows it, a copy otherwise. Returns the files in row order.
    """
    sources = [p for p in shard_paths if parquet_rows(p) > 0]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, source in enumerate(sources):
        target = folder / rows_file_name(index, len(sources))
        _link_or_copy(source, target)
        written.append(target)
    return written


def read_rows(folder: str | os.PathLike[str], split: str = "train") -> datasets.Dataset:
    """The rows of a run directory: ``folder/parquet/*.parquet``, else a ``save_to_disk`` folder
    (``folder/dataset/`` of runs made before the row store, or ``folder`` itself).

    Raises :class:`RowsNotFound` when the folder holds neither; a ``DatasetDict`` gives its ``split``.
    """
    import datasets

    root = Path(folder)
    files = sorted((root / "parquet").glob(f"{split}-*.parquet"))
    if files:
        return parquet_dataset(files, split=split)
    for saved in (root / "dataset", root):
        if any((saved / marker).is_file() for marker in ("state.json", "dataset_dict.json")):
            loaded = datasets.load_from_disk(str(saved))
            if isinstance(loaded, datasets.DatasetDict):
                if split not in loaded:
                    raise RowsNotFound(f"{saved} holds splits {list(loaded)} but no {split!r} split.")
                return loaded[split]
            return loaded
    raise RowsNotFound(
        f"{root} holds no rows: no parquet/ folder (written by `litelong-hf generate --out DIR`) and no "
        "folder written by datasets' save_to_disk."
    )
