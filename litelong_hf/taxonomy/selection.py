"""Narrowing a taxonomy for a run, its seeded spread order and its fingerprints."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import random
from collections.abc import Iterable, Sequence

from .entries import BISAC, HUB_DATASET, TaxonomyEntry, TaxonomyError
from .loading import file_exists, file_format


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
    if text.lower() in (BISAC, HUB_DATASET.lower(), "hub") or not file_format(text):
        return None
    if not file_exists(text):
        return "missing"
    import fsspec

    digest = hashlib.sha256()
    with fsspec.open(text, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
