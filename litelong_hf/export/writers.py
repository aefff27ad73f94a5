"""Shard writers, one per format; each writes records into a local folder it owns.

- ``mds``: mosaicml-streaming's own :class:`streaming.MDSWriter` (``index.json`` + ``shard.NNNNN.mds``,
  optionally compressed), read back by ``streaming.StreamingDataset``.
- ``parquet``: ``part-NNNNN.parquet`` with small row groups (a few long rows each).
- ``jsonl``: ``part-NNNNN.jsonl`` (``.jsonl.gz`` with gzip), one record per line.

Every writer starts a new shard once the current one holds ``size_limit`` bytes (MDS: of encoded samples;
parquet: of Arrow data; jsonl: of uncompressed lines).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import IO, Any, Protocol, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import ExportError
from .options import Format
from .records import Column

PARQUET_COMPRESSIONS = ("snappy", "zstd", "gzip", "brotli", "lz4")
JSONL_COMPRESSIONS = ("gzip",)
ROW_GROUP_ROWS = 8
ROW_GROUP_BYTES = 32 * 1024 * 1024


class ShardWriter(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...

    def finish(self) -> list[str]:
        """Close the last shard; the names of the shard files written, in order."""
        ...


def check_compression(fmt: Format, compression: str | None) -> str | None:
    """``compression`` normalised for ``fmt`` (``None``/``"none"``: uncompressed); bad values raise."""
    if compression is None or compression.lower() in ("", "none"):
        return None
    if fmt == "mds":
        from .streaming_import import import_streaming

        import_streaming()
        from streaming.base.compression import get_compressions, is_compression

        if not is_compression(compression):
            families = sorted({name.split(":")[0] for name in get_compressions()})
            raise ExportError(
                f"--compression {compression!r} is not an MDS compression; use one of {', '.join(families)} "
                "(a level after a colon where the codec has levels, e.g. zstd:7), or none."
            )
        return compression
    allowed = PARQUET_COMPRESSIONS if fmt == "parquet" else JSONL_COMPRESSIONS
    if compression.lower() not in allowed:
        raise ExportError(
            f"--compression {compression!r} does not apply to {fmt}; use one of {', '.join(allowed)}, or none."
        )
    return compression.lower()


class MDSShards:
    """Records through ``streaming.MDSWriter`` (the reader's own writer: no hand-made shard format)."""

    def __init__(self, folder: Path, columns: list[Column], size_limit: int, compression: str | None) -> None:
        from .streaming_import import import_streaming

        streaming = import_streaming()
        self.folder = folder
        self.writer = streaming.MDSWriter(
            out=str(folder),
            columns={c.name: c.mds for c in columns},
            compression=compression,
            size_limit=size_limit,
            progress_bar=False,
        )

    def write(self, record: dict[str, Any]) -> None:
        self.writer.write(record)

    def finish(self) -> list[str]:
        self.writer.finish()
        index = json.loads((self.folder / "index.json").read_text(encoding="utf-8"))
        return ["index.json"] + [
            str((shard.get("zip_data") or shard["raw_data"])["basename"]) for shard in index["shards"]
        ]


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _arrow_column(values: list[Any], kind: pa.DataType) -> pa.Array:
    """One column of records; numpy ids, spans and masks go to Arrow without Python lists in between."""
    if not (values and isinstance(values[0], np.ndarray)):
        return pa.array(values, type=kind)
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    flat = np.concatenate(values)
    if flat.ndim == 2:  # spans: a list of fixed-size (start, end) pairs per row
        inner = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), flat.shape[1])
        return pa.ListArray.from_arrays(pa.array(offsets), inner).cast(kind)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat)).cast(kind)


class ParquetShards:
    """Records as parquet files with small row groups, rolled over at ``size_limit`` bytes of Arrow data."""

    def __init__(self, folder: Path, columns: list[Column], size_limit: int, compression: str | None) -> None:
        self.folder = folder
        self.schema = pa.schema([pa.field(c.name, c.arrow) for c in columns])
        self.size_limit = size_limit
        self.compression = compression or "snappy"
        self.files: list[str] = []
        self.pending: list[dict[str, Any]] = []
        self.pending_bytes = 0
        self.shard_bytes = 0
        self.writer: pq.ParquetWriter | None = None

    def write(self, record: dict[str, Any]) -> None:
        self.pending.append(record)
        self.pending_bytes += int(record["input_ids"].nbytes) + len(record.get("text") or "")
        if len(self.pending) >= ROW_GROUP_ROWS or self.pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        table = pa.Table.from_arrays(
            [_arrow_column([r[f.name] for r in self.pending], f.type) for f in self.schema],
            schema=self.schema,
        )
        if self.writer is None:
            name = f"part-{len(self.files):05d}.parquet"
            self.files.append(name)
            self.writer = pq.ParquetWriter(self.folder / name, self.schema, compression=self.compression)
        self.writer.write_table(table, row_group_size=len(self.pending))
        self.shard_bytes += table.nbytes
        self.pending, self.pending_bytes = [], 0
        if self.shard_bytes >= self.size_limit:
            self.writer.close()
            self.writer, self.shard_bytes = None, 0

    def finish(self) -> list[str]:
        self._flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        return list(self.files)


class JsonlShards:
    """One JSON object per line, rolled over at ``size_limit`` bytes of (uncompressed) lines."""

    def __init__(self, folder: Path, columns: list[Column], size_limit: int, compression: str | None) -> None:
        self.folder = folder
        self.names = [c.name for c in columns]
        self.size_limit = size_limit
        self.gzip = compression == "gzip"
        self.files: list[str] = []
        self.handle: IO[bytes] | None = None
        self.shard_bytes = 0

    def _open(self) -> IO[bytes]:
        name = f"part-{len(self.files):05d}.jsonl" + (".gz" if self.gzip else "")
        self.files.append(name)
        path = self.folder / name
        # mtime=0: the same rows give byte-identical gzip files
        if self.gzip:
            return cast(IO[bytes], gzip.GzipFile(path, "wb", mtime=0))
        return open(path, "wb")  # closed in write and finish

    def write(self, record: dict[str, Any]) -> None:
        if self.handle is None:
            self.handle = self._open()
        line = (
            json.dumps({n: _plain(record[n]) for n in self.names}, ensure_ascii=False).encode("utf-8") + b"\n"
        )
        self.handle.write(line)
        self.shard_bytes += len(line)
        if self.shard_bytes >= self.size_limit:
            self.handle.close()
            self.handle, self.shard_bytes = None, 0

    def finish(self) -> list[str]:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        return list(self.files)


def make_writer(
    fmt: Format, folder: Path, columns: list[Column], size_limit: int, compression: str | None
) -> ShardWriter:
    """The writer of ``fmt`` into ``folder`` (which it fills; it must not exist yet for MDS)."""
    writers: dict[str, type[MDSShards] | type[ParquetShards] | type[JsonlShards]] = {
        "mds": MDSShards,
        "parquet": ParquetShards,
        "jsonl": JsonlShards,
    }
    return writers[fmt](folder, columns, size_limit, compression)
