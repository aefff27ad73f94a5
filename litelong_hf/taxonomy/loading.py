"""Loading a taxonomy: the packaged BISAC file, a CSV/TSV/JSON/JSONL file (local or fsspec), or a Hub set."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from .entries import (
    BISAC,
    EXCLUDE_COLUMNS,
    HUB_DATASET,
    OPTIONAL_COLUMNS,
    SUB_COLUMNS,
    TOP_COLUMNS,
    TaxonomyEntry,
    TaxonomyError,
)

_PACKAGED_SOURCE = "litelong_hf/data/bisac.tsv"
_BISAC_CODE = re.compile(r"^[A-Z]{3}\d{6}$")
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4")
_FILE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl"}
_FIX_HINT = (
    "use the packaged taxonomy (load_taxonomy('bisac'), works offline) or a local CSV/TSV/JSON/JSONL file "
    "with top_category and subcategory columns"
)


def load_taxonomy(source: str | os.PathLike[str] = BISAC) -> list[TaxonomyEntry]:
    """Load a taxonomy as a list of :class:`TaxonomyEntry`, in file order, duplicates removed.

    ``source`` is ``"bisac"`` (the packaged file), a path or fsspec URL of a ``.csv``/``.tsv``/``.json``/
    ``.jsonl`` file (optionally compressed), or the Hub dataset ``HuggingFaceTB/bisac_expanded_final``
    (another Hub id ``owner/name`` with the same columns works too). Column names are matched
    case-insensitively: ``top_category`` or ``top``; ``subcategory`` or ``sub``; optional ``top_code``,
    ``code``, ``exclude`` (or ``not``, the Hub set's name for it), ``expansion_factor``; anything else
    (``subtopic``) is ignored.

    Duplicate (top, sub) pairs are compared case-insensitively: files keep the first occurrence, the Hub
    set (one row per subtopic) keeps one entry per pair with the largest ``expansion_factor``.

    Raises :class:`TaxonomyError` for a missing file, an empty file, missing columns (the message lists
    the columns found), a blank top or sub value (with its line number), or an unreachable Hub.

    Example::

        load_taxonomy()[0].key              # 'ANTIQUES & COLLECTIBLES / Advertising'
        load_taxonomy("my_topics.csv")      # columns: top_category,subcategory[,exclude,expansion_factor]
    """
    text = os.fspath(source).strip()
    if not text:
        raise TaxonomyError(f"Taxonomy source is empty: {_FIX_HINT}, or the Hub set {HUB_DATASET!r}.")
    if text.lower() == BISAC:
        return list(_packaged_bisac())
    if text.lower() in (HUB_DATASET.lower(), "hub"):
        return _load_hub(HUB_DATASET)
    fmt = file_format(text)
    if file_exists(text):
        if fmt is None:
            raise TaxonomyError(
                f"Cannot tell the format of taxonomy file {text!r}: name it .csv, .tsv, .json or .jsonl."
            )
        return _dedupe_first(_parse_text(_read_text(text), fmt, text))
    if fmt is not None:
        raise TaxonomyError(f"Taxonomy file {text!r} does not exist. Check the path, or {_FIX_HINT}.")
    if re.fullmatch(r"[\w.-]+/[\w.-]+", text):
        return _load_hub(text)
    raise TaxonomyError(
        f"Unknown taxonomy source {text!r}: pass 'bisac' (packaged), a .csv/.tsv/.json/.jsonl file, "
        f"or the Hub dataset {HUB_DATASET!r}."
    )


def bisac_major_subjects() -> dict[str, str]:
    """The BISAC major subjects of the packaged file: ``{"ANT": "ANTIQUES & COLLECTIBLES", ...}``."""
    majors: dict[str, str] = {}
    for entry in _packaged_bisac():
        majors.setdefault(entry.top_code, entry.top)
    return majors


def entries_from_records(
    records: Iterable[Mapping[str, Any]], *, source: str = "records", first_line: int = 1
) -> list[TaxonomyEntry]:
    """Build entries from dict-like rows (e.g. a ``datasets.Dataset``), deduplicated, keeping the first.

    ``first_line`` is the number reported for the first record in error messages.
    """
    numbered = ((first_line + i, record) for i, record in enumerate(records))
    return _dedupe_first(_entries(numbered, source, unit="record"))


@functools.cache
def _packaged_bisac() -> tuple[TaxonomyEntry, ...]:
    return tuple(_dedupe_first(_parse_text(_packaged_text(), "tsv", _PACKAGED_SOURCE)))


def _packaged_text() -> str:
    try:
        return (resources.files("litelong_hf") / "data" / "bisac.tsv").read_text(encoding="utf-8")
    except (NotADirectoryError, TypeError):
        # An editable install (setuptools' path hook) gives the package a second, non-directory search
        # location, which importlib.resources on Python 3.11 rejects; the file sits in data/ beside this package.
        pass
    except OSError as exc:  # a broken install, not a user error
        raise _missing_packaged_file() from exc
    try:
        return (Path(__file__).resolve().parents[1] / "data" / "bisac.tsv").read_text(encoding="utf-8")
    except OSError as exc:
        raise _missing_packaged_file() from exc


def _missing_packaged_file() -> TaxonomyError:
    return TaxonomyError(
        "The packaged taxonomy litelong_hf/data/bisac.tsv is missing; reinstall litelong-hf "
        "(pip install --force-reinstall litelong-hf) or pass a local taxonomy file."
    )


def file_format(path: str) -> str | None:
    """``csv``, ``tsv``, ``json`` or ``jsonl`` by the name of ``path`` (a compression suffix aside), else None."""
    name = path.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return _FILE_FORMATS.get(os.path.splitext(name)[1])


def file_exists(path: str) -> bool:
    """Whether ``path`` (a local path or fsspec URL) names an existing file."""
    import fsspec

    try:
        fs, fs_path = fsspec.core.url_to_fs(path)
        return bool(fs.isfile(fs_path))
    except (OSError, ValueError, ImportError):
        return False


def _read_text(path: str) -> str:
    import fsspec

    try:
        with fsspec.open(path, "rb", compression="infer") as handle:
            data = handle.read()
    except OSError as exc:
        raise TaxonomyError(f"Cannot read taxonomy file {path!r}: {exc}.") from exc
    try:
        return str(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"Taxonomy file {path!r} is not UTF-8 text ({exc}); save it as UTF-8.") from exc


def _parse_text(text: str, fmt: str, source: str) -> list[TaxonomyEntry]:
    if not text.strip():
        raise TaxonomyError(
            f"Taxonomy file {source!r} is empty: it needs a header row with top_category and subcategory "
            "columns and at least one data row."
        )
    if fmt in ("csv", "tsv"):
        return _parse_delimited(text, "\t" if fmt == "tsv" else ",", source)
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data":  # one object per line under a .json name
                return _parse_jsonl(text, source)
            raise TaxonomyError(f"Taxonomy file {source!r} is not valid JSON: {exc}.") from exc
        if not isinstance(data, list):
            raise TaxonomyError(
                f"Taxonomy file {source!r} must hold a JSON array of objects "
                f"(or one object per line as .jsonl), got a JSON {type(data).__name__}."
            )
        return _entries(((i, row) for i, row in enumerate(data, start=1)), source, unit="item")
    return _parse_jsonl(text, source)


def _parse_delimited(text: str, delimiter: str, source: str) -> list[TaxonomyEntry]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    for row in reader:
        if any(cell.strip() for cell in row):
            header = row
            break
    if header is None:
        raise TaxonomyError(f"Taxonomy file {source!r} is empty: no header row found.")
    names = [cell.strip() for cell in header]

    def records() -> Iterator[tuple[int, dict[str, str]]]:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not rows
            yield reader.line_num, dict(zip(names, row, strict=False))

    return _entries(records(), source, unit="line", header=names)


def _parse_jsonl(text: str, source: str) -> list[TaxonomyEntry]:
    def records() -> Iterator[tuple[int, Any]]:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise TaxonomyError(f"{source}: line {number} is not valid JSON ({exc.msg}).") from exc

    return _entries(records(), source, unit="line")


def _entries(
    records: Iterable[tuple[int, Any]], source: str, *, unit: str, header: Sequence[str] | None = None
) -> list[TaxonomyEntry]:
    """Validate numbered records and turn them into entries (no deduplication)."""
    columns: dict[str, str] | None = _resolve_columns(header, source) if header is not None else None
    majors = _majors_by_name() if source != _PACKAGED_SOURCE else {}
    entries: list[TaxonomyEntry] = []
    for number, record in records:
        if not isinstance(record, Mapping):
            raise TaxonomyError(
                f"{source}: {unit} {number} must be an object with top_category and subcategory, "
                f"got {type(record).__name__}."
            )
        if columns is None or header is None:
            columns = _resolve_columns(list(record), source, where=f"{unit} {number}")
        entries.append(_entry(record, columns, majors, where=f"{source}: {unit} {number}"))
    if not entries:
        raise TaxonomyError(
            f"Taxonomy {source!r} has no data rows: add at least one (top_category, subcategory) row."
        )
    return entries


def _resolve_columns(names: Iterable[Any], source: str, where: str = "header") -> dict[str, str]:
    """Map our field names (top, sub, optional ones) to the actual column names, case-insensitively."""
    found = [str(name) for name in names]
    by_lower: dict[str, str] = {}
    for name in found:
        by_lower.setdefault(name.strip().lstrip("\ufeff").lower(), name)
    columns: dict[str, str] = {}
    for field, accepted in (("top", TOP_COLUMNS), ("sub", SUB_COLUMNS)):
        match = next((by_lower[name] for name in accepted if name in by_lower), None)
        if match is None:
            raise TaxonomyError(
                f"Taxonomy {source!r} ({where}) has no {'top-category' if field == 'top' else 'subcategory'} "
                f"column (accepted names: {', '.join(accepted)}); columns found: {found}. Rename the column "
                f"or convert the file."
            )
        columns[field] = match
    for name in OPTIONAL_COLUMNS:
        if name in by_lower:
            columns[name] = by_lower[name]
    exclude = next((by_lower[name] for name in EXCLUDE_COLUMNS if name in by_lower), None)
    if exclude is not None:
        columns["exclude"] = exclude
    return columns


def _entry(
    record: Mapping[str, Any], columns: Mapping[str, str], majors: Mapping[str, str], *, where: str
) -> TaxonomyEntry:
    values = {field: _text(record.get(column)) for field, column in columns.items()}
    for field, label in (("top", "top category"), ("sub", "subcategory")):
        if not values[field]:
            raise TaxonomyError(
                f"{where}: empty {label} (column {columns[field]!r}); every row needs both a top category "
                f"and a subcategory. Fill it in or delete the row."
            )
    code = values.get("code", "")
    top_code = values.get("top_code", "") or (code[:3] if _BISAC_CODE.match(code) else "")
    top_code = top_code or majors.get(values["top"].upper(), "")
    return TaxonomyEntry(
        top=values["top"],
        sub=values["sub"],
        top_code=top_code.upper(),
        code=code,
        exclude=values.get("exclude", ""),
        expansion_factor=_expansion_factor(record.get(columns.get("expansion_factor", "")), where),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from pandas-written files
        return ""
    return str(value).strip()


def _expansion_factor(value: Any, where: str) -> int | None:
    text = _text(value)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not number.is_integer() or number < 1:
        raise TaxonomyError(f"{where}: expansion_factor must be a positive integer or empty, got {text!r}.")
    return int(number)


def _majors_by_name() -> dict[str, str]:
    """BISAC major-subject names (upper case) to codes, to fill ``top_code`` for files that lack it."""
    try:
        return {name.upper(): code for code, name in bisac_major_subjects().items()}
    except TaxonomyError:
        return {}


def _pair(entry: TaxonomyEntry) -> tuple[str, str]:
    return entry.top.casefold(), entry.sub.casefold()


def _dedupe_first(entries: Iterable[TaxonomyEntry]) -> list[TaxonomyEntry]:
    seen: set[tuple[str, str]] = set()
    unique: list[TaxonomyEntry] = []
    for entry in entries:
        if _pair(entry) not in seen:
            seen.add(_pair(entry))
            unique.append(entry)
    return unique


def _dedupe_max_expansion(entries: Iterable[TaxonomyEntry]) -> list[TaxonomyEntry]:
    """One entry per pair, in first-seen order, carrying the largest expansion factor of its rows."""
    merged: dict[tuple[str, str], TaxonomyEntry] = {}  # dicts keep insertion order
    for entry in entries:
        kept = merged.get(_pair(entry))
        if kept is None:
            merged[_pair(entry)] = entry
        elif entry.expansion_factor is not None and (
            kept.expansion_factor is None or entry.expansion_factor > kept.expansion_factor
        ):
            merged[_pair(entry)] = TaxonomyEntry(
                kept.top, kept.sub, kept.top_code, kept.code, kept.exclude, entry.expansion_factor
            )
    return list(merged.values())


def _offline() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def _load_hub(repo_id: str) -> list[TaxonomyEntry]:
    if _offline():  # fail fast: never wait on a network that was switched off on purpose
        raise TaxonomyError(
            f"Cannot load the Hub taxonomy {repo_id!r}: this machine is offline (HF_HUB_OFFLINE=1 or "
            f"HF_DATASETS_OFFLINE=1 is set). Instead, {_FIX_HINT}."
        )
    import datasets

    try:
        dataset = datasets.load_dataset(repo_id, split="train")
        records = list(dataset)
    except Exception as exc:  # the Hub client raises many types; all mean "cannot load"
        raise TaxonomyError(
            f"Cannot load the Hub taxonomy {repo_id!r} ({type(exc).__name__}). Check the dataset id and your "
            f"network, or {_FIX_HINT}."
        ) from exc
    numbered = ((i, record) for i, record in enumerate(records, start=1))
    return _dedupe_max_expansion(_entries(numbered, repo_id, unit="row"))
