"""Memory-mapped string columns and id -> position lookups that do not grow a Python dict per corpus.

:class:`StringColumn` is a read-only ``Sequence[str]`` over one Arrow IPC file (random access by position,
pages shared between processes); :class:`IdIndex` maps ids to positions through a sorted array of 64-bit
id hashes (``numpy.searchsorted`` on a memory-mapped ``.npy``), checking the id at the found position.
The document store, BM25 indexes and NExtLong's chunk pool use them so that a worker's memory stays
flat when the corpus grows.

Example::

    StringColumn.write("ids.arrow", ["a", "b"]); ids = StringColumn("ids.arrow"); ids[1] == "b"
    IdIndex.write("ids", ids); IdIndex("ids", ids).get("b") == 1
"""

from __future__ import annotations

import bisect
import hashlib
import mmap
import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import pyarrow as pa

from . import layout

_BATCH = 4096


GAP_BYTES = 256 * 1024
"""Largest gap between two wanted strings read in one call by :meth:`PreadStrings.get_many` (reading it
costs less than another system call)."""


class PreadStrings:
    """Reads single strings of the Arrow string columns of a memory-mapped IPC file with ``os.pread``.

    Why not through the mapping: on current Linux kernels (measured on 6.18, ext4) a page fault in a
    file mapping maps the whole page-cache folio around it (often 1-2 MB, whatever ``MADV_RANDOM`` says),
    so a few thousand random 2 KB reads made a process resident in most of a 600 MB file, and the resident
    size grew with the corpus. ``pread`` copies just the bytes asked for; the page cache (shared, and
    dropped under pressure) holds the rest. The mapping is only used to find where each column's offsets
    and bytes lie in the file (Arrow IPC buffers are zero-copy slices of it).
    """

    def __init__(self, path: str | Path, mapped: mmap.mmap, arrays: Sequence[pa.Array]) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._arrays = list(arrays)
        base = pa.py_buffer(mapped).address
        size = len(mapped)
        # (offsets position, data position, offset width) per array; None: read through Arrow instead
        self._where: list[tuple[int, int, int] | None] = []
        for array in self._arrays:
            self._where.append(self._locate(array, base, size))

    @staticmethod
    def _locate(array: pa.Array, base: int, size: int) -> tuple[int, int, int] | None:
        if array.null_count or not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            return None
        width = 8 if pa.types.is_large_string(array.type) else 4
        _, offsets, data = array.buffers()
        if offsets is None or data is None:
            return None
        off_pos, data_pos = offsets.address - base, data.address - base
        if not (0 <= off_pos < size and 0 <= data_pos <= size):
            return None  # not a slice of the mapping (e.g. a compressed file): use Arrow
        return off_pos + array.offset * width, data_pos, width

    def get(self, b: int, row: int) -> str:
        where = self._where[b]
        if where is None:
            return str(self._arrays[b][row].as_py())
        off_pos, data_pos, width = where
        lo, hi = struct.unpack(
            "<qq" if width == 8 else "<ii", os.pread(self._fd, 2 * width, off_pos + row * width)
        )
        return os.pread(self._fd, hi - lo, data_pos + lo).decode("utf-8") if hi > lo else ""

    def get_many(self, b: int, rows: Sequence[int], *, gap: int = GAP_BYTES) -> list[str]:
        """The strings at ``rows`` (ascending, no repeats) of array ``b``, in few reads.

        The offsets of the whole span are read once; strings whose bytes lie closer than ``gap`` bytes are
        read in one call and sliced, so hundreds of a record batch's texts cost a few ``pread`` calls
        instead of two each (:meth:`get`).
        """
        where = self._where[b]
        if not rows or where is None:
            return [self.get(b, row) for row in rows]
        off_pos, data_pos, width = where
        first = rows[0]
        raw = os.pread(self._fd, (rows[-1] - first + 2) * width, off_pos + first * width)
        offsets = np.frombuffer(raw, dtype=np.int64 if width == 8 else np.int32)
        index = np.asarray(rows, dtype=np.int64) - first
        starts, stops = offsets[index].tolist(), offsets[index + 1].tolist()
        out: list[str] = []
        i = 0
        while i < len(rows):
            j = i + 1
            while j < len(rows) and starts[j] - stops[j - 1] <= gap:
                j += 1
            lo, hi = starts[i], stops[j - 1]
            view = memoryview(os.pread(self._fd, hi - lo, data_pos + lo) if hi > lo else b"")
            out.extend(
                str(view[a - lo : z - lo], "utf-8") for a, z in zip(starts[i:j], stops[i:j], strict=True)
            )
            i = j
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, AttributeError):
            return


class LazyStrings(Sequence[str]):
    """A read-only sequence of strings made on access, for ids and texts kept in arrays or files.

    A subclass writes ``__len__`` and ``_at(i)`` (``0 <= i < len``); indexing (negative positions, slices,
    ``IndexError``), iteration and equality with any sequence come from here, so the document store's ids,
    a chunk pool's lazy columns and :class:`StringColumn` share one implementation."""

    def _at(self, index: int) -> str:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        size = len(self)
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(size))]
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(f"position {index} out of range 0..{size - 1}")
        return self._at(index)

    def __iter__(self) -> Iterator[str]:
        return (self._at(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


class StringColumn(LazyStrings):
    """The strings of an Arrow IPC file written by :meth:`write`, by position (read with ``pread``)."""

    def __init__(self, path: str | Path) -> None:
        with open(path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        _advise(self._map, "MADV_RANDOM")  # random access: no read-ahead into neighbouring strings
        reader = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(self._map)))
        self._batches = [reader.get_batch(i).column(0) for i in range(reader.num_record_batches)]
        self._reader = PreadStrings(path, self._map, self._batches)
        _advise(self._map, "MADV_DONTNEED")  # the footer and batch headers read above
        self._starts: list[int] = []
        total = 0
        for batch in self._batches:
            self._starts.append(total)
            total += len(batch)
        self._len = total

    @staticmethod
    def write(path: str | Path, values: Iterable[str]) -> int:
        """Write ``values`` atomically; returns how many were written."""
        count = 0
        schema = pa.schema([("value", pa.large_string())])
        with (
            layout.atomic_path(path) as tmp,
            pa.OSFile(tmp, "wb") as sink,
            pa.ipc.new_file(sink, schema) as writer,
        ):
            chunk: list[str] = []
            for value in values:
                chunk.append(value)
                if len(chunk) == _BATCH:
                    writer.write_batch(pa.record_batch([pa.array(chunk, pa.large_string())], schema=schema))
                    count += len(chunk)
                    chunk = []
            if chunk:
                writer.write_batch(pa.record_batch([pa.array(chunk, pa.large_string())], schema=schema))
                count += len(chunk)
        return count

    def __len__(self) -> int:
        return self._len

    def release(self) -> None:
        """Drop the pages this process touched from its resident memory (they stay in the page cache)."""
        _advise(self._map, "MADV_DONTNEED")

    def _at(self, index: int) -> str:
        b = bisect.bisect_right(self._starts, index) - 1
        return self._reader.get(b, index - self._starts[b])

    def take(self, positions: Sequence[int]) -> list[str]:
        """The strings at ``positions`` (in that order), one Arrow ``take`` per record batch instead of two
        ``pread`` calls per string: for many at once (search hits). The mapped pages it reads stay resident
        until :meth:`release`."""
        where = np.asarray(positions, dtype=np.int64)
        if not len(where):
            return []
        if int(where.min()) < 0 or int(where.max()) >= self._len:
            raise IndexError(f"a position is out of range 0..{self._len - 1}")
        starts = np.asarray(self._starts, dtype=np.int64)
        batch_of = np.searchsorted(starts, where, side="right") - 1
        out: list[str] = [""] * len(where)
        for b in np.unique(batch_of).tolist():
            chosen = np.flatnonzero(batch_of == b)
            values = self._batches[b].take(pa.array(where[chosen] - starts[b])).to_pylist()
            for i, value in zip(chosen.tolist(), values, strict=True):
                out[i] = value
        return out

    def __iter__(self) -> Iterator[str]:
        for batch in self._batches:
            yield from batch.to_pylist()


def _advise(mapped: mmap.mmap, option: str) -> None:
    flag = getattr(mmap, option, None)
    if flag is None:
        return  # not available on this platform
    try:
        mapped.madvise(flag)
    except (OSError, ValueError):
        return


def id_hash(value: str) -> int:
    """Stable 63-bit hash of an id (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "little") >> 1


class IdIndex:
    """id -> position over a sequence of unique ids, from files written by :meth:`write` (``PREFIX.*.npy``)."""

    def __init__(self, prefix: str | Path, ids: Sequence[str]) -> None:
        prefix = Path(prefix)
        self.hashes = np.load(f"{prefix}.hashes.npy", mmap_mode="r").view(np.ndarray)
        self.order = np.load(f"{prefix}.order.npy", mmap_mode="r").view(np.ndarray)
        self.ids = ids

    @staticmethod
    def write(prefix: str | Path, ids: Iterable[str]) -> None:
        hashes = np.fromiter((id_hash(i) for i in ids), dtype=np.int64)
        order = np.argsort(hashes, kind="stable")
        for name, array in (("hashes", hashes[order]), ("order", order.astype(np.int64))):
            with layout.atomic_path(f"{prefix}.{name}.npy") as tmp, open(tmp, "wb") as handle:
                np.save(handle, array)

    @staticmethod
    def exists(prefix: str | Path) -> bool:
        return Path(f"{prefix}.hashes.npy").is_file() and Path(f"{prefix}.order.npy").is_file()

    def get(self, value: Any) -> int | None:
        """Position of ``value``, or ``None`` when it is not one of the ids."""
        if not isinstance(value, str):
            return None
        h = id_hash(value)
        i = int(np.searchsorted(self.hashes, h))
        while i < len(self.hashes) and int(self.hashes[i]) == h:
            position = int(self.order[i])
            if self.ids[position] == value:
                return position
            i += 1
        return None

    def __getitem__(self, value: str) -> int:
        found = self.get(value)
        if found is None:
            raise KeyError(value)
        return found

    def __contains__(self, value: object) -> bool:
        return self.get(value) is not None
