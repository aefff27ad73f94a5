"""Tests for litelong_hf.taxonomy: the packaged BISAC file, the loaders, selection and the fingerprint."""

from __future__ import annotations

import csv
import gzip
import json
import re
import sys
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litelong_hf import taxonomy
from litelong_hf.taxonomy import (
    DEFAULT_EXPANSION_FACTOR,
    HUB_DATASET,
    TaxonomyEntry,
    TaxonomyError,
    bisac_major_subjects,
    entries_from_records,
    load_taxonomy,
    select_entries,
    spread_order,
    taxonomy_fingerprint,
    taxonomy_source_fingerprint,
)

SHARED_MAJORS = Path(__file__).parents[1].parent / "shared" / "bisac-major-subjects.tsv"
PACKAGED_FILE = Path(taxonomy.__file__).parents[1] / "data" / "bisac.tsv"
PACKAGED_COLUMNS = ["code", "top_code", "top_category", "subcategory", "exclude", "expansion_factor"]


def _packaged_rows() -> list[dict[str, str]]:
    """The packaged file read raw (not through the loader, which would hide duplicates)."""
    return list(csv.DictReader(PACKAGED_FILE.read_text(encoding="utf-8").splitlines(), delimiter="\t"))


@pytest.fixture(scope="module")
def bisac() -> list[TaxonomyEntry]:
    return load_taxonomy()


# ------------------------------------------------------------------------------- the packaged file


def test_packaged_file_has_exactly_the_54_major_subjects() -> None:
    if not SHARED_MAJORS.is_file():
        pytest.skip(f"{SHARED_MAJORS} is absent: the authoritative major-subject list is not checked out")
    with SHARED_MAJORS.open(encoding="utf-8") as handle:
        expected = {row["code"]: row["major_subject"] for row in csv.DictReader(handle, delimiter="\t")}
    assert len(expected) == 54
    found = {(row["top_code"], row["top_category"]) for row in _packaged_rows()}
    assert found == set(expected.items())
    assert bisac_major_subjects() == expected


def test_packaged_file_format() -> None:
    text = PACKAGED_FILE.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].split("\t") == PACKAGED_COLUMNS
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        assert len(cells) == len(PACKAGED_COLUMNS), f"line {number}: {line!r}"
        assert all(cell == cell.strip() for cell in cells), f"line {number} has stray whitespace"
    assert text.endswith("\n")


def test_every_major_subject_has_at_least_ten_subcategories() -> None:
    counts = Counter(row["top_code"] for row in _packaged_rows())
    assert counts["NON"] == 1
    thin = {code: n for code, n in counts.items() if code != "NON" and n < 10}
    assert not thin, f"major subjects with fewer than 10 subcategories: {thin}"


def test_non_classifiable_is_its_single_heading() -> None:
    (row,) = [row for row in _packaged_rows() if row["top_code"] == "NON"]
    assert (row["code"], row["top_category"], row["subcategory"]) == (
        "NON000000",
        "NON-CLASSIFIABLE",
        "Non-Classifiable",
    )


def test_no_duplicate_pairs_or_codes() -> None:
    rows = _packaged_rows()
    pairs = Counter((row["top_category"].casefold(), row["subcategory"].casefold()) for row in rows)
    assert [pair for pair, n in pairs.items() if n > 1] == []
    codes = Counter(row["code"] for row in rows if row["code"])
    assert [code for code, n in codes.items() if n > 1] == []


def test_codes_are_bisac_codes_of_their_major_subject() -> None:
    for row in _packaged_rows():
        if row["code"]:
            assert re.fullmatch(r"[A-Z]{3}\d{6}", row["code"]), row
            assert row["code"].startswith(row["top_code"]), row


def test_general_headings_of_a_section_are_left_out() -> None:
    # "SCIENCE / General" only repeats its major subject; group-level "X / General" headings may stay.
    assert not [row for row in _packaged_rows() if row["subcategory"].casefold() == "general"]


def test_optional_columns_are_valid(bisac: list[TaxonomyEntry]) -> None:
    assert all(entry.expansion_factor is None for entry in bisac)  # default 5 everywhere
    assert all(entry.effective_expansion_factor == DEFAULT_EXPANSION_FACTOR for entry in bisac)
    excluded = [entry for entry in bisac if entry.exclude]
    assert excluded and all(" / " in entry.exclude for entry in excluded)


def test_load_bisac_matches_the_raw_file(bisac: list[TaxonomyEntry]) -> None:
    rows = _packaged_rows()
    assert [(e.code, e.top_code, e.top, e.sub) for e in bisac] == [
        (r["code"], r["top_code"], r["top_category"], r["subcategory"]) for r in rows
    ]
    assert bisac[0].key == f"{rows[0]['top_category']} / {rows[0]['subcategory']}"


def test_load_returns_a_fresh_list(bisac: list[TaxonomyEntry]) -> None:
    first = load_taxonomy("bisac")
    first.clear()
    assert load_taxonomy("BISAC") == bisac


# -------------------------------------------------------------------------------------- the entry


def test_entry_key_and_validation() -> None:
    entry = TaxonomyEntry("SCIENCE", "Space Science / Astronomy", "SCI", "SCI004000")
    assert entry.key == "SCIENCE / Space Science / Astronomy"
    assert entry.as_dict()["code"] == "SCI004000"
    with pytest.raises(AttributeError):
        entry.sub = "Physics"  # type: ignore[misc]
    with pytest.raises(TaxonomyError, match="non-empty top and sub"):
        TaxonomyEntry("SCIENCE", "  ")
    with pytest.raises(TaxonomyError, match="positive integer"):
        TaxonomyEntry("SCIENCE", "Physics", expansion_factor=0)
    assert issubclass(TaxonomyError, ValueError)


# ---------------------------------------------------------------------------------- local loaders

ROWS: list[dict[str, Any]] = [
    {"top_category": "SCIENCE", "subcategory": "Physics / Quantum Theory", "subtopic": "Entanglement"},
    {"top_category": "Science", "subcategory": "physics / quantum theory", "expansion_factor": 9},
    {"top_category": "COOKING", "subcategory": "Methods / Baking", "expansion_factor": 3},
    {"top_category": "My Topics", "subcategory": "Tide pools", "exclude": "NATURE / Animals / Marine Life"},
]


def _write(path: Path, rows: list[dict[str, Any]], top: str, sub: str) -> Path:
    renamed = [
        {(top if k == "top_category" else sub if k == "subcategory" else k): v for k, v in r.items()}
        for r in rows
    ]
    fields = list(dict.fromkeys(key for row in renamed for key in row))
    suffix = path.name.removesuffix(".gz").rsplit(".", 1)[-1]
    if suffix in ("csv", "tsv"):
        buffer: list[str] = []
        writer = csv.DictWriter(
            _ListWriter(buffer), fieldnames=fields, delimiter="\t" if suffix == "tsv" else ","
        )
        writer.writeheader()
        writer.writerows(renamed)
        text = "".join(buffer)
    elif suffix == "json":
        text = json.dumps(renamed, indent=1)
    else:
        text = "".join(json.dumps(row) + "\n" for row in renamed)
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


class _ListWriter:
    def __init__(self, buffer: list[str]) -> None:
        self.buffer = buffer

    def write(self, text: str) -> int:
        self.buffer.append(text)
        return len(text)


@pytest.mark.parametrize("name", ["topics.csv", "topics.tsv", "topics.json", "topics.jsonl", "topics.csv.gz"])
@pytest.mark.parametrize(
    ("top", "sub"), [("top_category", "subcategory"), ("top", "sub"), ("Top", "SUBCATEGORY")]
)
def test_local_files_with_column_variants(tmp_path: Path, name: str, top: str, sub: str) -> None:
    entries = load_taxonomy(_write(tmp_path / name, ROWS, top, sub))
    assert [e.key for e in entries] == [
        "SCIENCE / Physics / Quantum Theory",  # the case-insensitive duplicate keeps the first row
        "COOKING / Methods / Baking",
        "My Topics / Tide pools",
    ]
    science, cooking, mine = entries
    assert science.expansion_factor is None  # the first row wins, even with a larger factor later
    assert cooking.expansion_factor == 3
    assert mine.exclude == "NATURE / Animals / Marine Life"
    assert (science.top_code, cooking.top_code, mine.top_code) == (
        "SCI",
        "CKB",
        "",
    )  # filled from BISAC names


@pytest.mark.parametrize("name", ["hub.csv", "hub.jsonl"])
def test_the_hub_sets_not_column_is_read_as_exclusions(tmp_path: Path, name: str) -> None:
    # The columns of HuggingFaceTB/bisac_expanded_final: its exclusions column is named ``not``.
    rows: list[dict[str, Any]] = [
        {
            "top_category": "NATURE",
            "subcategory": "Ecology",
            "subtopic": "Wetlands",
            "expansion_factor": 5,
            "not": "SCIENCE / Life Sciences / Ecology",
        },
        {"top_category": "NATURE", "subcategory": "Ecology", "subtopic": "Forests", "expansion_factor": 5},
        {"top_category": "COOKING", "subcategory": "Methods / Baking", "subtopic": "Bread", "not": ""},
    ]
    nature, cooking = load_taxonomy(_write(tmp_path / name, rows, "top_category", "subcategory"))
    assert nature.exclude == "SCIENCE / Life Sciences / Ecology"
    assert cooking.exclude == ""


def test_exclude_column_wins_over_not(tmp_path: Path) -> None:
    path = tmp_path / "both.csv"
    path.write_text("top,sub,not,Exclude\nSky,Stars,from not,from exclude\n", encoding="utf-8")
    (entry,) = load_taxonomy(path)
    assert entry.exclude == "from exclude"


def test_local_file_accepts_str_paths_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("code,top,sub,expansion_factor\nSCI004000,Sky,Stars,7.0\n", encoding="utf-8")
    (entry,) = load_taxonomy(str(path))
    assert (entry.code, entry.top_code, entry.expansion_factor) == ("SCI004000", "SCI", 7)


def test_json_file_with_one_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"top": "A", "sub": "x"}\n{"top": "B", "sub": "y"}\n', encoding="utf-8")
    assert [e.key for e in load_taxonomy(path)] == ["A / x", "B / y"]


def test_entries_from_records() -> None:
    entries = entries_from_records(
        [{"top": "A", "sub": "x"}, {"top": "a", "sub": "X"}, {"top": "B", "sub": "y"}]
    )
    assert [e.key for e in entries] == ["A / x", "B / y"]


# --------------------------------------------------------------------------------------- bad files


def test_missing_column_lists_the_columns_found(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("category,subject\nSCIENCE,Physics\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"top_category, top.*columns found: \['category', 'subject'\]"):
        load_taxonomy(path)
    path.write_text("top_category,subject\nSCIENCE,Physics\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"no subcategory column \(accepted names: subcategory, sub\)"):
        load_taxonomy(path)


def test_missing_key_in_a_json_record_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"top": "A", "sub": "x"}\n{"top": "B"}\n', encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"line 2.*columns found: \['top'\]"):
        load_taxonomy(path)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "t.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TaxonomyError, match="is empty"):
        load_taxonomy(path)


@pytest.mark.parametrize(("name", "content"), [("t.csv", "top,sub\n"), ("t.json", "[]")])
def test_header_only_or_empty_array(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TaxonomyError, match="no data rows"):
        load_taxonomy(path)


def test_blank_value_reports_the_line_number(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("top_category,subcategory\nSCIENCE,Physics\n\nSCIENCE,  \n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"line 4: empty subcategory .*Fill it in or delete the row"):
        load_taxonomy(path)
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"top": "A", "sub": "x"}, {"top": "", "sub": "y"}]), encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"item 2: empty top category"):
        load_taxonomy(path)


@pytest.mark.parametrize("bad", ["zero", "0", "2.5", "-3"])
def test_bad_expansion_factor(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "t.tsv"
    path.write_text(f"top\tsub\texpansion_factor\nA\tx\t{bad}\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"line 2: expansion_factor must be a positive integer"):
        load_taxonomy(path)


def test_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"top": "A", "sub": "x"', encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not valid JSON"):
        load_taxonomy(path)
    path.write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(TaxonomyError, match="JSON array of objects"):
        load_taxonomy(path)


def test_unknown_sources(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="does not exist"):
        load_taxonomy(tmp_path / "missing.csv")
    with pytest.raises(TaxonomyError, match="Unknown taxonomy source"):
        load_taxonomy("no such thing")
    with pytest.raises(TaxonomyError, match="source is empty"):
        load_taxonomy("  ")
    odd = tmp_path / "topics.txt"
    odd.write_text("top,sub\nA,x\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"\.csv, \.tsv, \.json or \.jsonl"):
        load_taxonomy(odd)


# ---------------------------------------------------------------------------------------- the Hub


def _fake_datasets(monkeypatch: pytest.MonkeyPatch, load: Any) -> None:
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load))


def _must_not_be_called(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("load_dataset was called although the machine is offline")


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"])
def test_hub_offline_raises_a_clear_error_at_once(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "1")
    _fake_datasets(monkeypatch, _must_not_be_called)
    with pytest.raises(
        TaxonomyError,
        match=r"offline \(HF_HUB_OFFLINE=1 or HF_DATASETS_OFFLINE=1 is set\).*load_taxonomy\('bisac'\).*local CSV",
    ):
        load_taxonomy(HUB_DATASET)
    with pytest.raises(TaxonomyError, match="offline"):
        load_taxonomy("hub")


def test_hub_offline_with_the_real_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TaxonomyError, match="offline"):
        load_taxonomy(HUB_DATASET)


def test_hub_rows_are_deduplicated_keeping_the_largest_expansion_factor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)
    rows: list[dict[str, Any]] = [
        {"top_category": "SCIENCE", "subcategory": "Physics", "subtopic": "Optics", "expansion_factor": 4},
        {"top_category": "SCIENCE", "subcategory": "Physics", "subtopic": "Lasers", "expansion_factor": 6.0},
        {"top_category": "science", "subcategory": "PHYSICS", "subtopic": "Waves", "expansion_factor": 5},
        {"top_category": "COOKING", "subcategory": "Baking", "subtopic": "Bread", "expansion_factor": None},
    ]
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def load(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        calls.append((args, kwargs))
        return rows

    _fake_datasets(monkeypatch, load)
    entries = load_taxonomy(HUB_DATASET)
    assert calls == [((HUB_DATASET,), {"split": "train"})]
    assert [(e.key, e.expansion_factor, e.top_code) for e in entries] == [
        ("SCIENCE / Physics", 6, "SCI"),
        ("COOKING / Baking", None, "CKB"),
    ]


def test_hub_failure_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)

    def load(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("no route to host")

    _fake_datasets(monkeypatch, load)
    with pytest.raises(TaxonomyError, match=r"ConnectionError.*load_taxonomy\('bisac'\)"):
        load_taxonomy(HUB_DATASET)


# ---------------------------------------------------------------------------------------- selection


def test_select_by_top_category_name_or_code(bisac: list[TaxonomyEntry]) -> None:
    by_name = select_entries(bisac, top_categories=["science"])
    by_code = select_entries(bisac, top_categories=["SCI"])
    assert by_name == by_code and by_name
    assert {e.top for e in by_name} == {"SCIENCE"}
    assert by_name == [e for e in bisac if e.top_code == "SCI"]  # file order kept
    both = select_entries(bisac, top_categories=["sci", "Mathematics"])
    assert {e.top_code for e in both} == {"SCI", "MAT"}
    assert select_entries(bisac, top_categories="MAT") == select_entries(bisac, top_categories=["MAT"])


def test_unknown_top_category_lists_valid_ones(bisac: list[TaxonomyEntry]) -> None:
    with pytest.raises(TaxonomyError, match=r"Unknown top categories \['SCIENSE'\].*SCI \(SCIENCE\)"):
        select_entries(bisac, top_categories=["SCIENSE"])


def test_select_subcategories(bisac: list[TaxonomyEntry]) -> None:
    (one,) = select_entries(bisac, subcategories=["SCIENCE / Space Science / Astronomy"])
    assert one.code == "SCI004000"
    assert select_entries(bisac, subcategories=["sci004000"]) == [one]
    assert select_entries(bisac, top_categories=["SCI"], subcategories=["astronomy"]) == [one]
    assert select_entries(bisac, subcategories=["Space Science / Astronomy"]) == [one]
    assert len(select_entries(bisac, subcategories=["Astronomy"])) > 1  # the last segment recurs in JNF, YAN
    with pytest.raises(TaxonomyError, match=r"'Astronmy' \(close: .*Astronomy"):
        select_entries(bisac, subcategories=["Astronmy"])


def test_select_by_count(bisac: list[TaxonomyEntry]) -> None:
    assert select_entries(bisac, max_entries=3) == bisac[:3]
    assert select_entries(bisac, top_categories=["NON", "ANT"], max_entries=1000) == [
        e for e in bisac if e.top_code in ("NON", "ANT")
    ]
    for bad in (0, -1, True):
        with pytest.raises(TaxonomyError, match="max_entries must be a positive integer"):
            select_entries(bisac, max_entries=bad)
    with pytest.raises(TaxonomyError, match="sample must be a positive integer"):
        select_entries(bisac, sample=0)


def test_seeded_sample_is_deterministic(bisac: list[TaxonomyEntry]) -> None:
    first = select_entries(bisac, sample=20, seed=7)
    assert first == select_entries(list(bisac), sample=20, seed=7)
    assert len(first) == 20 and len(set(first)) == 20
    positions = [bisac.index(e) for e in first]
    assert positions == sorted(positions)  # a subset in file order
    assert select_entries(bisac, sample=20, seed=8) != first
    assert (
        select_entries(bisac, sample=5, seed=7, max_entries=2) == select_entries(bisac, sample=5, seed=7)[:2]
    )
    assert select_entries(bisac, top_categories=["NON"], sample=50) == [
        e for e in bisac if e.top_code == "NON"
    ]


def test_non_classifiable_is_excluded_by_default(bisac: list[TaxonomyEntry]) -> None:
    assert not any(e.is_non_classifiable for e in select_entries(bisac))
    assert len(select_entries(bisac)) == len(bisac) - 1
    assert select_entries(bisac, include_non_classifiable=True) == bisac
    (non,) = select_entries(bisac, top_categories=["non-classifiable"])  # naming it explicitly keeps it
    assert non.code == "NON000000"


def test_empty_selection_names_the_filter(bisac: list[TaxonomyEntry]) -> None:
    only_non = [e for e in bisac if e.is_non_classifiable]
    with pytest.raises(
        TaxonomyError, match=r"empty after excluding NON-CLASSIFIABLE.*include_non_classifiable"
    ):
        select_entries(only_non)
    with pytest.raises(TaxonomyError, match=r"'Baking' .*match no entry"):
        select_entries(bisac, top_categories=["SCI"], subcategories=["Baking"])
    with pytest.raises(TaxonomyError, match="taxonomy is empty"):
        select_entries([])
    with pytest.raises(TaxonomyError, match="top_categories is empty"):
        select_entries(bisac, top_categories=[" "])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 50), seed=st.integers(0, 2**32))
def test_sample_is_an_ordered_subset(n: int, k: int, seed: int) -> None:
    entries = [TaxonomyEntry("T", f"s{i}") for i in range(n)]
    picked = select_entries(entries, sample=k, seed=seed)
    assert len(picked) == min(n, k)
    positions = [entries.index(e) for e in picked]
    assert positions == sorted(set(positions))
    assert picked == select_entries(entries, sample=k, seed=seed)


# -------------------------------------------------------------------------------------- fingerprint


def test_fingerprint(bisac: list[TaxonomyEntry]) -> None:
    run = select_entries(bisac, top_categories=["SCI"], max_entries=5)
    fingerprint = taxonomy_fingerprint(run)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    assert taxonomy_fingerprint(list(run)) == fingerprint == taxonomy_fingerprint(iter(run))
    assert taxonomy_fingerprint(run[::-1]) != fingerprint
    assert taxonomy_fingerprint(run[:4]) != fingerprint
    changed = [*run[:4], TaxonomyEntry(run[4].top, run[4].sub, expansion_factor=9)]
    assert taxonomy_fingerprint(changed) != fingerprint
    same_default = [
        *run[:4],
        TaxonomyEntry(run[4].top, run[4].sub, expansion_factor=DEFAULT_EXPANSION_FACTOR),
    ]
    assert taxonomy_fingerprint(same_default) == fingerprint  # codes and an explicit default do not matter
    assert taxonomy_fingerprint([]) != taxonomy_fingerprint(run)


# ------------------------------------------------------------------------------------------ spread order


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8),
    seed=st.integers(min_value=0, max_value=10**6),
)
@settings(max_examples=60, deadline=None)
def test_spread_order_is_a_round_robin_permutation(sizes: list[int], seed: int) -> None:
    entries = [TaxonomyEntry(f"TOP{t}", f"Sub {i}") for t, n in enumerate(sizes) for i in range(n)]
    ordered = spread_order(entries, seed)
    assert sorted(e.key for e in ordered) == sorted(e.key for e in entries)
    assert ordered == spread_order(list(entries), seed)  # a pure function of entries and seed
    # Any prefix covers as many top categories as its length allows (up to the number of categories that
    # still have subcategories left in that round).
    tops = len(sizes)
    assert len({e.top for e in ordered[:tops]}) == tops
    counts: Counter[str] = Counter()
    for entry in ordered:
        counts[entry.top] += 1
        # round r takes the r-th subcategory of every category that has one
        assert all(
            counts[entry.top] - 1 <= counts[t] for t in counts if sizes[int(t[3:])] >= counts[entry.top]
        )


def test_spread_order_of_bisac_starts_with_distinct_categories() -> None:
    ordered = spread_order(select_entries(load_taxonomy()), seed=42)
    assert len({e.top for e in ordered[:20]}) == 20
    assert spread_order(select_entries(load_taxonomy()), seed=43)[:5] != ordered[:5]


def test_taxonomy_source_fingerprint(tmp_path: Path) -> None:
    assert taxonomy_source_fingerprint("bisac") is None
    assert taxonomy_source_fingerprint(HUB_DATASET) is None
    path = tmp_path / "tax.csv"
    assert taxonomy_source_fingerprint(str(path)) == "missing"
    path.write_text("top_category,subcategory\nSCIENCE,Astronomy\n")
    first = taxonomy_source_fingerprint(str(path))
    assert first == taxonomy_source_fingerprint(str(path)) and len(str(first)) == 16
    path.write_text("top_category,subcategory\nSCIENCE,Astrology\n")
    assert taxonomy_source_fingerprint(str(path)) != first
