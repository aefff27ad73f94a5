"""Parallel corpus ingest: read the parts of a corpus in worker processes (or Ray tasks), merge exactly.

The single-process read (:func:`litelong_hf.docstore._read_into`) decides every document in source order:
too short, not text, a duplicate of an earlier text, over the byte budget, a repeated id. Here each
*source part* (one row group of one parquet file) is read by a worker that applies the rules that need no
other part (text type, ``min_chars``, duplicates inside the part) and writes its candidates (id, text,
meta JSON, SHA-1, record position) to ``<store>/ingest/part-NNNNN.arrow``; the driver then walks the
candidates in source order applying the rules that need every earlier part (duplicates across parts,
``max_bytes``, ``max_documents``, unique ids) and writes the store's parts exactly as the single-process
read would: the same documents, the same part boundaries, the same bytes (test:
``tests/test_parallel_build.py``). A finished candidate file is kept until the store is done, so an
interrupted ingest re-reads only the parts it had not finished.

Where the work runs is :class:`~litelong_hf.workers.BuildSettings` (re-exported here with the rest of
:mod:`litelong_hf.workers`): ``num_proc`` forked processes on this machine, or one Ray task per part
(``executor="ray"``); :func:`~litelong_hf.workers.run_parts` is the one place that maps a function over parts.

Example::

    with build_settings(num_proc=2):
        store = open_store(CorpusConfig(source="data/*.parquet"))   # 2 processes read the parts
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import layout
from .corpus import CorpusConfig, CorpusError, DocumentFilter
from .corpus_sources import resolve_files
from .docstore import write_batches
from .report import RunReport
from .workers import BuildSettings as BuildSettings
from .workers import build_settings as build_settings
from .workers import current_settings as current_settings
from .workers import resolve_settings as resolve_settings
from .workers import run_parts as run_parts
from .workers import workers_for as workers_for

INGEST_DIR = "ingest"
"""Folder inside an unfinished store holding the finished parts' candidates (removed when it is done)."""
_CANDIDATE_COLUMNS = ("id", "text", "meta", "sha1", "position")


# ------------------------------------------------------------------------------------------ source parts


@dataclass(frozen=True)
class SourcePart:
    """One independently readable piece of a corpus: a row group of a parquet file."""

    number: int
    path: str
    row_group: int
    first_position: int
    """Source position (record number over the whole corpus) of the part's first record."""
    n_records: int


def plan_parts(spec: CorpusConfig) -> list[SourcePart] | None:
    """The parts of ``spec``'s source, in source order, or ``None`` when it is read in one piece (the demo,
    a Hub stream, JSON/CSV/text files)."""
    if spec.kind != "files":
        return None
    files = resolve_files(spec.source)
    if not files or not files[0].lower().endswith(".parquet"):
        return None
    import fsspec
    import pyarrow.parquet as pq

    parts: list[SourcePart] = []
    position = 0
    for path in files:
        if "://" not in path and os.path.getsize(path) == 0:
            continue
        try:
            with fsspec.open(path, "rb") as handle:
                meta = pq.ParquetFile(handle).metadata
        except Exception as exc:  # pyarrow raises many types for a corrupt file
            raise CorpusError(
                f"Cannot read parquet files of {spec.source!r} ({type(exc).__name__}: {exc}). Check the file "
                "is valid parquet."
            ) from exc
        for group in range(meta.num_row_groups):
            rows = meta.row_group(group).num_rows
            parts.append(SourcePart(len(parts), path, group, position, rows))
            position += rows
    return parts


def _part_records(part: SourcePart) -> Iterator[dict[str, Any]]:
    import fsspec
    import pyarrow.parquet as pq

    with fsspec.open(part.path, "rb") as handle:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=1024, row_groups=[part.row_group]):
            yield from batch.to_pylist()


def _candidate_name(number: int) -> str:
    return f"part-{number:05d}.arrow"


def read_part(
    spec: CorpusConfig, part: SourcePart, folder: str, meta_columns: list[str] | None = None
) -> dict[str, Any]:
    """Read one source part into its candidate file under ``folder`` (a worker's job); its summary.

    Candidates: the records that pass the rules needing no other part, each with its SHA-1 and source
    position. The summary: every skipped record's position by reason, and the part's meta columns (those
    of its first candidate, or ``meta_columns`` when the driver imposes the corpus's).
    """
    import pyarrow as pa

    rules = DocumentFilter(spec)
    rules.meta_columns = meta_columns
    skips: dict[str, list[int]] = {}
    ids: list[str] = []
    texts: list[str] = []
    metas: list[str] = []
    digests: list[bytes] = []
    positions: list[int] = []
    try:
        for offset, record in enumerate(_part_records(part)):
            position = part.first_position + offset
            doc = _accept_locally(rules, position, record)
            if isinstance(doc, str):
                skips.setdefault(doc, []).append(position)
                continue
            doc_id, text, meta_json, digest = doc
            ids.append(doc_id)
            texts.append(text)
            metas.append(meta_json)
            digests.append(digest)
            positions.append(position)
    except CorpusError:
        raise
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise CorpusError(
            f"Cannot read parquet files of {spec.source!r} ({type(exc).__name__}: {exc}). Check the file is "
            "valid parquet."
        ) from exc
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("text", pa.large_string()),
            ("meta", pa.string()),
            ("sha1", pa.binary(20)),
            ("position", pa.int64()),
        ]
    )
    target = Path(folder) / _candidate_name(part.number)
    write_batches(target, schema, [ids, texts, metas, digests, positions], 4096)
    summary = {
        "number": part.number,
        "candidates": len(ids),
        "skips": skips,
        "meta_columns": rules.meta_columns,
        "forced_meta": meta_columns is not None,
    }
    layout.atomic_write_json(target.with_suffix(".json"), summary)
    return summary


def _accept_locally(
    rules: DocumentFilter, position: int, record: dict[str, Any]
) -> tuple[str, str, str, bytes] | str:
    """:meth:`DocumentFilter.accept` without the rules that need other parts (budgets, ids across parts):
    ``(id, text, meta JSON, sha1)`` of a candidate, or the reason a record is skipped."""
    import hashlib

    from .corpus import _is_scalar, _text_and_id

    spec = rules.spec
    text, doc_id = _text_and_id(record, spec, position)
    if not isinstance(text, str):
        return "text is not a string"
    if len(text.strip()) < spec.min_chars:
        return f"shorter than min_chars={spec.min_chars}"
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    if spec.dedup:
        if digest in rules.seen:
            return "exact duplicate text"
        rules.seen.add(digest)
    if rules.meta_columns is None:
        id_key = spec.id_column or ("id" if "id" in record else None)
        rules.meta_columns = [
            k for k in record if k not in (spec.text_column, id_key) and _is_scalar(record[k])
        ]
    meta = {k: record[k] for k in rules.meta_columns if k in record}
    return doc_id, text, json.dumps(meta, ensure_ascii=False, default=str), digest


# ------------------------------------------------------------------------------------------ the merge


def _load_summary(folder: Path, number: int) -> dict[str, Any] | None:
    done = folder / _candidate_name(number)
    summary = done.with_suffix(".json")
    if done.is_file() and summary.is_file():
        return dict(json.loads(summary.read_text(encoding="utf-8")))
    return None


def read_parallel(
    spec: CorpusConfig,
    path: Path,
    parts: Sequence[SourcePart],
    settings: BuildSettings,
    *,
    write_part: Callable[[Path, int, list[str], list[str], list[str], list[bytes]], None],
    part_docs: int,
    part_bytes: int,
    advance: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Read ``parts`` with the workers of ``settings`` and write the store's parts into ``path``.

    ``write_part(path, number, ids, texts, metas, sha1s)`` writes one store part (the single-process
    read's writer); a part closes after ``part_docs`` documents or ``part_bytes`` text bytes, as there.
    Returns what ``store.json`` records: ``parts``, ``n_documents``, ``n_bytes``, ``report``.
    """
    import pyarrow as pa

    folder = path / INGEST_DIR
    folder.mkdir(parents=True, exist_ok=True)
    summaries: list[dict[str, Any] | None] = [_load_summary(folder, p.number) for p in parts]
    todo = [p for p, s in zip(parts, summaries, strict=True) if s is None]
    done = run_parts(read_part, [(spec, p, str(folder), None) for p in todo], settings)
    for part, summary in zip(todo, done, strict=True):
        summaries[part.number] = summary
    # The corpus's meta columns are its first document's: a later part that chose others is read again.
    first = next((s for s in summaries if s and s["candidates"]), None)
    columns = first["meta_columns"] if first else None
    again = [
        p
        for p, s in zip(parts, summaries, strict=True)
        if s and s["candidates"] and s["meta_columns"] != columns
    ]
    if again:
        for part, summary in zip(
            again,
            run_parts(read_part, [(spec, p, str(folder), columns) for p in again], settings),
            strict=True,
        ):
            summaries[part.number] = summary

    rules = DocumentFilter(spec, RunReport())
    report = rules.report
    assert report is not None
    writer = _StoreParts(path, write_part, part_docs, part_bytes)
    for part, found in zip(parts, summaries, strict=True):
        assert found is not None
        summary = found
        stop: int | None = None
        if summary["candidates"]:
            table = pa.ipc.open_file(
                pa.memory_map(str(folder / _candidate_name(part.number)), "r")
            ).read_all()
            stop = _merge_part(spec, rules, table, writer, advance)
            del table
        for reason, where in summary["skips"].items():
            counted = len(where) if stop is None else sum(1 for p in where if p < stop)
            if counted:
                report.skip("document", reason, counted)
        if stop is not None:
            break
    writer.flush()
    rules.finish()
    return {
        "parts": writer.number,
        "n_documents": rules.accepted,
        "n_bytes": rules.bytes,
        "report": report.to_dict(),
    }


class _StoreParts:
    """The store part being filled: closed after ``part_docs`` documents or ``part_bytes`` text bytes."""

    def __init__(
        self,
        path: Path,
        write_part: Callable[[Path, int, list[str], list[str], list[str], list[bytes]], None],
        part_docs: int,
        part_bytes: int,
    ) -> None:
        self.path, self.write_part = path, write_part
        self.part_docs, self.part_bytes = part_docs, part_bytes
        self.number = 0
        self._clear()

    def _clear(self) -> None:
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.metas: list[str] = []
        self.digests: list[bytes] = []
        self.bytes = 0

    def add(self, doc_id: str, text: str, meta: str, digest: bytes, size: int) -> None:
        self.ids.append(doc_id)
        self.texts.append(text)
        self.metas.append(meta)
        self.digests.append(digest)
        self.bytes += size

    @property
    def full(self) -> bool:
        return len(self.ids) >= self.part_docs or self.bytes >= self.part_bytes

    def flush(self) -> None:
        if self.ids:
            self.write_part(self.path, self.number, self.ids, self.texts, self.metas, self.digests)
            self.number += 1
        self._clear()


def _merge_part(
    spec: CorpusConfig,
    rules: DocumentFilter,
    table: Any,
    writer: _StoreParts,
    advance: Callable[[int, int], None] | None,
) -> int | None:
    """Apply the rules across parts to one source part's candidates, in order, filling the store's parts;
    the source position where the single-process read stops (a budget reached), else ``None``."""
    import numpy as np

    ids = table.column("id").to_pylist()
    digests = table.column("sha1").to_pylist()
    positions = table.column("position").to_numpy()
    texts = table.column("text").to_pylist()
    metas = table.column("meta").to_pylist()
    sizes = np.concatenate([_utf8_sizes(c) for c in table.column("text").chunks])
    for i, doc_id in enumerate(ids):
        size = int(sizes[i])
        admitted = rules.admit(doc_id, digests[i], size)
        if admitted is None:
            continue
        if admitted is False:
            return int(positions[i])
        writer.add(doc_id, texts[i], metas[i], digests[i], size)
        if advance is not None:
            advance(1, size)
        if rules.full:
            return int(positions[i]) + 1
        if writer.full:
            writer.flush()
    return None


def _utf8_sizes(array: Any) -> Any:
    """UTF-8 byte length of each string of a ``large_string`` array, from its offsets (no decoding)."""
    import numpy as np

    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    return np.diff(offsets)
