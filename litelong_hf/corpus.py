"""The base corpus: short documents streamed from the Hub, local files, or the bundled demo.

Every source yields :class:`Document` objects with a stable id, in a deterministic order, filtered by a
minimum length and (by default) with exact duplicates removed by content hash. Strategies do not keep
documents in memory: :func:`open_store` reads the corpus once into a memory-mapped Arrow store on disk
(:mod:`litelong_hf.docstore`), keyed by :func:`corpus_fingerprint`, and fetch texts by position.

Example::

    spec = CorpusConfig(source="data/*.parquet", text_column="content", id_column="url")
    for doc in iter_documents(spec):
        ...
    store = open_store(spec)          # read once, then memory-mapped
    store.text(0), store.doc_id(0), len(store)
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .corpus_sources import DEMO, FILE_FORMATS, CorpusError, corpus_fingerprint, resolve_files, source_kind
from .corpus_sources import hub_revision as hub_revision
from .report import RunReport
from .resources import demo_corpus_zip

if TYPE_CHECKING:
    from .docstore import DocumentStore


@dataclass(frozen=True)
class Document:
    """One document of the base corpus."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class CorpusConfig:
    """Where the base corpus comes from and how it is filtered."""

    source: str = DEMO
    """``"demo"`` (3,824 bundled news articles), a Hub dataset id (``"HuggingFaceFW/fineweb-edu"``, streamed), or
    local/fsspec files: a path, a glob or a folder of ``.parquet``, ``.jsonl``/``.json``, ``.csv`` or ``.txt``
    files (a ``.txt`` file is one document)."""
    name: str | None = None
    """Dataset configuration name for Hub datasets (e.g. ``"sample-10BT"``)."""
    split: str = "train"
    """Split to read from Hub datasets and local files."""
    text_column: str = "text"
    """Column holding the document text."""
    id_column: str | None = None
    """Column holding a stable document id; default: the document's position in the source (``"000123"``)."""
    min_chars: int = 20
    """Documents shorter than this (after stripping whitespace) are skipped and counted."""
    dedup: bool = True
    """Skip exact duplicate texts (by SHA-1 of the text), keeping the first occurrence."""
    max_documents: int | None = None
    """Stop after this many accepted documents (``None``: the whole corpus)."""
    max_bytes: int | None = None
    """Stop before the accepted texts exceed this many UTF-8 bytes (``None``: no byte budget)."""
    num_proc: int | None = field(default=None, compare=False)
    """Processes that read the corpus's parts and build its indexes (``None``: the run's, else one). The
    store and indexes are the same whatever it is, so it is no part of the fingerprint."""

    def __post_init__(self) -> None:
        if not self.source:
            raise CorpusError(
                "corpus source is empty: pass 'demo', a Hub dataset id, or a path/glob of files."
            )
        if self.min_chars < 0:
            raise CorpusError(f"min_chars must be >= 0, got {self.min_chars}.")
        if self.max_documents is not None and self.max_documents <= 0:
            raise CorpusError(f"max_documents must be positive or None, got {self.max_documents}.")
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise CorpusError(f"max_bytes must be positive or None, got {self.max_bytes}.")
        if self.num_proc is not None and self.num_proc <= 0:
            raise CorpusError(f"num_proc must be positive or None, got {self.num_proc}.")

    @property
    def kind(self) -> str:
        """``demo``, ``files`` or ``hub``."""
        return source_kind(self.source)

    def fingerprint(self) -> str:
        """:func:`corpus_fingerprint` of this spec (indexes, stores and caches are keyed by it)."""
        return corpus_fingerprint(self)


def _iter_demo() -> Iterator[dict[str, Any]]:
    with zipfile.ZipFile(demo_corpus_zip()) as archive, archive.open("NewsArticles.csv") as raw:
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        for row in reader:
            link = row.get("article_source_link") or ""
            yield {
                "id": f"news-{int(row['article_id']):05d}",
                "text": row["text"],
                "title": row["title"],
                "source": urlparse(link).netloc.removeprefix("www."),
                "publish_date": row["publish_date"],
                "url": link,
            }


def _iter_with_datasets(builder: str, spec: CorpusConfig, **kwargs: Any) -> Iterator[dict[str, Any]]:
    import datasets

    try:
        stream = datasets.load_dataset(builder, split=spec.split, streaming=True, **kwargs)
        yield from stream
    except (FileNotFoundError, datasets.exceptions.DataFilesNotFoundError) as exc:
        raise CorpusError(f"Cannot read corpus {spec.source!r}: {exc}") from exc


def _iter_files(spec: CorpusConfig) -> Iterator[dict[str, Any]]:
    files = resolve_files(spec.source)
    fmt = FILE_FORMATS[Path(files[0]).suffix.lower()]
    if fmt == "text":
        # A .txt file is one document; its id defaults to the file name.
        import fsspec

        for path in files:
            try:
                with fsspec.open(path, "rt", encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise CorpusError(f"Cannot read {path}: {exc}. Is it UTF-8 text?") from exc
            yield {"text": text, "id": Path(path).name, "path": path}
        return
    # An empty file holds no documents (datasets' json reader fails on one with a confusing StopIteration).
    files = [f for f in files if "://" in f or os.path.getsize(f) > 0]
    if not files:
        return
    try:
        if fmt == "parquet":
            yield from _iter_parquet(files)  # pyarrow directly: no datasets (and torch) import, batched reads
        else:
            yield from _iter_with_datasets(fmt, spec, data_files={spec.split: files})
    except CorpusError:
        raise
    except Exception as exc:  # pyarrow and json raise many types for a corrupt file
        raise CorpusError(
            f"Cannot read {fmt} files of {spec.source!r} ({type(exc).__name__}: {exc}). Check the file is valid "
            f"{fmt}."
        ) from exc


def _iter_parquet(files: list[str]) -> Iterator[dict[str, Any]]:
    import fsspec
    import pyarrow.parquet as pq

    for path in files:
        with fsspec.open(path, "rb") as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=1024):
                yield from batch.to_pylist()


def _hub_error(spec: CorpusConfig, exc: BaseException) -> CorpusError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
    hint = (
        "This machine is offline (HF_HUB_OFFLINE=1)"
        if offline
        else "Check the dataset id, your network and that you are logged in for gated sets"
    )
    return CorpusError(
        f"Cannot stream Hub dataset {spec.source!r} (split {spec.split!r}): {type(exc).__name__}. {hint}; "
        "or use a local path ('data/*.parquet') or corpus='demo'."
    )


def hub_stream(spec: CorpusConfig) -> Any:
    """The streaming ``datasets.IterableDataset`` of a Hub corpus (resumable through its ``state_dict``)."""
    import datasets

    try:
        return datasets.load_dataset(spec.source, spec.name, split=spec.split, streaming=True)
    except (ConnectionError, OSError, ValueError, datasets.exceptions.DatasetNotFoundError) as exc:
        raise _hub_error(spec, exc) from exc


def _iter_hub(spec: CorpusConfig) -> Iterator[dict[str, Any]]:
    import datasets

    stream = hub_stream(spec)
    try:
        yield from stream
    except (ConnectionError, OSError, datasets.exceptions.DatasetNotFoundError) as exc:
        raise _hub_error(spec, exc) from exc


def iter_records(spec: CorpusConfig) -> Iterator[dict[str, Any]]:
    """Raw records of the source, before column selection and filtering."""
    if spec.kind == DEMO:
        return _iter_demo()
    if spec.kind == "files":
        return _iter_files(spec)
    return _iter_hub(spec)


def _text_and_id(record: dict[str, Any], spec: CorpusConfig, position: int) -> tuple[Any, str]:
    if spec.text_column not in record:
        raise CorpusError(
            f"Corpus {spec.source!r} has no column {spec.text_column!r}; its columns are {sorted(record)}. "
            f"Set text_column (CLI: --text-column) to one of them."
        )
    if spec.id_column is not None:
        if spec.id_column not in record:
            raise CorpusError(
                f"Corpus {spec.source!r} has no id column {spec.id_column!r}; its columns are {sorted(record)}. "
                "Set id_column to one of them, or leave it unset to number documents."
            )
        return record[spec.text_column], str(record[spec.id_column])
    default_id = record.get("id") if spec.kind in (DEMO, "files") and "id" in record else None
    return record[spec.text_column], str(default_id) if default_id is not None else f"{position:09d}"


class DocumentFilter:
    """The acceptance rules of a corpus (column, type, length, duplicates, unique ids, budgets), with state.

    :func:`iter_documents` and the document store share it; the store restores the state when it resumes.
    """

    def __init__(self, spec: CorpusConfig, report: RunReport | None = None) -> None:
        self.spec = spec
        self.report = report
        self.seen: set[bytes] = set()
        self.ids: set[str] = set()
        self.accepted = 0
        self.bytes = 0
        self.meta_columns: list[str] | None = None

    @property
    def full(self) -> bool:
        """Whether a budget (max_documents) is reached: no further document will be accepted."""
        return self.spec.max_documents is not None and self.accepted >= self.spec.max_documents

    def _skip(self, reason: str) -> None:
        if self.report is not None:
            self.report.skip("document", reason)

    def accept(self, position: int, record: dict[str, Any]) -> Document | bool | None:
        """The document of ``record``, ``None`` when it is skipped, ``False`` when the byte budget is spent."""
        spec = self.spec
        text, doc_id = _text_and_id(record, spec, position)
        if not isinstance(text, str):
            self._skip("text is not a string")
            return None
        if len(text.strip()) < spec.min_chars:
            self._skip(f"shorter than min_chars={spec.min_chars}")
            return None
        digest = hashlib.sha1(text.encode("utf-8")).digest()
        admitted = self.admit(doc_id, digest, len(text.encode("utf-8")))
        if admitted is not True:
            return admitted
        if self.meta_columns is None:
            # The column the id came from is the Document's id, not metadata.
            id_key = spec.id_column or ("id" if spec.kind in (DEMO, "files") and "id" in record else None)
            self.meta_columns = [
                k for k in record if k not in (spec.text_column, id_key) and _is_scalar(record[k])
            ]
        return Document(id=doc_id, text=text, meta={k: record[k] for k in self.meta_columns if k in record})

    def admit(self, doc_id: str, digest: bytes, size: int) -> bool | None:
        """The rules that need every earlier document (duplicates, the byte budget, unique ids), for a text
        that passed the others: ``True`` (accepted and counted), ``None`` (a duplicate, skipped) or
        ``False`` (the byte budget is spent). The parallel ingest applies them across parts with this."""
        spec = self.spec
        if spec.dedup and digest in self.seen:
            self._skip("exact duplicate text")
            return None
        if spec.max_bytes is not None and self.bytes + size > spec.max_bytes:
            return False
        if doc_id in self.ids:
            raise CorpusError(
                f"Document id {doc_id!r} appears twice in {spec.source!r}; choose a unique id_column or unset it."
            )
        if spec.dedup:
            self.seen.add(digest)
        self.ids.add(doc_id)
        self.accepted += 1
        self.bytes += size
        return True

    def finish(self) -> None:
        """Raise when nothing was accepted; count the accepted documents in the report."""
        spec = self.spec
        if self.accepted == 0:
            raise CorpusError(
                f"Corpus {spec.source!r} yielded no documents (min_chars={spec.min_chars}, split={spec.split!r}"
                + (f", max_bytes={spec.max_bytes}" if spec.max_bytes else "")
                + "). Check the split and text column, or lower min_chars."
            )
        if self.report is not None:
            self.report.count("documents", self.accepted)


def iter_documents(spec: CorpusConfig, report: RunReport | None = None) -> Iterator[Document]:
    """Stream the accepted documents of ``spec`` in source order.

    Skipped documents (too short, duplicate, not text) are counted in ``report`` under kind ``document``.
    Raises :class:`CorpusError` for a missing column, an unreadable source, or a corpus with no documents.
    """
    rules = DocumentFilter(spec, report)
    for position, record in enumerate(iter_records(spec)):
        doc = rules.accept(position, record)
        if doc is False:
            break
        if isinstance(doc, Document):
            yield doc
            if rules.full:
                break
    rules.finish()


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def open_store(
    spec: CorpusConfig, *, cache_dir: str | os.PathLike[str] | None = None, show_progress: bool = True
) -> DocumentStore:
    """The memory-mapped document store of ``spec`` (read from the source once, then reused)."""
    from .docstore import open_store as _open

    return _open(spec, cache_dir=cache_dir, show_progress=show_progress)


def load_documents(spec: CorpusConfig, report: RunReport | None = None) -> list[Document]:
    """All accepted documents of ``spec`` in a list (small corpora and tests; strategies use :func:`open_store`)."""
    return list(iter_documents(spec, report))
