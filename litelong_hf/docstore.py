"""The disk-backed document store: a corpus read once into memory-mapped Arrow files, fetched by position.

(Over 400 lines on purpose: reading, resuming and random access share one on-disk layout.)

``open_store(spec)`` reads the accepted documents of a corpus (see :mod:`litelong_hf.corpus`) into
``layout.corpus_store_dir(corpus_fingerprint(spec))`` as Arrow IPC parts of ~10,000 documents, then maps
them read-only: a worker's memory no longer grows with the corpus (pages are shared between processes and
dropped by the OS under pressure). A read that is interrupted (Ctrl-C, a lost connection, a killed worker)
resumes at the last finished part; a Hub stream resumes from its saved ``state_dict``. Workers of one run
that open the store together read the corpus once (a file lock).

Example::

    store = open_store(CorpusConfig(source="HuggingFaceFW/fineweb-edu", max_bytes=2 * 10**9))
    len(store), store.doc_id(0), store.text(0), store.meta(0)
    for ids, texts in store.batches(4096): ...
    store["news-00001"].text                 # a Mapping from id to Document as well
"""

from __future__ import annotations

import bisect
import json
import mmap
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import layout
from .corpus import CorpusConfig, CorpusError, Document, DocumentFilter, corpus_fingerprint, iter_records
from .idmap import IdIndex, LazyStrings, PreadStrings, _advise
from .progress import progress_enabled, stage
from .report import RunReport

STORE_FORMAT = 1
PART_DOCS = 10_000
"""Most documents per part file (a resumed read repeats at most one part)."""
PART_BYTES = 64 * 1024 * 1024
"""Most text bytes per part file."""
_BATCH_ROWS = 1024  # rows per Arrow record batch inside a part: the unit of random access
_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.large_string()),
        ("meta", pa.string()),
        ("sha1", pa.binary(20)),
    ]
)


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
        """The texts at ``positions`` (any order, repeats allowed)."""
        return [self.text(int(p)) for p in positions]

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


# ------------------------------------------------------------------------------------------------ opening

_OPEN: dict[tuple[str, str], DocumentStore] = {}


def store_path(spec: CorpusConfig, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the store of ``spec``'s current snapshot."""
    return layout.corpus_store_dir(corpus_fingerprint(spec), cache_dir)


def open_store(
    spec: CorpusConfig, *, cache_dir: str | os.PathLike[str] | None = None, show_progress: bool = True
) -> DocumentStore:
    """The store of ``spec``: opened when a finished one exists for its fingerprint, else read first.

    Raises :class:`~litelong_hf.corpus.CorpusError` (unreadable source, missing column, no documents, a
    cache folder that cannot be written).
    """
    fingerprint = spec.fingerprint()
    try:
        path = layout.corpus_store_dir(fingerprint, cache_dir)
        key = (str(path), fingerprint)
        if key in _OPEN:
            return _OPEN[key]
        done = path / "store.json"
        if not done.is_file():
            layout.check_writable(path)
    except OSError as exc:
        where = cache_dir or "the cache root"
        raise CorpusError(
            f"Cannot write the document store under {where} ({exc.strerror or exc}); pass a writable "
            "cache_dir (CLI: --cache-dir) or set LITELONG_HF_CACHE."
        ) from None
    layout.build_once(
        path, done.name, lambda folder: _read_into(spec, folder, show_progress=show_progress), in_place=True
    )
    info = json.loads(done.read_text(encoding="utf-8"))
    if info.get("format") != STORE_FORMAT:
        raise CorpusError(
            f"The document store at {path} has another format; delete it to read the corpus again."
        )
    store = DocumentStore(path, info)
    _OPEN[key] = store
    return store


class _Progress:
    """Documents, bytes, rate and ETA of a corpus read (ETA against max_documents or max_bytes)."""

    def __init__(self, spec: CorpusConfig, enabled: bool, docs: int, n_bytes: int) -> None:
        self.enabled = progress_enabled(enabled)
        self.docs, self.bytes = docs, n_bytes
        self.total = spec.max_bytes if spec.max_bytes else spec.max_documents
        self.by_bytes = bool(spec.max_bytes)

    def __enter__(self) -> _Progress:
        # A stage of the one live display (litelong_hf.progress): bytes or documents against the limit.
        unit = "bytes" if self.by_bytes else "docs"
        self._stage = stage("store: reading corpus", self.total, unit=unit, enabled=self.enabled)
        self._bar = self._stage.__enter__()
        self.advance(0, 0)
        return self

    def advance(self, docs: int, n_bytes: int) -> None:
        self.docs += docs
        self.bytes += n_bytes
        note = f"{self.docs:,} docs" if self.by_bytes else f"{self.bytes / 1e6:,.1f} MB"
        self._bar.set_completed(self.bytes if self.by_bytes else self.docs, note)

    def __exit__(self, *exc: object) -> None:
        self._stage.__exit__(None, None, None)


def _restore(spec: CorpusConfig, path: Path, state: dict[str, Any]) -> DocumentFilter:
    """The filter state after the finished parts of an interrupted read."""
    rules = DocumentFilter(spec, RunReport.from_dict(state["report"]))
    rules.accepted, rules.bytes = int(state["accepted"]), int(state["bytes"])
    rules.meta_columns = state.get("meta_columns")
    for part in range(int(state["parts"])):
        table = pa.ipc.open_file(pa.memory_map(str(path / _part_name(part)), "r")).read_all()
        rules.ids.update(table.column("id").to_pylist())
        if spec.dedup:
            rules.seen.update(table.column("sha1").to_pylist())
    return rules


def _part_ids(path: Path, parts: int) -> Iterator[str]:
    for part in range(parts):
        reader = pa.ipc.open_file(pa.memory_map(str(path / _part_name(part)), "r"))
        for i in range(reader.num_record_batches):
            yield from reader.get_batch(i).column(0).to_pylist()


def _write_part(path: Path, number: int, docs: list[Document]) -> None:
    import hashlib

    write_columns(
        path,
        number,
        [d.id for d in docs],
        [d.text for d in docs],
        [json.dumps(d.meta, ensure_ascii=False, default=str) for d in docs],
        [hashlib.sha1(d.text.encode("utf-8")).digest() for d in docs],
    )


def write_columns(
    path: Path, number: int, ids: list[str], texts: list[str], metas: list[str], sha1s: list[bytes]
) -> None:
    """Write store part ``number`` from its columns (ids, texts, meta JSON, SHA-1 digests), atomically."""
    write_batches(path / _part_name(number), _SCHEMA, [ids, texts, metas, sha1s], _BATCH_ROWS)


def write_batches(target: Path, schema: pa.Schema, columns: Sequence[list[Any]], rows: int) -> None:
    """An Arrow IPC file of ``columns`` (Python lists, aligned with ``schema``), ``rows`` per record batch,
    written atomically. The bytes depend only on the values: a store part is the same whoever writes it."""
    with (
        layout.atomic_path(target) as tmp,
        pa.OSFile(str(tmp), "wb") as sink,
        pa.ipc.new_file(sink, schema) as writer,
    ):
        for start in range(0, len(columns[0]), rows):
            writer.write_batch(
                pa.record_batch(
                    [
                        pa.array(values[start : start + rows], field.type)
                        for values, field in zip(columns, schema, strict=True)
                    ],
                    schema=schema,
                )
            )


def _records(spec: CorpusConfig, skip: int, hub_state: Any) -> tuple[Iterator[dict[str, Any]], Any]:
    """Source records from position ``skip`` on, and the Hub stream (for its state) when there is one."""
    if spec.kind == "hub":
        from .corpus import hub_stream

        stream = hub_stream(spec)
        if hub_state is not None:
            stream.load_state_dict(hub_state)
            return iter(stream), stream
        records: Iterator[dict[str, Any]] = iter(stream)
    else:
        stream = None
        records = iter_records(spec)
    for _ in range(skip):
        if next(records, None) is None:
            break
    return records, stream


def _read_into(spec: CorpusConfig, path: Path, *, show_progress: bool) -> None:
    progress_file = path / "progress.json"
    if not progress_file.is_file() and _read_in_parallel(spec, path, show_progress=show_progress):
        return
    state: dict[str, Any] = (
        json.loads(progress_file.read_text(encoding="utf-8"))
        if progress_file.is_file()
        else {"parts": 0, "records": 0, "accepted": 0, "bytes": 0, "report": RunReport().to_dict()}
    )
    rules = _restore(spec, path, state)
    report = rules.report
    assert report is not None
    records, stream = _records(spec, int(state["records"]), state.get("hub_state"))
    position = int(state["records"])
    parts = int(state["parts"])
    pending: list[Document] = []
    pending_bytes = 0

    def flush() -> None:
        nonlocal parts, pending, pending_bytes
        if pending:
            _write_part(path, parts, pending)
            parts += 1
        saved = {
            "parts": parts,
            "records": position,
            "accepted": rules.accepted,
            "bytes": rules.bytes,
            "report": report.to_dict(),
            "meta_columns": rules.meta_columns,
        }
        if stream is not None:
            saved["hub_state"] = stream.state_dict()
        layout.atomic_write_json(progress_file, saved)
        pending, pending_bytes = [], 0

    with _Progress(spec, show_progress, rules.accepted, rules.bytes) as bar:
        try:
            for record in records:
                doc = rules.accept(position, record)
                position += 1
                if doc is False:
                    break
                if doc is None or doc is True:
                    continue
                size = len(doc.text.encode("utf-8"))
                pending.append(doc)
                pending_bytes += size
                bar.advance(1, size)
                if rules.full:
                    break
                if len(pending) >= PART_DOCS or pending_bytes >= PART_BYTES:
                    flush()
        except CorpusError:
            raise
        except (OSError, ConnectionError) as exc:
            flush()
            raise CorpusError(
                f"Reading corpus {spec.source!r} stopped ({type(exc).__name__}: {exc}); run again to resume "
                f"from document {rules.accepted:,}."
            ) from None
        except BaseException:
            flush()  # Ctrl-C or a crash: keep what is read, a re-run resumes here
            raise
    rules.finish()
    if pending:
        _write_part(path, parts, pending)
        parts += 1
    IdIndex.write(path / "ids", _part_ids(path, parts))
    info = {
        "format": STORE_FORMAT,
        "fingerprint": spec.fingerprint(),
        "source": spec.source,
        "parts": parts,
        "n_documents": rules.accepted,
        "n_bytes": rules.bytes,
        "report": report.to_dict(),
    }
    layout.atomic_write_json(path / "store.json", info)
    progress_file.unlink(missing_ok=True)


def _read_in_parallel(spec: CorpusConfig, path: Path, *, show_progress: bool) -> bool:
    """Read the corpus with the workers of the build settings (:mod:`litelong_hf.ingest`) when it has
    several parts and more than one worker is asked; ``False`` when it is read in this process instead."""
    import shutil

    from . import ingest

    settings = ingest.resolve_settings(spec.num_proc)
    if settings.executor != "ray" and (settings.num_proc or 1) <= 1:
        return False
    parts = ingest.plan_parts(spec)
    if parts is None or len(parts) < 2 or ingest.workers_for(settings, len(parts)) <= 1:
        return False
    with _Progress(spec, show_progress, 0, 0) as bar:
        done = ingest.read_parallel(
            spec,
            path,
            parts,
            settings,
            write_part=write_columns,
            part_docs=PART_DOCS,
            part_bytes=PART_BYTES,
            advance=bar.advance,
        )
    IdIndex.write(path / "ids", _part_ids(path, int(done["parts"])))
    info = {
        "format": STORE_FORMAT,
        "fingerprint": spec.fingerprint(),
        "source": spec.source,
        "parts": done["parts"],
        "n_documents": done["n_documents"],
        "n_bytes": done["n_bytes"],
        "report": done["report"],
    }
    layout.atomic_write_json(path / "store.json", info)
    shutil.rmtree(path / ingest.INGEST_DIR, ignore_errors=True)
    return True
