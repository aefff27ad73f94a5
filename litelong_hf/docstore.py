"""The disk-backed document store: a corpus read once into memory-mapped Arrow files, fetched by position.

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

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import layout
from .corpus import CorpusConfig, CorpusError, Document, DocumentFilter, corpus_fingerprint, iter_records
from .docstore_access import DocumentStore, _part_name
from .idmap import IdIndex
from .progress import progress_enabled, stage
from .report import RunReport

__all__ = ["PART_BYTES", "PART_DOCS", "STORE_FORMAT", "DocumentStore", "open_store", "store_path"]

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
