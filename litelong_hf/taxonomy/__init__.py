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

Modules: :mod:`.entries` (constants, :class:`TaxonomyEntry`), :mod:`.loading` (the sources),
:mod:`.selection` (selection, spread order, fingerprints); everything public is importable from here.
"""

from __future__ import annotations

from .entries import (
    BISAC,
    DEFAULT_EXPANSION_FACTOR,
    EXCLUDE_COLUMNS,
    HUB_DATASET,
    NON_CLASSIFIABLE,
    NON_CLASSIFIABLE_CODE,
    OPTIONAL_COLUMNS,
    SUB_COLUMNS,
    TOP_COLUMNS,
    TaxonomyEntry,
    TaxonomyError,
)
from .loading import bisac_major_subjects, entries_from_records, load_taxonomy
from .selection import select_entries, spread_order, taxonomy_fingerprint, taxonomy_source_fingerprint

__all__ = [
    "BISAC",
    "DEFAULT_EXPANSION_FACTOR",
    "EXCLUDE_COLUMNS",
    "HUB_DATASET",
    "NON_CLASSIFIABLE",
    "NON_CLASSIFIABLE_CODE",
    "OPTIONAL_COLUMNS",
    "SUB_COLUMNS",
    "TOP_COLUMNS",
    "TaxonomyEntry",
    "TaxonomyError",
    "bisac_major_subjects",
    "entries_from_records",
    "load_taxonomy",
    "select_entries",
    "spread_order",
    "taxonomy_fingerprint",
    "taxonomy_source_fingerprint",
]
