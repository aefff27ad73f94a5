# Over 400 lines on purpose: four file formats, the Hub set, selection and ordering share one validation path.
"""The topic taxonomy: (top category, subcategory) pairs that seed LiteLong's topic debate.

Three sources give the same :class:`TaxonomyEntry` list, in file order, with case-insensitive duplicates
removed:

- ``"bisac"`` (default): the packaged ``litelong_hf/data/bisac.tsv``, all 54 current BISAC major subjects
  with real subject-heading codes;
- a local or fsspec file, ``.csv``, ``.tsv``, ``.json`` (array of objects) or ``.jsonl``, optionally
  compressed (``.gz`` ...), with a top-category and a subcategory column;
- the Hub set ``HuggingFaceTB/bisac_expanded_final`` used by the LiteLong paper (needs the network).

:func:`select_entries` then narrows the list for a run, down to a single subcategory if wanted.

Example::

    entries = load_taxonomy()                                   # packaged BISAC file
    run = select_entries(entries, top_categories=["SCI"], sample=8, seed=1)
    cache_key = taxonomy_fingerprint(run)
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import io
import json
import os
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

BISAC = "bisac"
"""Source name of the packaged BISAC taxonomy file."""
HUB_DATASET = "HuggingFaceTB/bisac_expanded_final"
"""The Hub taxonomy of the LiteLong paper: 34,175 rows (top_category, subcategory, subtopic, expansion_factor)."""
DEFAULT_EXPANSION_FACTOR = 5
"""Subtopics asked per debater are ``2 × expansion_factor``; this is the factor when a row leaves it empty."""
NON_CLASSIFIABLE_CODE = "NON"
NON_CLASSIFIABLE = "NON-CLASSIFIABLE"

TOP_COLUMNS = ("top_category", "top")
"""Accepted names (case-insensitive) of the top-category column, in order of preference."""
SUB_COLUMNS = ("subcategory", "sub")
"""Accepted names (case-insensitive) of the subcategory column, in order of preference."""
OPTIONAL_COLUMNS = ("top_code", "code", "exclude", "expansion_factor")
"""Optional columns; any other column (e.g. the Hub set's ``subtopic``) is ignored."""
EXCLUDE_COLUMNS = ("exclude", "not")
"""Accepted names (case-insensitive) of the exclusions column, in order of preference: ours, then the Hub
set's ``not`` (the name the LiteLong scripts read)."""

_PACKAGED_SOURCE = "litelong_hf/data/bisac.tsv"
_BISAC_CODE = re.compile(r"^[A-Z]{3}\d{6}$")
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4")
_FILE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl"}
_FIX_HINT = (
    "use the packaged taxonomy (load_taxonomy('bisac'), works offline) or a local CSV/TSV/JSON/JSONL file "
    "with top_category and subcategory columns"
)


class TaxonomyError(ValueError):
    """A taxonomy cannot be loaded or a selection is invalid; the message names the fix."""


@dataclass(frozen=True)
class TaxonomyEntry:
    """One (top category, subcategory) pair of the taxonomy, e.g. ``SCIENCE / Space Science / Astronomy``."""

    top: str
    """Top category (BISAC major subject), e.g. ``SCIENCE``."""
    sub: str
    """Subcategory within ``top``, e.g. ``Space Science / Astronomy`` or ``Life Sciences / Biology``."""
    top_code: str = ""
    """Three-letter BISAC code of ``top`` (``SCI``), empty when unknown."""
    code: str = ""
    """BISAC subject code of the subcategory heading (``SCI004000``), empty when unknown."""
    exclude: str = ""
    """Text for "avoid topics that fall under ..." in the debate prompt; empty for none."""
    expansion_factor: int | None = None
    """Per-pair expansion factor; ``None`` means :data:`DEFAULT_EXPANSION_FACTOR`."""

    def __post_init__(self) -> None:
        for name in ("top", "sub", "top_code", "code", "exclude"):
            if not isinstance(getattr(self, name), str):
                raise TaxonomyError(f"TaxonomyEntry.{name} must be a string, got {getattr(self, name)!r}.")
        if not self.top.strip() or not self.sub.strip():
            raise TaxonomyError(
                f"TaxonomyEntry needs a non-empty top and sub, got top={self.top!r}, sub={self.sub!r}."
            )
        factor = self.expansion_factor
        if factor is not None and (isinstance(factor, bool) or not isinstance(factor, int) or factor < 1):
            raise TaxonomyError(f"expansion_factor must be a positive integer or None, got {factor!r}.")

    @property
    def key(self) -> str:
        """The BISAC-style literal ``"TOP / Sub"``, e.g. ``"SCIENCE / Space Science / Astronomy"``."""
        return f"{self.top} / {self.sub}"

    @property
    def effective_expansion_factor(self) -> int:
        """``expansion_factor``, or :data:`DEFAULT_EXPANSION_FACTOR` when the row leaves it empty."""
        return self.expansion_factor if self.expansion_factor is not None else DEFAULT_EXPANSION_FACTOR

    @property
    def is_non_classifiable(self) -> bool:
        """True for BISAC's NON-CLASSIFIABLE section, which is left out of topic generation by default."""
        return self.top_code.upper() == NON_CLASSIFIABLE_CODE or self.top.strip().upper() == NON_CLASSIFIABLE

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict form (for provenance, JSON and datasets columns)."""
        return {
            "top": self.top,
            "sub": self.sub,
            "top_code": self.top_code,
            "code": self.code,
            "exclude": self.exclude,
            "expansion_factor": self.expansion_factor,
        }


# --------------------------------------------------------------------------------------------- loading


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
    fmt = _file_format(text)
    if _file_exists(text):
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
        # location, which importlib.resources on Python 3.11 rejects; the file sits beside this module.
        pass
    except OSError as exc:  # a broken install, not a user error
        raise _missing_packaged_file() from exc
    try:
        return Path(__file__).resolve().with_name("data").joinpath("bisac.tsv").read_text(encoding="utf-8")
    except OSError as exc:
        raise _missing_packaged_file() from exc


def _missing_packaged_file() -> TaxonomyError:
    return TaxonomyError(
        "The packaged taxonomy litelong_hf/data/bisac.tsv is missing; reinstall litelong-hf "
        "(pip install --force-reinstall litelong-hf) or pass a local taxonomy file."
    )


def _file_format(path: str) -> str | None:
    name = path.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return _FILE_FORMATS.get(os.path.splitext(name)[1])


def _file_exists(path: str) -> bool:
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


# ------------------------------------------------------------------------------------------- selection


def select_entries(
    entries: Sequence[TaxonomyEntry],
    *,
    top_categories: Sequence[str] | None = None,
    subcategories: Sequence[str] | None = None,
    max_entries: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    include_non_classifiable: bool = False,
) -> list[TaxonomyEntry]:
    """Choose the entries a run uses; the result keeps the input order.

    Filters apply in this order:

    1. NON-CLASSIFIABLE is dropped unless ``include_non_classifiable`` is true or ``top_categories``
       names it explicitly.
    2. ``top_categories``: names (``"SCIENCE"``) or 3-letter codes (``"sci"``), case-insensitive. An unknown
       name raises with the list of valid ones.
    3. ``subcategories``: each matches, case-insensitively, an entry's subcategory (``"Life Sciences /
       Biology"``), its last segment (``"Biology"``), its full key (``"SCIENCE / Life Sciences /
       Biology"``) or its code (``"SCI008000"``). A name that matches nothing raises with close matches.
    4. ``sample``: a seeded random subset of that size (``random.Random(seed)`` over the stable order);
       all entries when ``sample`` is larger than what is left.
    5. ``max_entries``: keep the first ``max_entries``.

    Raises :class:`TaxonomyError` when the selection comes out empty, naming the filter that emptied it.

    Example::

        select_entries(load_taxonomy(), subcategories=["SCIENCE / Space Science / Astronomy"])  # one pair
    """
    if not entries:
        raise TaxonomyError("The taxonomy is empty: load one with load_taxonomy() before selecting.")
    for name, value in (("max_entries", max_entries), ("sample", sample)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise TaxonomyError(f"{name} must be a positive integer or None, got {value!r}.")
    tops = _as_names(top_categories, "top_categories")
    subs = _as_names(subcategories, "subcategories")
    selected = list(entries)

    wanted_tops = _match_tops(selected, tops) if tops is not None else None
    if not include_non_classifiable:
        selected = [
            e
            for e in selected
            if not e.is_non_classifiable or (wanted_tops is not None and _top_of(e) in wanted_tops)
        ]
        _require(selected, "excluding NON-CLASSIFIABLE (pass include_non_classifiable=True to keep it)")
    if wanted_tops is not None:
        selected = [e for e in selected if _top_of(e) in wanted_tops]
        _require(selected, f"top_categories={list(tops or [])}")
    if subs is not None:
        selected = _match_subs(selected, subs)
    if sample is not None and sample < len(selected):
        chosen = sorted(random.Random(seed).sample(range(len(selected)), sample))
        selected = [selected[i] for i in chosen]
    if max_entries is not None:
        selected = selected[:max_entries]
    return selected


def _as_names(values: Sequence[str] | None, name: str) -> list[str] | None:
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    cleaned = [str(item).strip() for item in items if str(item).strip()]
    if not cleaned:
        raise TaxonomyError(f"{name} is empty: pass at least one name, or None for no filter.")
    return cleaned


def _top_of(entry: TaxonomyEntry) -> str:
    return entry.top.casefold()


def _match_tops(entries: Sequence[TaxonomyEntry], names: Sequence[str]) -> set[str]:
    """The (casefolded) top categories named by ``names``; unknown names raise with the valid list."""
    lookup: dict[str, str] = {}
    valid: dict[str, str] = {}  # top -> "CODE (TOP)" or "TOP", first-seen order
    for entry in entries:
        lookup.setdefault(entry.top.casefold(), entry.top.casefold())
        if entry.top_code:
            lookup.setdefault(entry.top_code.casefold(), entry.top.casefold())
        valid.setdefault(entry.top, f"{entry.top_code} ({entry.top})" if entry.top_code else entry.top)
    unknown = [name for name in names if name.casefold() not in lookup]
    if unknown:
        raise TaxonomyError(
            f"Unknown top categories {unknown}: use a name or 3-letter code; valid ones are: "
            f"{', '.join(valid.values())}."
        )
    return {lookup[name.casefold()] for name in names}


def _sub_aliases(entry: TaxonomyEntry) -> set[str]:
    aliases = {entry.sub.casefold(), entry.key.casefold(), entry.sub.rsplit("/", 1)[-1].strip().casefold()}
    if entry.code:
        aliases.add(entry.code.casefold())
    return aliases


def _match_subs(entries: Sequence[TaxonomyEntry], names: Sequence[str]) -> list[TaxonomyEntry]:
    wanted = {name.casefold() for name in names}
    matched = {name: False for name in wanted}
    selected: list[TaxonomyEntry] = []
    for entry in entries:
        hits = _sub_aliases(entry) & wanted
        for hit in hits:
            matched[hit] = True
        if hits:
            selected.append(entry)
    unknown = [name for name in names if not matched[name.casefold()]]
    if unknown:
        pool = sorted({alias for e in entries for alias in (e.sub, e.key, e.sub.rsplit("/", 1)[-1].strip())})
        hints = {name: difflib.get_close_matches(name, pool, n=3, cutoff=0.5) for name in unknown}
        detail = "; ".join(
            f"{name!r} (close: {hint})" if hint else repr(name) for name, hint in hints.items()
        )
        raise TaxonomyError(
            f"subcategories {detail} match no entry (after the other filters). Use a subcategory as written "
            f"in the taxonomy, its last segment, 'TOP / Sub', or its code."
        )
    return selected


def _require(selected: Sequence[TaxonomyEntry], applied: str) -> None:
    if not selected:
        raise TaxonomyError(f"The selection is empty after {applied}: widen that filter.")


# ----------------------------------------------------------------------------------------- fingerprint


def taxonomy_fingerprint(entries: Iterable[TaxonomyEntry]) -> str:
    """Short, stable hash (16 hex chars of SHA-256) of the selected entries, for cache keys.

    It covers, in order, each entry's top, sub, exclude text and effective expansion factor: the inputs
    that change what the topic debate produces. Codes are left out (they do not reach the prompts).
    """
    payload = [[e.top, e.sub, e.exclude, e.effective_expansion_factor] for e in entries]
    blob = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def spread_order(entries: Sequence[TaxonomyEntry], seed: int) -> list[TaxonomyEntry]:
    """The entries in a seeded order that spreads over top categories (pure).

    Top categories are put in a seeded order and each one's subcategories too; the result then takes the
    first subcategory of every top category, then the second of every one, and so on (round-robin). Any
    prefix therefore covers as many top categories as it can, so a run that needs only a few subcategories
    still draws from several categories instead of "first category first". The order depends only on the
    entries and the seed.

    Example::

        spread_order(load_taxonomy(), seed=42)[:3]   # three subcategories from three top categories
    """
    groups: dict[str, list[TaxonomyEntry]] = {}
    for entry in entries:
        groups.setdefault(_top_of(entry), []).append(entry)
    rng = random.Random(f"litelong-spread-{seed}")  # str seeds hash with SHA-512: stable across processes
    tops = list(groups)
    rng.shuffle(tops)
    for top in tops:
        rng.shuffle(groups[top])
    longest = max((len(g) for g in groups.values()), default=0)
    return [groups[top][i] for i in range(longest) for top in tops if i < len(groups[top])]


def taxonomy_source_fingerprint(source: str | os.PathLike[str]) -> str | None:
    """A hash of a custom taxonomy file's bytes, for config hashes (``None`` for the packaged BISAC file,
    whose content belongs to the code version, and for Hub sets). A missing file gives ``"missing"``;
    loading it later raises the clear error."""
    text = os.fspath(source).strip()
    if text.lower() in (BISAC, HUB_DATASET.lower(), "hub") or not _file_format(text):
        return None
    if not _file_exists(text):
        return "missing"
    import fsspec

    digest = hashlib.sha256()
    with fsspec.open(text, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
