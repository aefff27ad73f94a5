"""A chunk pool on disk: written once per corpus and chunking, memory-mapped by every process.

Chunk texts are an Arrow column; owners, chunk indexes, token counts, content classes, spans and labels are
``.npy`` arrays. The views below compute ids, spans and positions from those arrays on access, so a pool
of millions of chunks holds no Python strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import layout
from ...idmap import LazyStrings
from ...progress import progress_bar
from ...tokens import TokenCounter
from .pool import CHUNK_MARK, ChunkPool, chunk_id, content_class, document_label, pool_chunks

if TYPE_CHECKING:
    from ...docstore import DocumentStore


def write_pool(
    store: DocumentStore,
    counter: TokenCounter,
    folder: Path,
    chunk_chars: int,
    split_long_lines: str,
    label_field: str | None,
    show_progress: bool,
) -> None:
    import pyarrow as pa

    owners: list[int] = []
    indexes: list[int] = []
    counts: list[int] = []
    content: list[int] = []
    classes: dict[bytes, int] = {}
    starts = np.zeros(len(store), dtype=np.int64)
    stops = np.zeros(len(store), dtype=np.int64)
    label_codes = np.full(len(store), -1, dtype=np.int32)
    label_names: dict[str, int] = {}
    schema = pa.schema([("value", pa.large_string())])
    batch: list[str] = []

    def flush(writer: Any) -> None:
        if batch:
            counts.extend(counter.count_batch(batch))
            writer.write_batch(pa.record_batch([pa.array(batch, pa.large_string())], schema=schema))
            batch.clear()

    with (
        progress_bar("Chunking for NExtLong", len(store), unit="docs", enabled=show_progress) as advance,
        layout.atomic_path(folder / "texts.arrow") as tmp,
        pa.OSFile(tmp, "wb") as sink,
        pa.ipc.new_file(sink, schema) as writer,
    ):
        for position, doc in enumerate(store.documents()):
            starts[position] = len(owners)
            for index, text in pool_chunks(doc.text, chunk_chars, split_long_lines):
                owners.append(position)
                indexes.append(index)
                content.append(content_class(text, classes))
                batch.append(text)
                if len(batch) >= 4096:
                    flush(writer)
            stops[position] = len(owners)
            label = document_label(doc, label_field)
            if label is not None:
                label_codes[position] = label_names.setdefault(label, len(label_names))
            advance(1)
        flush(writer)
    arrays: dict[str, np.ndarray] = {
        "owners": np.asarray(owners, dtype=np.int64),
        "indexes": np.asarray(indexes, dtype=np.int64),
        "n_tokens": np.asarray(counts, dtype=np.int64),
        "content": np.asarray(content, dtype=np.int64),
        "starts": starts,
        "stops": stops,
        "labels": label_codes,
    }
    for name, array in arrays.items():
        with layout.atomic_path(folder / f"{name}.npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, array)
    layout.atomic_write_json(
        folder / "pool.json", {"chunks": len(owners), "documents": len(store), "labels": list(label_names)}
    )


def open_pool(store: DocumentStore, folder: Path) -> ChunkPool:
    from ...idmap import StringColumn

    def load(name: str) -> np.ndarray:
        return np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray)

    info = json.loads((folder / "pool.json").read_text(encoding="utf-8"))
    owners, indexes = load("owners"), load("indexes")
    starts, stops = load("starts"), load("stops")
    ids = _ChunkIds(store, owners, indexes)
    return ChunkPool(
        chunk_ids=ids,
        texts=StringColumn(folder / "texts.arrow"),
        owners=_Owners(store, owners),
        n_tokens=load("n_tokens"),
        content=load("content"),
        doc_order=store.ids,
        spans=_Spans(store, starts, stops),
        labels=_Labels(store, load("labels"), info["labels"]),
        positions=_Positions(store, starts, stops, indexes, ids),
    )


class _LazyIds(LazyStrings):
    """Ids computed from arrays on access (a chunk pool of millions holds no Python strings)."""

    def __init__(self, store: DocumentStore, owners: np.ndarray) -> None:
        self.store, self.owners = store, owners

    def _at(self, i: int) -> str:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.owners)


class _ChunkIds(_LazyIds):
    def __init__(self, store: DocumentStore, owners: np.ndarray, indexes: np.ndarray) -> None:
        super().__init__(store, owners)
        self.indexes = indexes

    def _at(self, i: int) -> str:
        return chunk_id(self.store.doc_id(int(self.owners[i])), int(self.indexes[i]))


class _Owners(_LazyIds):
    def _at(self, i: int) -> str:
        return self.store.doc_id(int(self.owners[i]))


class _Spans(Mapping[str, tuple[int, int]]):
    def __init__(self, store: DocumentStore, starts: np.ndarray, stops: np.ndarray) -> None:
        self.store, self.starts, self.stops = store, starts, stops

    def __getitem__(self, doc_id: str) -> tuple[int, int]:
        p = self.store.position(doc_id)
        return int(self.starts[p]), int(self.stops[p])

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.store

    def __iter__(self) -> Iterator[str]:
        return iter(self.store)

    def __len__(self) -> int:
        return len(self.store)


class _Labels(Mapping[str, str]):
    def __init__(self, store: DocumentStore, codes: np.ndarray, names: list[str]) -> None:
        self.store, self.codes, self.names = store, codes, names

    def at_store_position(self, position: int) -> str | None:
        """The label of the document at store ``position`` (None: it has none)."""
        code = int(self.codes[position])
        return self.names[code] if code >= 0 else None

    def __getitem__(self, doc_id: str) -> str:
        code = int(self.codes[self.store.position(doc_id)])
        if code < 0:
            raise KeyError(doc_id)
        return self.names[code]

    def __iter__(self) -> Iterator[str]:
        return (d for d, c in zip(self.store, self.codes.tolist(), strict=True) if c >= 0)

    def __len__(self) -> int:
        return int(np.count_nonzero(self.codes >= 0))


class _Positions(Mapping[str, int]):
    def __init__(
        self, store: DocumentStore, starts: np.ndarray, stops: np.ndarray, indexes: np.ndarray, ids: _ChunkIds
    ) -> None:
        self.store, self.starts, self.stops, self.indexes, self.ids = store, starts, stops, indexes, ids
        self._memo: dict[str, int] = {}  # a row plan asks for the same hits several times (bounded)

    def __getitem__(self, cid: str) -> int:
        found = self._memo.get(cid)
        if found is None:
            if len(self._memo) >= 1 << 16:
                self._memo.clear()
            found = self._memo[cid] = self._find(cid)
        return found

    def _find(self, cid: str) -> int:
        doc_id, mark, index = cid.rpartition(CHUNK_MARK)
        if not mark or not index.isdigit():
            raise KeyError(cid)
        p = self.store.position(doc_id)
        lo, hi = int(self.starts[p]), int(self.stops[p])
        j = lo + int(np.searchsorted(self.indexes[lo:hi], int(index)))
        if j >= hi or int(self.indexes[j]) != int(index):
            raise KeyError(cid)
        return j

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)
