"""Hierarchical QA's config: every knob of METHODS.md §3 as a typed field with help text.

Sizes that follow from the row length (``document_tokens``, ``min_document_tokens``) default to ``None`` and
are derived from ``target_tokens`` in ``__post_init__``, so ``--target-tokens 16384`` alone works on every
hierarchical preset.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ...config import BaseConfig, ConfigError
from .prompts import hierarchical_prompts

STRATEGY = "hierarchical"
QUESTION_TYPES: tuple[str, ...] = ("multi_hop", "local_detail", "comparison", "temporal_order", "counting")
"""The diverse-question pool (METHODS.md §3.5)."""
TWO_CHUNK_TYPES = frozenset({"multi_hop", "comparison", "temporal_order"})
GROUPINGS: tuple[str, ...] = ("topic", "source", "none")
LEVELS: tuple[str, ...] = ("global", "medium", "small", "diverse", "revisit")
QUESTION_PLANS: tuple[str, ...] = ("sampled", "exhaustive")
"""``sampled``: a fixed number of hierarchical questions from summaries sampled down the tree (the paper's
N1, Algorithm 1); ``exhaustive``: questions from every summary and every small chunk (ours, the first rounds)."""
QUESTION_SHARE = 0.125
"""Share of a row kept for question/answer turns when ``document_tokens`` is derived from the target (ours)."""
MIN_DOCUMENT_SHARE = 0.4
"""``min_document_tokens`` defaults to this share of ``document_tokens`` (ours; 32,768 of 81,920 before)."""


@dataclass
class HierarchicalConfig(BaseConfig):
    """Hierarchical QA: chunk trees, bottom-up summaries, gated hierarchical/diverse/revisit QA, chat rows."""

    LLM_ROLES: ClassVar[tuple[str, ...]] = ("qa",)

    strategy: str = field(default=STRATEGY, metadata={"help": "Always ``hierarchical``."})
    grouping: str = field(
        default="topic",
        metadata={
            "choices": GROUPINGS,
            "help": "How long documents are made from short ones: ``topic`` (a LiteLong topic bundle: the BM25 hits of "
            "each topic title, from topics_file, topic_queries or the taxonomy), ``source`` (short documents with "
            "the same group_field value) or ``none`` (long corpus documents only). Long corpus documents always "
            "stand alone.",
        },
    )
    group_field: str = field(
        default="source",
        metadata={"help": "``grouping: source``: meta field whose value groups short documents."},
    )
    topics_file: str | None = field(
        default=None,
        metadata={
            "help": "``grouping: topic``: JSONL of topics (``litelong-hf topics`` output; a title per line)."
        },
    )
    topic_queries: list[str] | None = field(
        default=None,
        metadata={"help": "``grouping: topic``: topic titles used as BM25 queries (instead of topics_file)."},
    )
    taxonomy: str = field(
        default="bisac",
        metadata={
            "help": "``grouping: topic`` without topics_file/topic_queries: the taxonomy whose subject headings "
            "(``TOP / Sub``) are the topic titles (``bisac`` or a CSV/TSV/JSON file, as for LiteLong)."
        },
    )
    max_topics: int | None = field(
        default=None,
        metadata={"min": 1, "help": "Most topics to retrieve for (a seeded sample; ``None``: all)."},
    )
    documents_per_topic: int = field(
        default=1,
        metadata={"min": 1, "help": "``grouping: topic``: documents' worth of text retrieved per topic."},
    )
    max_hits: int = field(
        default=4000, metadata={"min": 1, "help": "``grouping: topic``: most BM25 hits per topic."}
    )
    min_relative_score: float = field(
        default=0.3,
        metadata={
            "help": "``grouping: topic``: keep hits scoring at least this share of the topic's best hit."
        },
    )
    documents_per_row: int = field(
        default=1,
        metadata={
            "min": 1,
            "help": "Documents a row is sized for (the paper: 1, 4, 8, 12); sets the default document_tokens.",
        },
    )
    document_tokens: int | None = field(
        default=None,
        metadata={
            "min": 1,
            "help": "Largest document (whole medium chunks); ``None``: target_tokens x 7/8 / documents_per_row.",
        },
    )
    min_document_tokens: int | None = field(
        default=None,
        metadata={
            "min": 0,
            "help": "Shortest document used (shorter ones are counted); ``None``: 0.4 x document_tokens.",
        },
    )
    small_chunk_tokens: int = field(
        default=4096, metadata={"min": 1, "help": "Largest small chunk (the paper's ~4K)."}
    )
    medium_chunk_size: int = field(
        default=4, metadata={"min": 1, "help": "Small chunks per medium chunk (ours)."}
    )
    question_plan: str = field(
        default="sampled",
        metadata={
            "choices": QUESTION_PLANS,
            "help": "``sampled`` (the paper: hierarchical_questions per document, walking down the tree from the "
            "document summary to sampled medium chunks and a small chunk of each) or ``exhaustive`` (ours: "
            "global_questions, then medium_questions per medium chunk and small_questions per small chunk).",
        },
    )
    hierarchical_questions: int = field(
        default=5,
        metadata={
            "min": 0,
            "help": "``question_plan: sampled``: hierarchical questions per document (the paper's N1 = 5): one "
            "from the document summary, then a sampled medium chunk's summary and one of its small chunks, in "
            "reading order, until the count is reached.",
        },
    )
    global_questions: int = field(
        default=3,
        metadata={"min": 0, "help": "``question_plan: exhaustive``: questions from the document summary."},
    )
    medium_questions: int = field(
        default=2,
        metadata={"min": 0, "help": "``question_plan: exhaustive``: questions per medium chunk summary."},
    )
    small_questions: int = field(
        default=1,
        metadata={"min": 0, "help": "``question_plan: exhaustive``: detailed questions per small chunk."},
    )
    diverse_questions: int = field(
        default=9,
        metadata={"min": 0, "help": "Questions per document from the type pool (the paper's N2 = 9)."},
    )
    question_types: list[str] = field(
        default_factory=lambda: list(QUESTION_TYPES),
        metadata={"help": "The diverse pool: multi_hop, local_detail, comparison, temporal_order, counting."},
    )
    revisit_probability: float = field(
        default=0.6, metadata={"help": "Chance (seeded per row) of revisit questions per earlier document."}
    )
    revisit_questions: int = field(
        default=3, metadata={"min": 0, "help": "Questions per revisit of an earlier document."}
    )
    max_documents_per_row: int | None = field(
        default=None, metadata={"min": 1, "help": "Most documents per row (``None``: as many as fit)."}
    )
    min_row_fill: float = field(
        default=0.5,
        metadata={"help": "Documents left at the end of a shard make a row only above this share."},
    )
    chat_template: str = field(
        default="auto", metadata={"help": "``auto``, ``llama-3``, a Jinja file or an inline Jinja template."}
    )
    prompts: str = field(
        default="hierarchical_v2",
        metadata={"help": "Prompt set: a packaged version or a YAML file (hashed)."},
    )
    summary_max_tokens: int = field(default=256, metadata={"min": 1, "help": "Most tokens of one summary."})
    question_max_chars: int = field(
        default=200, metadata={"min": 16, "help": "Longest question the JSON schema allows."}
    )
    answer_max_chars: int = field(
        default=300, metadata={"min": 8, "help": "Longest answer the JSON schema allows."}
    )
    llm_token_ratio: float = field(
        default=1.25, metadata={"help": "LLM tokens per target token, with a margin, to fit requests."}
    )
    question_openers: bool = field(
        default=True,
        metadata={
            "help": "Constrain questions (JSON schema) to start with What, Who, When, Where, Why, How or Which."
        },
    )
    qa_gates: bool = field(
        default=True,
        metadata={
            "help": "Check every QA pair (real question, non-degenerate and grounded answer) before it enters a row."
        },
    )
    trim_answers: bool = field(
        default=True,
        metadata={
            "help": (
                "With qa_gates: cut an answer after its whole sentences, before one repeats or the length "
                "limit cuts it off; counted as qa_answers_trimmed."
            )
        },
    )
    qa_retries: int = field(
        default=2,
        metadata={
            "min": 0,
            "help": "Requests with another seed for the pairs that failed a gate, before dropping.",
        },
    )
    min_answer_overlap: float = field(
        default=0.5,
        metadata={
            "help": "Grounding gate: share of the answer's content words that must occur in its material."
        },
    )
    max_question_copy: float = field(
        default=0.8,
        metadata={
            "help": "Question gate: a question sharing this share of its words, in order, with its material is a copy."
        },
    )
    llm_grounding_check: bool = field(
        default=False,
        metadata={
            "help": "Also ask the LLM whether each answer is supported by its material (for strong endpoints)."
        },
    )

    def __post_init__(self) -> None:
        if isinstance(self.question_types, str):
            self.question_types = [t.strip() for t in self.question_types.split(",") if t.strip()]
        if isinstance(self.topic_queries, str):
            self.topic_queries = [t.strip() for t in self.topic_queries.split(",") if t.strip()]
        if self.documents_per_row > 0:  # else the metadata check names it
            if self.document_tokens is None:
                self.document_tokens = int(self.target_tokens * (1 - QUESTION_SHARE) / self.documents_per_row)
            if self.min_document_tokens is None:
                self.min_document_tokens = int(self.document_tokens * MIN_DOCUMENT_SHARE)
        super().__post_init__()  # every field's choices/min metadata, the derived sizes included
        unknown = [t for t in self.question_types if t not in QUESTION_TYPES]
        if unknown:
            raise ConfigError(f"Unknown question_types {unknown}; use any of {', '.join(QUESTION_TYPES)}.")
        if self.diverse_questions > 0 and not self.question_types:
            raise ConfigError("question_types is empty but diverse_questions > 0: name at least one type.")
        self._check_numbers()

    def _check_numbers(self) -> None:
        """What the fields' ``min`` metadata cannot say (BaseConfig checks that): shares, ratios, relations."""
        for name in ("revisit_probability", "min_row_fill", "min_relative_score", "min_answer_overlap"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}.")
        if not 0.0 < self.max_question_copy <= 1.0:
            raise ConfigError(f"max_question_copy must be in (0, 1], got {self.max_question_copy}.")
        if self.llm_token_ratio <= 0:
            raise ConfigError(f"llm_token_ratio must be positive, got {self.llm_token_ratio}.")
        assert self.document_tokens is not None and self.min_document_tokens is not None
        if self.min_document_tokens > self.document_tokens:
            raise ConfigError(
                f"min_document_tokens ({self.min_document_tokens}) is larger than document_tokens "
                f"({self.document_tokens}): no document could be used. Lower min_document_tokens, or leave it "
                "unset to derive it from document_tokens."
            )
        if self.document_tokens >= self.target_tokens:
            raise ConfigError(
                f"document_tokens ({self.document_tokens}) must be smaller than target_tokens "
                f"({self.target_tokens}) to leave room for the questions. Lower document_tokens, or leave it "
                "unset to derive it from target_tokens."
            )

    @property
    def doc_tokens(self) -> int:
        """``document_tokens`` after derivation (always set once the config exists)."""
        assert self.document_tokens is not None
        return self.document_tokens

    @property
    def min_doc_tokens(self) -> int:
        """``min_document_tokens`` after derivation."""
        assert self.min_document_tokens is not None
        return self.min_document_tokens

    def hash_payload(self) -> dict[str, Any]:
        data = super().hash_payload()
        data["_prompts"] = hierarchical_prompts(self.prompts).tag
        for name in ("topics_file", "taxonomy"):
            value = getattr(self, name)
            if value and Path(value).is_file():
                data[f"_{name}"] = hashlib.sha256(Path(value).read_bytes()).hexdigest()[:12]
        if Path(self.chat_template).expanduser().is_file():
            template = Path(self.chat_template).expanduser().read_bytes()
            data["_chat_template"] = hashlib.sha256(template).hexdigest()[:12]
        return data
