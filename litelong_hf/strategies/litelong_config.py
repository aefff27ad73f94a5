"""The LiteLong run configuration: taxonomy selection, debate, retrieval and assembly knobs.

Every field carries its help text (``field(metadata={"help": ...})``); ``docs/litelong.md`` explains them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..config import BaseConfig, ConfigError
from ..layout import exists, read_text
from ..taxonomy import taxonomy_source_fingerprint
from .debate import load_debate_prompts

DEBATE_ROLES = ("debater_a", "debater_b", "judge")
QUERY_MODES = ("title", "rich")
ORDERS = ("shuffle", "score", "shuffle_all")


def _help(text: str, **checks: Any) -> dict[str, Any]:
    """A field's metadata: its help and the ``choices``/``min`` that BaseConfig checks."""
    return {"help": text, **checks}


@dataclass
class LiteLongConfig(BaseConfig):
    """LiteLong: topics from a taxonomy debate, BM25 retrieval, concatenation to ``target_tokens``."""

    LLM_ROLES: ClassVar[tuple[str, ...]] = DEBATE_ROLES

    def llm_roles(self) -> tuple[str, ...]:
        """The debate's roles, or none when topics come from a topics file."""
        return () if self.topics_file else self.LLM_ROLES

    strategy: str = field(default="litelong", metadata=_help("Strategy name (fixed)."))
    taxonomy: str = field(
        default="bisac",
        metadata=_help(
            "``bisac`` (packaged BISAC headings), ``HuggingFaceTB/bisac_expanded_final`` (online), or a "
            "CSV/TSV/JSON/JSONL file with top/sub columns (its content is part of the config hash)."
        ),
    )
    categories: list[str] | None = field(
        default=None,
        metadata=_help("Top categories to use, by name or 3-letter code (``SCI,HISTORY``); none: all."),
    )
    subcategories: list[str] | None = field(
        default=None,
        metadata=_help("Subcategory headings to use (``Astronomy``); none: all of the chosen categories."),
    )
    max_subcategories: int | None = field(
        default=None,
        metadata=_help("Use only the first N selected (top, sub) pairs in the seeded spread order."),
    )
    sample_subcategories: int | None = field(
        default=None, metadata=_help("Use a seeded random sample of N selected pairs.")
    )
    include_non_classifiable: bool = field(
        default=False, metadata=_help("Also debate NON-CLASSIFIABLE (excluded by default, as in the paper).")
    )
    expansion_factor: int = field(
        default=5,
        metadata=_help(
            "Each debater proposes ``2 x expansion_factor`` subtopics per pair (a taxonomy row may override it).",
            min=1,
        ),
    )
    prompts: str = field(
        default="litelong_v2",
        metadata=_help(
            "Debate prompt set: a packaged version (``litelong_v2``: ours; ``litelong_paper_v1``: the paper's "
            "inputs, criteria and stance) or a YAML file; its content is hashed."
        ),
    )
    llm_max_tokens: int = field(default=1024, metadata=_help("Most tokens per debate answer.", min=1))
    judge_retries: int = field(
        default=1,
        metadata=_help(
            "Times an unparseable judge answer is asked again (new seed) before the subcategory is failed.",
            min=0,
        ),
    )
    topics_file: str | None = field(
        default=None,
        metadata=_help("JSONL of already chosen topics (``litelong-hf topics`` output): skips the debate."),
    )
    rows_per_topic: int = field(
        default=4, metadata=_help("Most rows built from one topic's documents.", min=1)
    )
    min_top_categories: int = field(
        default=4,
        metadata=_help(
            "With ``num_rows`` set, a topic gives at most ``ceil(num_rows / min_top_categories)`` rows, so "
            "a small request still spreads over this many subcategories (and top categories).",
            min=1,
        ),
    )
    max_hits: int = field(default=4000, metadata=_help("Most documents retrieved per topic.", min=1))
    hits_factor: float = field(
        default=1.5,
        metadata=_help(
            "Retrieve ``rows_per_topic x target_tokens / mean document tokens x hits_factor`` documents."
        ),
    )
    query: str = field(
        default="rich",
        metadata={
            "help": (
                "BM25 query of a topic: ``rich`` (title + explanation + taxonomy path) or ``title`` (the "
                "title alone, the scripts' query-syntax characters stripped: the paper's query)."
            ),
            "choices": QUERY_MODES,
        },
    )
    feedback_docs: int = field(
        default=20,
        metadata=_help(
            "Pseudo-relevance feedback: the topic's best N documents lend their shared words to a second "
            "query, which finds documents like them (0: off, one query only).",
            min=0,
        ),
    )
    feedback_terms: int = field(
        default=80, metadata=_help("Words the feedback documents add to the topic's query.", min=0)
    )
    relevance_floor: float = field(
        default=0.35,
        metadata=_help(
            "Only documents scoring at least this share of the topic's best hit are used (0: all hits)."
        ),
    )
    require_all_terms: bool = field(
        default=False,
        metadata=_help("Keep only hits containing every query term (implicit AND, like Manticore)."),
    )
    order: str = field(
        default="shuffle",
        metadata={
            "help": (
                "Order of a topic's documents: ``shuffle`` (one band of rank per row, each band in a seeded "
                "shuffle), ``score`` (best first) or ``shuffle_all`` (every retrieved hit in one seeded "
                "shuffle, as the authors' scripts do)."
            ),
            "choices": ORDERS,
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.relevance_floor < 1.0:
            raise ConfigError(f"relevance_floor must be in [0, 1), got {self.relevance_floor}.")
        if isinstance(self.categories, str):
            self.categories = [c.strip() for c in self.categories.split(",") if c.strip()]
        if isinstance(self.subcategories, str):
            self.subcategories = [s.strip() for s in self.subcategories.split(",") if s.strip()]

    def hash_payload(self) -> dict[str, Any]:
        data = super().hash_payload()
        data["_prompts"] = load_debate_prompts(self.prompts).tag
        if self.topics_file:
            data["_topics_file"] = (
                hashlib.sha256(read_text(self.topics_file).encode()).hexdigest()[:12]
                if exists(self.topics_file)
                else "missing"
            )
        taxonomy = taxonomy_source_fingerprint(self.taxonomy)
        if taxonomy is not None:
            data["_taxonomy"] = taxonomy
        return data
