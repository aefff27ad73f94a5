"""The taxonomy's constants, its error and one entry (:class:`TaxonomyEntry`)."""

from __future__ import annotations

from dataclasses import dataclass
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
