"""The base corpus: short documents streamed from the Hub, local files, or the bundled demo.

Every source yields :class:`Document` objects with a stable id, in a deterministic order, filtered by a
minimum length and (by default) with exact duplicates removed by content hash.

Example::

    spec = CorpusConfig(source="data/*.parquet", text_column="content", id_column="url")
    for doc in iter_documents(spec):
        ...
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .report import RunReport
from .resources import demo_corpus_zip

DEMO = "demo"
_FILE_FORMATS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".txt": "text", ".csv": "csv"}


class CorpusError(ValueError):
    """The corpus cannot be read as configured; the message names the fix."""


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

    def __post_init__(self) -> None:
        if not self.source:
            raise CorpusError(
                "corpus source is empty: pass 'demo', a Hub dataset id, or a path/glob of files."
            )
        if self.min_chars < 0:
            raise CorpusError(f"min_chars must be >= 0, got {self.min_chars}.")
        if self.max_documents is not None and self.max_documents <= 0:
            raise CorpusError(f"max_documents must be positive or None, got {self.max_documents}.")

    @property
    def kind(self) -> str:
        """``demo``, ``files`` or ``hub``."""
        return source_kind(self.source)

    def fingerprint(self) -> str:
        """A hash of the spec and, for local files, their names, sizes and modification times.

        Indexes and caches built from a corpus are keyed by this, so editing a file invalidates them.
        """
        payload: dict[str, Any] = {"spec": asdict(self)}
        if self.kind == "files":
            payload["files"] = [
                (path, os.path.getsize(path), int(os.path.getmtime(path)))
                for path in _expand_local(self.source)
                if os.path.exists(path)
            ]
        elif self.kind == DEMO:
            zip_path = demo_corpus_zip()
            payload["demo"] = (zip_path.name, zip_path.stat().st_size)
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def source_kind(source: str) -> str:
    """Classify a corpus source string as ``demo``, ``files`` or ``hub``."""
    if source == DEMO:
        return DEMO
    if "://" in source or any(ch in source for ch in "*?[") or Path(source).expanduser().exists():
        return "files"
    if Path(source).suffix.lower() in _FILE_FORMATS or source.startswith((".", "/", "~")):
        return "files"  # a local file that does not exist: reported as such when read
    return "hub"


def _expand_local(source: str) -> list[str]:
    if "://" in source and not source.startswith("file://"):
        return []
    path = source.removeprefix("file://")
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        return sorted(
            str(p) for p in Path(path).rglob("*") if p.is_file() and p.suffix.lower() in _FILE_FORMATS
        )
    return sorted(glob.glob(path, recursive=True))


def _resolve_files(source: str) -> list[str]:
    """Concrete file list (local or fsspec) for a files source, with errors that name the fix."""
    if "://" in source and not source.startswith("file://"):
        try:
            files = sorted(_fsspec_glob(source))
        except (OSError, ValueError, ImportError) as exc:
            raise CorpusError(f"Cannot list {source!r}: {exc}. Check the URL and credentials.") from exc
    else:
        files = _expand_local(source)
    if not files:
        raise CorpusError(
            f"No files match {source!r}. Pass an existing path, a glob such as 'data/*.parquet', a folder, "
            "'demo', or a Hub dataset id."
        )
    bad = sorted({Path(f).suffix.lower() for f in files} - set(_FILE_FORMATS))
    if bad:
        raise CorpusError(
            f"Unsupported file type(s) {bad} in {source!r}; use one of {sorted(_FILE_FORMATS)}."
        )
    if len({_FILE_FORMATS[Path(f).suffix.lower()] for f in files}) > 1:
        raise CorpusError(f"{source!r} mixes file formats; point it at one format at a time.")
    return files


def _fsspec_glob(url: str) -> list[str]:
    import fsspec

    fs, _, paths = fsspec.get_fs_token_paths(url)
    protocol = fs.protocol[0] if isinstance(fs.protocol, tuple | list) else fs.protocol
    return [p if "://" in p else f"{protocol}://{p}" for p in paths]


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
    files = _resolve_files(spec.source)
    fmt = _FILE_FORMATS[Path(files[0]).suffix.lower()]
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
    try:
        yield from _iter_with_datasets(fmt, spec, data_files={spec.split: files})
    except CorpusError:
        raise
    except Exception as exc:  # pyarrow and json raise many types for a corrupt file
        raise CorpusError(
            f"Cannot read {fmt} files of {spec.source!r} ({type(exc).__name__}: {exc}). Check the file is valid "
            f"{fmt}."
        ) from exc


def _iter_hub(spec: CorpusConfig) -> Iterator[dict[str, Any]]:
    import datasets

    try:
        stream = datasets.load_dataset(spec.source, spec.name, split=spec.split, streaming=True)
        yield from stream
    except (ConnectionError, OSError, datasets.exceptions.DatasetNotFoundError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
        hint = (
            "This machine is offline (HF_HUB_OFFLINE=1)"
            if offline
            else "Check the dataset id, your network and that you are logged in for gated sets"
        )
        raise CorpusError(
            f"Cannot stream Hub dataset {spec.source!r} (split {spec.split!r}): {type(exc).__name__}. {hint}; "
            "or use a local path ('data/*.parquet') or corpus='demo'."
        ) from exc


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


def iter_documents(spec: CorpusConfig, report: RunReport | None = None) -> Iterator[Document]:
    """Stream the accepted documents of ``spec`` in source order.

    Skipped documents (too short, duplicate, not text) are counted in ``report`` under kind ``document``.
    Raises :class:`CorpusError` for a missing column, an unreadable source, or a corpus with no documents.
    """
    seen: set[bytes] = set()
    accepted = 0
    ids: set[str] = set()
    meta_columns: list[str] | None = None
    for position, record in enumerate(iter_records(spec)):
        text, doc_id = _text_and_id(record, spec, position)
        if not isinstance(text, str):
            if report is not None:
                report.skip("document", "text is not a string")
            continue
        if len(text.strip()) < spec.min_chars:
            if report is not None:
                report.skip("document", f"shorter than min_chars={spec.min_chars}")
            continue
        if spec.dedup:
            digest = hashlib.sha1(text.encode("utf-8")).digest()
            if digest in seen:
                if report is not None:
                    report.skip("document", "exact duplicate text")
                continue
            seen.add(digest)
        if doc_id in ids:
            raise CorpusError(
                f"Document id {doc_id!r} appears twice in {spec.source!r}; choose a unique id_column or unset it."
            )
        ids.add(doc_id)
        if meta_columns is None:
            # The column the id came from is the Document's id, not metadata.
            id_key = spec.id_column or ("id" if spec.kind in (DEMO, "files") and "id" in record else None)
            meta_columns = [
                k for k in record if k not in (spec.text_column, id_key) and _is_scalar(record[k])
            ]
        yield Document(id=doc_id, text=text, meta={k: record[k] for k in meta_columns if k in record})
        accepted += 1
        if spec.max_documents is not None and accepted >= spec.max_documents:
            break
    if accepted == 0:
        raise CorpusError(
            f"Corpus {spec.source!r} yielded no documents (min_chars={spec.min_chars}, split={spec.split!r}). "
            "Check the split and text column, or lower min_chars."
        )
    if report is not None:
        report.count("documents", accepted)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def load_documents(spec: CorpusConfig, report: RunReport | None = None) -> list[Document]:
    """All accepted documents of ``spec`` in memory (indexing needs the whole corpus anyway)."""
    return list(iter_documents(spec, report))
