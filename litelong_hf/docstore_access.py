"""Random access to a finished document store: :class:`DocumentStore`, the memory-mapped Arrow parts of one
corpus snapshot, read by position or id. Split out of :mod:`litelong_hf.docstore` (which reads a corpus
into a store, opens it, and re-exports :class:`DocumentStore`).
"""

from __future__ import annotations

import bisect
import json
import mmap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from .corpus import CorpusError, Document
from .idmap import IdIndex, LazyStrings, PreadStrings, _advise
from .report import RunReport


class DocumentStore(Mapping[str, Document]):
    """The accepted documents of one corpus snapshot, memory-mapped, by position (and by id).

    ``len(store)`` documents at positions ``0..len-1`` in corpus order; :meth:`text`, :meth:`doc_id`,
    :meth:`meta` fetch one, :meth:`texts` many, :meth:`documents` and :meth:`batches` iterate. As a
    ``Mapping`` it maps document ids to :class:`~litelong_hf.corpus.Document` (iteration gives ids).
    """

    def __init__(self, path: Path, info: dict[str, Any]) -> None:
        self.path = path
        self.info = info
        self.fingerprint: str = info["fingerprint"]
        self._batches: list[pa.RecordBatch] = []
        starts: list[int] = []
        total = 0
        self._maps: list[mmap.mmap] = []
        self._readers: list[tuple[PreadStrings, PreadStrings]] = []  # (ids, texts) of each part, by pread
        self._part_of: list[tuple[int, int]] = []  # (part, batch within the part) of each batch
        for part in range(int(info["parts"])):
            with open(path / _part_name(part), "rb") as handle:
                mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            _advise(mapped, "MADV_RANDOM")  # random access by position: no read-ahead of neighbours
            self._maps.append(mapped)
            reader = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(mapped)))
            kept: list[pa.RecordBatch] = []
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                if batch.num_rows:
                    starts.append(total)
                    self._batches.append(batch)
                    self._part_of.append((part, len(kept)))
                    kept.append(batch)
                    total += batch.num_rows
            file = path / _part_name(part)
            self._readers.append(
                (
                    PreadStrings(file, mapped, [b.column(0) for b in kept]),
                    PreadStrings(file, mapped, [b.column(1) for b in kept]),
                )
            )
            _advise(mapped, "MADV_DONTNEED")  # the footer and batch headers read above
        self._starts = starts
        self._len = total
        self._id_index: IdIndex | None = None
        if total != int(info["n_documents"]):
            raise CorpusError(f"The document store at {path} is damaged; delete it to read the corpus again.")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its folder (a Ray worker on a machine that sees the same cache maps it again)."""
        return (DocumentStore, (self.path, self.info))

    # -- by position -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._len

    def release(self) -> None:
        """Drop the mapped pages this process touched from its resident memory (the page cache keeps them)."""
        for mapped in self._maps:
            _advise(mapped, "MADV_DONTNEED")

    def _locate(self, position: int) -> tuple[pa.RecordBatch, int]:
        if not 0 <= position < self._len:
            raise IndexError(f"document position {position} out of range 0..{self._len - 1}")
        b = bisect.bisect_right(self._starts, position) - 1
        return self._batches[b], position - self._starts[b]

    def _read(self, position: int, column: int) -> str:
        """Column 0 (id) or 1 (text) at ``position``, read with ``pread`` (see :class:`PreadStrings`)."""
        if not 0 <= position < self._len:
            raise IndexError(f"document position {position} out of range 0..{self._len - 1}")
        b = bisect.bisect_right(self._starts, position) - 1
        part, local = self._part_of[b]
        return self._readers[part][column].get(local, position - self._starts[b])

    def text(self, position: int) -> str:
        return self._read(position, 1)

    def doc_id(self, position: int) -> str:
        return self._read(position, 0)

    def meta(self, position: int) -> dict[str, Any]:
        batch, row = self._locate(position)
        return dict(json.loads(batch.column(2)[row].as_py()))

    def document(self, position: int) -> Document:
        return Document(id=self.doc_id(position), text=self.text(position), meta=self.meta(position))

    def texts(self, positions: Sequence[int]) -> list[str]:
        """The texts at ``positions`` (any order, repeats allowed), in that order.

        One pass over the files in position order: per record batch one read of the offsets and one read
        per run of nearby texts (see :meth:`~litelong_hf.idmap.PreadStrings.get_many`), not two reads per text.
        """
        return self._many(positions, 1)

    def doc_ids_at(self, positions: Sequence[int]) -> list[str]:
        """The ids at ``positions``, read as :meth:`texts` reads."""
        return self._many(positions, 0)

    def _many(self, positions: Sequence[int], column: int) -> list[str]:
        wanted = sorted({int(p) for p in positions})
        found: dict[int, str] = {}
        i = 0
        while i < len(wanted):
            position = wanted[i]
            if not 0 <= position < self._len:
                raise IndexError(f"document position {position} out of range 0..{self._len - 1}")
            b = bisect.bisect_right(self._starts, position) - 1
            j = bisect.bisect_left(wanted, self._starts[b] + self._batches[b].num_rows, i)
            part, local = self._part_of[b]
            rows = [p - self._starts[b] for p in wanted[i:j]]
            found.update(zip(wanted[i:j], self._readers[part][column].get_many(local, rows), strict=True))
            i = j
        return [found[int(p)] for p in positions]

    def texts_by_id(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """``{id: text}`` of ``doc_ids`` (repeats allowed), read as :meth:`texts` reads."""
        unique = list(dict.fromkeys(doc_ids))
        return dict(zip(unique, self.texts([self.position(d) for d in unique]), strict=True))

    @property
    def ids(self) -> Sequence[str]:
        """Every document id in store order (a lazy, memory-mapped view; compares equal to a list)."""
        return _StoreIds(self)

    def position(self, doc_id: str) -> int:
        """Position of ``doc_id`` (``KeyError`` when it is not in the store), from the on-disk id index."""
        if self._id_index is None:
            self._id_index = IdIndex(self.path / "ids", self.ids)
        return self._id_index[doc_id]

    # -- iteration ---------------------------------------------------------------------------------------
    def documents(self, start: int = 0, stop: int | None = None) -> Iterator[Document]:
        """Documents ``start..stop-1`` in store order, one record batch in memory at a time."""
        for ids, texts, metas in self._rows(start, self._len if stop is None else stop):
            for doc_id, text, meta in zip(ids, texts, metas, strict=True):
                yield Document(id=doc_id, text=text, meta=json.loads(meta))

    def batches(self, batch_size: int = 4096) -> Iterator[tuple[list[str], list[str]]]:
        """``(ids, texts)`` of consecutive documents, ``batch_size`` at a time (index builds)."""
        ids: list[str] = []
        texts: list[str] = []
        for part_ids, part_texts, _ in self._rows(0, self._len):
            ids.extend(part_ids)
            texts.extend(part_texts)
            while len(ids) >= batch_size:
                yield ids[:batch_size], texts[:batch_size]
                ids, texts = ids[batch_size:], texts[batch_size:]
        if ids:
            yield ids, texts

    def _rows(self, start: int, stop: int) -> Iterator[tuple[list[str], list[str], list[str]]]:
        # A scan reads through the mapping; each part's pages are dropped from this process's resident
        # memory once the scan has left it (they stay in the page cache), so a scan's RSS stays at a part.
        current: int | None = None
        for b, (first, batch) in enumerate(zip(self._starts, self._batches, strict=True)):
            lo, hi = max(start, first), min(stop, first + batch.num_rows)
            if lo >= hi:
                continue
            part_number = self._part_of[b][0]
            if current is not None and part_number != current:
                _advise(self._maps[current], "MADV_DONTNEED")
            current = part_number
            part = batch.slice(lo - first, hi - lo)
            yield part.column(0).to_pylist(), part.column(1).to_pylist(), part.column(2).to_pylist()
        if current is not None:
            _advise(self._maps[current], "MADV_DONTNEED")

    # -- Mapping by id -------------------------------------------------------------------------------------
    def __getitem__(self, doc_id: str) -> Document:
        return self.document(self.position(doc_id))

    def __iter__(self) -> Iterator[str]:
        for batch in self._batches:
            yield from batch.column(0).to_pylist()

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str) or not self._len:
            return False
        try:
            self.position(doc_id)
        except KeyError:
            return False
        return True

    @property
    def text_by_id(self) -> Mapping[str, str]:
        """A lazy ``id -> text`` mapping (no copy of the corpus)."""
        return _TextsById(self)

    # -- what reading found ----------------------------------------------------------------------------------
    def report(self) -> RunReport:
        """Accepted documents and what the filters skipped, as when the corpus was read."""
        return RunReport.from_dict(self.info["report"])

    @property
    def n_bytes(self) -> int:
        return int(self.info["n_bytes"])


class _StoreIds(LazyStrings):
    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def __len__(self) -> int:
        return len(self.store)

    def _at(self, index: int) -> str:
        return self.store.doc_id(index)

    def __iter__(self) -> Iterator[str]:
        return iter(self.store)


class _TextsById(Mapping[str, str]):
    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def __getitem__(self, doc_id: str) -> str:
        return self.store.text(self.store.position(doc_id))

    def __iter__(self) -> Iterator[str]:
        return iter(self.store)

    def __len__(self) -> int:
        return len(self.store)


def _part_name(number: int) -> str:
    return f"part-{number:05d}.arrow"
