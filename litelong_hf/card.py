"""Dataset cards: the public API in one import (the parts live in :mod:`litelong_hf.publish`).

- statistics of a config's rows: :mod:`litelong_hf.publish.stats`
- the token-length plot: :mod:`litelong_hf.publish.plot`
- one config's section (provenance, quality scores, QA gates, hardness, preview):
  :mod:`litelong_hf.publish.render`, from report tables built in :mod:`litelong_hf.publish.tables`
- parsing an existing card and merging a config into it: :mod:`litelong_hf.publish.merge`
- secrets hygiene: :mod:`litelong_hf.secrets`

Example::

    from litelong_hf.card import CardInputs, compute_stats, merge_card, preview_row
"""

from __future__ import annotations

from litelong_hf.publish.merge import ParsedCard, merge_card, parse_card
from litelong_hf.publish.names import method_of
from litelong_hf.publish.plot import render_length_histogram
from litelong_hf.publish.render import (
    CardInputs,
    config_summary,
    preview_row,
    provenance,
    render_config_section,
)
from litelong_hf.publish.stats import (
    INSTRUCTION_COLUMNS,
    PRETRAINING_COLUMNS,
    ConfigStats,
    ReuseStats,
    RowSchema,
    Summary,
    compute_stats,
    detect_row_schema,
    histogram_counts,
    size_category,
    source_reuse,
    stats_from_batches,
    summarize,
)
from litelong_hf.publish.tables import GateRow, ScoreRow, gate_rows, hardness_rows, quality_rows

__all__ = [
    "INSTRUCTION_COLUMNS",
    "PRETRAINING_COLUMNS",
    "CardInputs",
    "ConfigStats",
    "GateRow",
    "ParsedCard",
    "ReuseStats",
    "RowSchema",
    "ScoreRow",
    "Summary",
    "compute_stats",
    "config_summary",
    "detect_row_schema",
    "gate_rows",
    "hardness_rows",
    "histogram_counts",
    "merge_card",
    "method_of",
    "parse_card",
    "preview_row",
    "provenance",
    "quality_rows",
    "render_config_section",
    "render_length_histogram",
    "size_category",
    "source_reuse",
    "stats_from_batches",
    "summarize",
]
