"""Hierarchical QA (METHODS.md §3; He et al., arXiv 2504.12637): instruction rows of long documents followed by
question/answer turns that a short-context LLM wrote without ever seeing more than one chunk or summary.

Per document (a long corpus document, or short ones grouped by a meta field or a LiteLong topic, see
``grouping``), the text is cut into a chunk tree (:mod:`.chunk_tree`): small chunks of ~4K tokens, medium
chunks of 4 small ones, the document. The LLM summarizes bottom-up (small chunks from their text, medium
chunks from their small summaries, the document from its medium summaries; inputs that do not fit its
context window are truncated or split, and counted), then writes question/answer pairs in reading order:
global questions from the document summary; for each medium chunk, questions from its summary followed by
detailed questions from each of its small chunks; then diverse questions from a type pool (multi-hop across
two chunks, local detail, comparison, temporal order, counting). Fixed counts per level are config fields.

A row concatenates documents until ``target_tokens`` (counted with the target tokenizer's chat template).
After the turns of document *i*, with probability ``revisit_probability`` (seeded per row) a set of
``revisit_questions`` new questions about each earlier document *j* < *i* follows. The first user turn holds
every document (numbered, delimited) and the first question; user questions and assistant answers alternate.

Sharing LLM work: every request depends only on the text it is about (a chunk, or summaries of chunks), the
prompt version and the sampling settings, never on the row, the target length or the document's position.
A summary or QA pair is therefore generated once per chunk and served from the request cache to every row
and config that contains that chunk. Documents are windows of whole medium chunks cut from a stream (a
corpus document or a group's documents joined), and medium chunks are counted from the start of the stream,
so configs with different document sizes still share every small and medium chunk.

Example::

    config = make_config("hierarchical-128k", num_rows=1)
    path, report = run_shard(config, 0)
    report.extra["cost"]     # LLM calls and tokens per row and per 1M context tokens, cache hits...
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import math
import random
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import jinja2
import yaml

from ..chat import (
    ChatBudget,
    ChatFormat,
    QATurn,
    chat_format,
    document_block,
    fit_messages,
    instruction_row,
)
from ..config import BaseConfig, ConfigError
from ..corpus import Document, load_documents
from ..llm import ChatLLM, ChatResult, build_llms, run_sync
from ..progress import progress_bar
from ..report import RunReport
from ..rows import row_id
from ..tokens import TokenCounter
from .base import shard_slice
from .chunk_tree import (
    ChunkTree,
    build_tree,
    document_windows,
    fit_groups,
    sub_tree,
    truncate_to_tokens,
)
from .litelong import seed_for

STRATEGY = "hierarchical"
QUESTION_TYPES: tuple[str, ...] = ("multi_hop", "local_detail", "comparison", "temporal_order", "counting")
"""The diverse-question pool (METHODS.md §3.5)."""
TWO_CHUNK_TYPES = frozenset({"multi_hop", "comparison", "temporal_order"})
GROUPINGS: tuple[str, ...] = ("none", "source", "topic")
LEVELS: tuple[str, ...] = ("global", "medium", "small", "diverse", "revisit")
STREAM_SEPARATOR = "\n\n"
"""Between the documents of a group (a paragraph boundary, so small chunks are cut there first)."""
QA_TURN_ESTIMATE = 90
"""Tokens one question/answer turn takes, for choosing how many documents to prepare for a row (ours)."""
_CHAT_SLACK = 64
"""Tokens of an LLM request outside the prompt text (chat template, schema hints), for window budgets."""
_FAILURE_RECORDS = 200
"""Unparseable answers kept verbatim per shard in the report (all are counted, and logged by the cache)."""


@dataclass
class HierarchicalConfig(BaseConfig):
    """Hierarchical QA: chunk trees, bottom-up summaries, hierarchical/diverse/revisit QA, chat rows."""

    strategy: str = STRATEGY
    """Always ``hierarchical``."""
    grouping: str = "source"
    """How documents are made: ``none`` (long corpus documents only), ``source`` (short documents with the
    same ``group_field`` value joined in corpus order; long ones stand alone) or ``topic`` (the BM25 hits of
    each LiteLong topic, from ``topics_file`` or ``topic_queries``)."""
    group_field: str = "source"
    """Corpus meta field whose value groups short documents (``source`` = news outlet in the demo corpus)."""
    topics_file: str | None = None
    """``grouping: topic``: JSONL of topics (``litelong-hf topics`` output; ``title`` or ``topic`` per line)."""
    topic_queries: list[str] | None = None
    """``grouping: topic``: topic titles used as BM25 queries (instead of ``topics_file``)."""
    documents_per_topic: int = 1
    """``grouping: topic``: documents' worth of text (``document_tokens`` each) retrieved per topic."""
    max_hits: int = 4000
    """``grouping: topic``: most BM25 hits per topic."""
    min_document_tokens: int = 32_768
    """Documents (or the last part of a split one) shorter than this are not used, and counted."""
    document_tokens: int = 81_920
    """Largest document: longer texts are split into documents of whole medium chunks up to this size."""
    small_chunk_tokens: int = 4096
    """Largest small chunk (the paper's ~4K); cut on paragraph, else sentence, else token boundaries."""
    medium_chunk_size: int = 4
    """Small chunks per medium chunk (ours; the paper's medium chunks are not specified further)."""
    global_questions: int = 3
    """Questions per document from its summary (fixed counts work better than variable ones in the paper)."""
    medium_questions: int = 2
    """Questions per medium chunk from its summary."""
    small_questions: int = 1
    """Detailed questions per small chunk from its text."""
    diverse_questions: int = 4
    """Questions per document from the type pool, after its hierarchical questions."""
    question_types: list[str] = field(default_factory=lambda: list(QUESTION_TYPES))
    """The diverse-question pool: any of multi_hop, local_detail, comparison, temporal_order, counting."""
    revisit_probability: float = 0.6
    """After document i's turns, the chance (seeded per row) of revisit questions about each earlier one."""
    revisit_questions: int = 3
    """Questions per revisit of an earlier document."""
    max_documents_per_row: int | None = None
    """Most documents per row (``None``: as many as fit ``target_tokens``)."""
    min_row_fill: float = 0.5
    """Documents left at the end of a shard make a last row only if they hold this share of the target."""
    chat_template: str = "auto"
    """How ``n_tokens`` is counted: ``auto`` (the tokenizer's template, else Llama-3's), ``llama-3``, a Jinja
    file or an inline Jinja template."""
    prompts: str = "hierarchical_v1"
    """Prompt set: a packaged version or a YAML file; its content is part of the config hash."""
    summary_max_tokens: int = 256
    """Most tokens of one summary."""
    question_max_chars: int = 200
    """Longest question the JSON schema allows (keeps a small model from rambling). A request's answer budget
    is one token per allowed character, so constrained JSON always ends before ``max_tokens``."""
    answer_max_chars: int = 300
    """Longest answer the JSON schema allows."""
    llm_token_ratio: float = 1.25
    """LLM tokens per target-tokenizer token, with a margin, used to fit requests into the LLM's window
    (SmolLM2 measured 1.06 on English news)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.grouping not in GROUPINGS:
            raise ConfigError(f"grouping must be one of {', '.join(GROUPINGS)}, got {self.grouping!r}.")
        if isinstance(self.question_types, str):
            self.question_types = [t.strip() for t in self.question_types.split(",") if t.strip()]
        if isinstance(self.topic_queries, str):
            self.topic_queries = [t.strip() for t in self.topic_queries.split(",") if t.strip()]
        unknown = [t for t in self.question_types if t not in QUESTION_TYPES]
        if unknown:
            raise ConfigError(f"Unknown question_types {unknown}; use any of {', '.join(QUESTION_TYPES)}.")
        if self.diverse_questions > 0 and not self.question_types:
            raise ConfigError("question_types is empty but diverse_questions > 0: name at least one type.")
        positive = (
            "small_chunk_tokens",
            "medium_chunk_size",
            "document_tokens",
            "summary_max_tokens",
            "question_max_chars",
            "answer_max_chars",
            "documents_per_topic",
            "max_hits",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}.")
        counts = ("global_questions", "medium_questions", "small_questions", "diverse_questions")
        for name in (*counts, "revisit_questions", "min_document_tokens"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}.")
        if self.question_max_chars < 16 or self.answer_max_chars < 8:
            raise ConfigError("question_max_chars must be >= 16 and answer_max_chars >= 8.")
        if not 0.0 <= self.revisit_probability <= 1.0:
            raise ConfigError(f"revisit_probability must be in [0, 1], got {self.revisit_probability}.")
        if not 0.0 <= self.min_row_fill <= 1.0:
            raise ConfigError(f"min_row_fill must be in [0, 1], got {self.min_row_fill}.")
        if self.llm_token_ratio <= 0:
            raise ConfigError(f"llm_token_ratio must be positive, got {self.llm_token_ratio}.")
        if self.max_documents_per_row is not None and self.max_documents_per_row <= 0:
            raise ConfigError(
                f"max_documents_per_row must be positive or None, got {self.max_documents_per_row}."
            )
        if self.min_document_tokens > self.document_tokens:
            raise ConfigError(
                f"min_document_tokens ({self.min_document_tokens}) is larger than document_tokens "
                f"({self.document_tokens}): no document could be used. Lower min_document_tokens."
            )
        if self.document_tokens >= self.target_tokens:
            raise ConfigError(
                f"document_tokens ({self.document_tokens}) must be smaller than target_tokens "
                f"({self.target_tokens}) to leave room for the questions. Lower document_tokens."
            )

    def hash_payload(self) -> dict[str, Any]:
        data = super().hash_payload()
        prompts = load_prompts(self.prompts)
        data["_prompts"] = f"{prompts.version}@{prompts.sha}"
        if self.topics_file and Path(self.topics_file).is_file():
            data["_topics_file"] = hashlib.sha256(Path(self.topics_file).read_bytes()).hexdigest()[:12]
        if Path(self.chat_template).expanduser().is_file():
            template = Path(self.chat_template).expanduser().read_bytes()
            data["_chat_template"] = hashlib.sha256(template).hexdigest()[:12]
        return data


# -- prompts ----------------------------------------------------------------------------------------------

PROMPT_KEYS: tuple[str, ...] = (
    "system",
    "summarize_chunk",
    "summarize_parts",
    "questions_global",
    "questions_medium",
    "questions_small",
    *(f"diverse_{kind}" for kind in QUESTION_TYPES),
    "revisit",
)


@dataclass(frozen=True)
class Prompts:
    """A versioned prompt set (``litelong_hf/prompts/<name>.yaml`` or any YAML file with the same keys)."""

    version: str
    templates: Mapping[str, str]
    sha: str

    @property
    def system(self) -> str:
        return self.templates["system"]

    def render(self, key: str, **values: Any) -> str:
        return _template(self.templates[key]).render(**values).strip()


@cache
def _template(text: str) -> jinja2.Template:
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    return environment.from_string(text)


@cache
def load_prompts(name: str = "hierarchical_v1") -> Prompts:
    """Packaged prompt set ``name`` or a path to a YAML file with the keys of :data:`PROMPT_KEYS`."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"Prompt file {name} does not exist.")
        text = path.read_text(encoding="utf-8")
    else:
        packaged = resources.files("litelong_hf").joinpath("prompts", f"{name}.yaml")
        if not packaged.is_file():
            raise ConfigError(f"Unknown prompt set {name!r}; use 'hierarchical_v1' or a path to a YAML file.")
        text = packaged.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(f"Prompt set {name!r} must be a YAML mapping.")
    missing = [k for k in ("version", *PROMPT_KEYS) if k not in data]
    if missing:
        raise ConfigError(f"Prompt set {name!r} lacks {missing}.")
    sha = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Prompts(str(data["version"]), {k: str(data[k]) for k in PROMPT_KEYS}, sha)


# -- pure helpers -----------------------------------------------------------------------------------------


def qa_schema(n: int, question_max_chars: int, answer_max_chars: int) -> dict[str, Any]:
    """JSON schema of exactly ``n`` question/answer pairs. The string patterns (a capital first, no quotes,
    backslashes or newlines, bounded length, ``?``/``.`` at the end) are what let a 135M model emit valid
    JSON under constrained decoding."""
    question = f'^[A-Z0-9][^"\\\\\\n]{{6,{question_max_chars - 2}}}[?]$'
    answer = f'^[A-Z0-9][^"\\\\\\n]{{0,{answer_max_chars - 2}}}[.]$'
    return {
        "type": "array",
        "minItems": n,
        "maxItems": n,
        "items": {
            "type": "object",
            "properties": {
                "question": {"type": "string", "pattern": question},
                "answer": {"type": "string", "pattern": answer},
            },
            "required": ["question", "answer"],
        },
    }


def qa_max_tokens(n: int, question_max_chars: int, answer_max_chars: int) -> int:
    """Answer budget of a request for ``n`` pairs: a token per character the schema allows plus the JSON
    around them, so an answer that runs to the schema's limits (a small model repeating digits) still
    closes its JSON instead of being cut off (pure)."""
    return n * (question_max_chars + answer_max_chars + 32) + 8


def _clean(text: Any) -> str:
    return " ".join(str(text or "").split())


def qa_pairs_from(value: Any) -> list[tuple[str, str]]:
    """``(question, answer)`` pairs from a parsed answer: a list of objects (``question``/``answer``, or
    ``q``/``a``), possibly wrapped in ``{"questions": [...]}``; incomplete items are skipped (pure)."""
    items = value
    if isinstance(value, dict):
        items = next((value[k] for k in ("questions", "qa", "items", "pairs") if k in value), [value])
    pairs: list[tuple[str, str]] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        question = _clean(item.get("question") or item.get("q"))
        answer = _clean(item.get("answer") or item.get("a"))
        if question and answer:
            pairs.append((question, answer))
    return pairs


def trim_summary(text: str) -> str:
    """A summary without a ``Summary:`` label and without a sentence cut off by ``max_tokens`` (up to its last
    sentence end, when it has one; pure)."""
    text = _clean(text)
    if text[:8].casefold() == "summary:":  # small models like to label their answer
        text = text[8:].lstrip()
    ends = [i for i, ch in enumerate(text) if ch in ".!?"]
    if not ends or ends[-1] == len(text) - 1:
        return text
    return text[: ends[-1] + 1]


def diverse_choices(
    n_questions: int, kinds: Sequence[str], n_small: int, seed: int
) -> list[tuple[str, tuple[int, ...]]]:
    """``(kind, small-chunk indices)`` of each diverse question of a document (pure, seeded).

    Kinds cycle through a seeded permutation of the pool, so a fixed count covers the pool evenly. A
    two-chunk kind picks two different small chunks (in document order); with a single small chunk it
    becomes ``local_detail``.
    """
    rng = random.Random(seed)
    order = list(kinds)
    rng.shuffle(order)
    choices: list[tuple[str, tuple[int, ...]]] = []
    for i in range(n_questions):
        kind = order[i % len(order)]
        if kind in TWO_CHUNK_TYPES and n_small < 2:
            kind = "local_detail"
        if kind in TWO_CHUNK_TYPES:
            first, second = sorted(rng.sample(range(n_small), 2))
            choices.append((kind, (first, second)))
        else:
            choices.append((kind, (rng.randrange(n_small),)))
    return choices


def revisit_chunk(set_index: int, n_small: int, seed: int) -> tuple[int, int]:
    """``(small-chunk index, variant)`` of revisit set ``set_index`` of a document (pure, seeded): sets walk a
    seeded permutation of the small chunks; after a full round the variant (the sampling seed offset) grows."""
    order = list(range(n_small))
    random.Random(seed).shuffle(order)
    return order[set_index % n_small], set_index // n_small


def revisit_draws(rng: random.Random, n_earlier: int, probability: float) -> list[int]:
    """The earlier documents (indices) revisited after the next one: one seeded draw each, in order."""
    return [j for j in range(n_earlier) if rng.random() < probability]


def small_id(index: int) -> str:
    return f"s{index:03d}"


def medium_id(index: int) -> str:
    return f"m{index:02d}"


def question_text(doc_index: int, question: str) -> str:
    """A question as shown in a row: it names its document (numbered from 1)."""
    return f"About document {doc_index + 1}: {question}"


def revisit_text(doc_index: int, question: str) -> str:
    return f"Back to document {doc_index + 1}: {question}"


def cost_summary(stats: Mapping[str, Any], llm: Mapping[str, Any]) -> dict[str, float]:
    """LLM cost of a run: calls (sent or answered from the cache) and their tokens, per row and per 1M
    context tokens, plus what this run sent, cache hits and unparseable answers (pure; works on merged
    shard reports)."""
    rows = int(stats.get("rows", 0))
    context = int(stats.get("row_tokens", 0))
    calls = int(llm.get("calls", 0))
    call_tokens = int(llm.get("call_tokens_in", 0)) + int(llm.get("call_tokens_out", 0))
    per_million = 1_000_000 / context if context else 0.0
    return {
        "rows": rows,
        "context_tokens": context,
        "llm_calls": calls,
        "llm_requests_sent": int(llm.get("requests", 0)),
        "llm_cache_hits": int(llm.get("cache_hits", 0)),
        "llm_unparseable": int(llm.get("unparseable", 0)),
        "llm_calls_per_row": calls / rows if rows else 0.0,
        "llm_tokens_per_row": call_tokens / rows if rows else 0.0,
        "llm_calls_per_1m_context_tokens": calls * per_million,
        "llm_tokens_per_1m_context_tokens": call_tokens * per_million,
        "llm_tokens_sent": int(llm.get("tokens_in", 0)) + int(llm.get("tokens_out", 0)),
    }


# -- documents --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceDocument:
    """One document of the method: a text, its chunk tree, and the corpus documents it was made from."""

    doc_id: str
    text: str
    tree: ChunkTree
    n_tokens: int
    """Sum of its small chunks' token counts (rows record the exact count of the text as it appears)."""
    members: tuple[str, ...]
    group: str
    fingerprint: str
    """SHA-1 of the text: seeds per-document choices, so the same text gets the same questions anywhere."""


@dataclass
class Stream:
    """Text that is chunked as a whole: one long corpus document, or the documents of a group, joined."""

    key: str
    parts: list[Document]
    standalone: bool = False

    def text_and_offsets(self) -> tuple[str, list[tuple[int, int]]]:
        offsets: list[tuple[int, int]] = []
        pieces: list[str] = []
        position = 0
        for i, part in enumerate(self.parts):
            if i:
                pieces.append(STREAM_SEPARATOR)
                position += len(STREAM_SEPARATOR)
            text = part.text.strip()
            pieces.append(text)
            offsets.append((position, position + len(text)))
            position += len(text)
        return "".join(pieces), offsets


def group_streams(
    documents: Sequence[Document], counts: Sequence[int], grouping: str, group_field: str, min_tokens: int
) -> tuple[list[Stream], Counter[str]]:
    """Corpus documents to streams (pure): a document of at least ``min_tokens`` stands alone; shorter ones
    are grouped by their ``group_field`` value (``grouping="source"``) or skipped (``"none"``). Streams are
    ordered by the position of their first document; ``skipped`` counts reasons."""
    streams: list[Stream] = []
    groups: dict[str, Stream] = {}
    skipped: Counter[str] = Counter()
    for doc, n in zip(documents, counts, strict=True):
        if n >= min_tokens:
            streams.append(Stream(doc.id, [doc], standalone=True))
            continue
        if grouping == "none":
            skipped[f"shorter than min_document_tokens={min_tokens} (grouping=none)"] += 1
            continue
        if group_field not in doc.meta or doc.meta[group_field] in (None, ""):
            fields = sorted(doc.meta) or ["none"]
            raise ConfigError(
                f"Document {doc.id!r} has no {group_field!r} field to group by (its fields: {', '.join(fields)}). "
                "Set group_field to one of them, or grouping to 'none' or 'topic'."
            )
        key = f"{group_field}={doc.meta[group_field]}"
        if key not in groups:
            groups[key] = Stream(key, [])
            streams.append(groups[key])
        groups[key].parts.append(doc)
    return streams, skipped


@dataclass
class DocumentSet:
    """The documents of a run, in run order, with what was not used and why (recorded once per run)."""

    documents: list[SourceDocument]
    skipped: dict[str, Counter[str]] = field(default_factory=dict)
    stats: Counter[str] = field(default_factory=Counter)

    def add_to(self, report: RunReport) -> None:
        for kind, reasons in self.skipped.items():
            for reason, n in reasons.items():
                report.skip(kind, reason, n)
        report.stats.update(self.stats)


def stream_documents(
    stream: Stream, config: HierarchicalConfig, counter: TokenCounter, skipped: Counter[str]
) -> list[SourceDocument]:
    """Chunk a stream and cut it into documents of whole medium chunks (``document_tokens`` at most)."""
    text, offsets = stream.text_and_offsets()
    tree = build_tree(text, config.small_chunk_tokens, config.medium_chunk_size, counter)
    kept, dropped = document_windows(tree.medium_tokens(), config.document_tokens, config.min_document_tokens)
    for _ in dropped:
        skipped[f"part shorter than min_document_tokens={config.min_document_tokens}"] += 1
    documents: list[SourceDocument] = []
    for number, mediums in enumerate(kept, 1):
        start, end, window = sub_tree(tree, mediums)
        members = tuple(
            d.id for d, (s, e) in zip(stream.parts, offsets, strict=True) if s < end and e > start
        )
        if stream.standalone:
            doc_id = stream.key if len(kept) == 1 and not dropped else f"{stream.key}#part{number}"
        else:
            doc_id = f"{stream.key}#{number:03d}"
        body = text[start:end]
        documents.append(
            SourceDocument(
                doc_id=doc_id,
                text=body,
                tree=window,
                n_tokens=window.n_tokens,
                members=members,
                group="" if stream.standalone else stream.key,
                fingerprint=hashlib.sha1(body.encode()).hexdigest(),
            )
        )
    return documents


_DOCUMENT_SETS: dict[str, DocumentSet] = {}


# -- LLM work ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QA:
    """A question/answer pair and where it came from."""

    question: str
    answer: str
    level: str
    kind: str
    chunks: tuple[str, ...]
    """Ids of the chunks it was asked from: ``s003`` (small), ``m01`` (medium), ``doc`` (the document)."""


@dataclass
class DocumentPlan:
    """A document's summaries and its question/answer pairs in reading order (row-independent)."""

    document: SourceDocument
    summaries: dict[str, str]
    qa: list[QA]
    revisits: dict[int, list[QA]] = field(default_factory=dict)


@dataclass
class LLMCounters:
    """What the LLM did for a shard: calls (sent or cached), tokens, failures, fitted inputs."""

    calls: int = 0
    requests: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    call_tokens_in: int = 0
    call_tokens_out: int = 0
    unparseable: int = 0
    context_length: int = 0
    inputs_truncated: int = 0
    inputs_split: int = 0
    summaries_reused: int = 0
    qa_sets_without_material: int = 0
    qa_pairs_missing: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    def add_to(self, report: RunReport) -> None:
        for name in (
            "calls",
            "requests",
            "cache_hits",
            "tokens_in",
            "tokens_out",
            "call_tokens_in",
            "call_tokens_out",
            "unparseable",
            "context_length",
        ):
            report.llm[name] = report.llm.get(name, 0) + getattr(self, name)
        report.count("llm_unparseable_answers", self.unparseable)
        report.count("llm_context_length_skips", self.context_length)
        report.count("llm_inputs_truncated", self.inputs_truncated)
        report.count("llm_inputs_split", self.inputs_split)
        report.count("summaries_reused_single_child", self.summaries_reused)
        report.count("qa_sets_without_material", self.qa_sets_without_material)
        report.count("qa_pairs_missing", self.qa_pairs_missing)
        if self.failures:
            report.extra.setdefault("llm_failures", []).extend(self.failures)


class QAWriter:
    """Summaries and question/answer pairs of documents, from one :class:`ChatLLM` (async, row-independent).

    Every request is fitted into the LLM's context window: a passage that is too long is truncated at a
    token boundary, a list of summaries that is too long is summarized in groups first; both are counted.
    """

    def __init__(self, llm: ChatLLM, config: HierarchicalConfig, counter: TokenCounter) -> None:
        self.llm = llm
        self.config = config
        self.counter = counter
        self.prompts = load_prompts(config.prompts)
        self.counters = LLMCounters()
        self.window = llm.context_window
        self._budgets: dict[tuple[str, int, str], int] = {}
        self._plans: dict[str, DocumentPlan] = {}
        budget = self.budget("summarize_parts", config.summary_max_tokens, parts=[], what="", sentences=0)
        if budget < 2 * config.summary_max_tokens:
            raise ConfigError(
                f"The LLM's context window ({self.window} tokens) cannot hold two summaries of "
                f"summary_max_tokens={config.summary_max_tokens}. Lower summary_max_tokens or use a model with a "
                "larger window (n_ctx)."
            )
        counts = (
            config.global_questions,
            config.medium_questions,
            config.small_questions,
            config.revisit_questions,
        )
        largest = max((1, *counts))
        answer = qa_max_tokens(largest, config.question_max_chars, config.answer_max_chars)
        if self.budget("revisit", answer, n=largest, text="", avoid=[]) < config.summary_max_tokens:
            raise ConfigError(
                f"The LLM's context window ({self.window} tokens) leaves almost no room for the text of a request "
                f"for {largest} questions (answer budget {answer} tokens). Lower the question counts, "
                "question_max_chars or answer_max_chars, or use a model with a larger window (n_ctx)."
            )

    # -- requests -------------------------------------------------------------------------------------

    def budget(self, key: str, max_tokens: int, **empty: Any) -> int:
        """Target-tokenizer tokens of material that fit one request of prompt ``key`` with ``max_tokens``."""
        cache_key = (key, max_tokens, json.dumps(empty, sort_keys=True, default=str))
        if cache_key not in self._budgets:
            ratio = self.config.llm_token_ratio
            overhead = self.counter.count(self.prompts.system + "\n" + self.prompts.render(key, **empty))
            room = self.window - max_tokens - math.ceil(overhead * ratio) - _CHAT_SLACK
            self._budgets[cache_key] = max(0, int(room / ratio))
        return self._budgets[cache_key]

    def fit(self, text: str, n_tokens: int, budget: int) -> str:
        if n_tokens <= budget:
            return text
        self.counters.inputs_truncated += 1
        return truncate_to_tokens(text, max(1, budget), self.counter)

    async def ask(
        self, prompt: str, *, step: str, schema: dict[str, Any] | None, max_tokens: int, seed: int
    ) -> ChatResult | None:
        c = self.config
        messages = [{"role": "system", "content": self.prompts.system}, {"role": "user", "content": prompt}]
        result = await self.llm.chat(
            messages,
            schema=schema,
            temperature=c.temperature,
            top_p=c.top_p,
            max_tokens=max_tokens,
            seed=seed,
        )
        counters = self.counters
        counters.calls += 1
        counters.call_tokens_in += result.usage.prompt_tokens
        counters.call_tokens_out += result.usage.completion_tokens
        if result.cached:
            counters.cache_hits += 1
        else:
            counters.requests += 1
            counters.tokens_in += result.usage.prompt_tokens
            counters.tokens_out += result.usage.completion_tokens
        if result.error is not None:
            counters.context_length += 1
        elif result.parse_error is not None:
            counters.unparseable += 1
        if result.ok:
            return result
        if len(counters.failures) < _FAILURE_RECORDS:
            reason = result.error or result.parse_error or ""
            counters.failures.append({"step": step, "error": reason, "text": result.text[:2000]})
        return None

    async def summarize_chunk(self, text: str, n_tokens: int) -> str:
        max_tokens = self.config.summary_max_tokens
        passage = self.fit(text.strip(), n_tokens, self.budget("summarize_chunk", max_tokens, text=""))
        prompt = self.prompts.render("summarize_chunk", text=passage)
        result = await self.ask(
            prompt, step="summary", schema=None, max_tokens=max_tokens, seed=self.config.seed
        )
        return trim_summary(result.text) if result is not None else ""

    async def summarize_parts(self, parts: Sequence[str], what: str, sentences: int) -> str:
        """One summary of consecutive summaries; a single part is reused as is; too many are grouped."""
        parts = [p for p in parts if p]
        if not parts:
            return ""
        if len(parts) == 1:
            self.counters.summaries_reused += 1
            return parts[0]
        max_tokens = self.config.summary_max_tokens
        budget = self.budget("summarize_parts", max_tokens, parts=[], what=what, sentences=sentences)
        sizes = [self.counter.count(p) + 4 for p in parts]  # + "Part N: "
        if sum(sizes) > budget:
            self.counters.inputs_split += 1
            half = budget // 2 - 4
            fitted = [
                self.fit(p, n - 4, half) if n > budget // 2 else p for p, n in zip(parts, sizes, strict=True)
            ]
            sizes = [min(n, budget // 2) for n in sizes]
            groups = fit_groups(sizes, budget)
            partial = await asyncio.gather(
                *(self.summarize_parts([fitted[i] for i in g], what, sentences) for g in groups)
            )
            return await self.summarize_parts(list(partial), what, sentences)
        prompt = self.prompts.render("summarize_parts", parts=parts, what=what, sentences=sentences)
        result = await self.ask(
            prompt, step="summary", schema=None, max_tokens=max_tokens, seed=self.config.seed
        )
        return trim_summary(result.text) if result is not None else ""

    async def questions(
        self,
        key: str,
        n: int,
        seed: int,
        material: Mapping[str, tuple[str, int]],
        extra: Mapping[str, Any] | None = None,
    ) -> list[tuple[str, str]]:
        """``n`` pairs from prompt ``key``; ``material`` maps a template variable to ``(text, tokens)``."""
        if n <= 0:
            return []
        if any(not text for text, _ in material.values()):
            self.counters.qa_sets_without_material += 1
            return []
        c = self.config
        extra = dict(extra or {})
        max_tokens = qa_max_tokens(n, c.question_max_chars, c.answer_max_chars)
        budget = self.budget(key, max_tokens, n=n, **{name: "" for name in material}, **extra)
        if sum(tokens for _, tokens in material.values()) > budget:
            budget //= len(material)  # several passages share the room evenly
        values = {name: self.fit(text.strip(), tokens, budget) for name, (text, tokens) in material.items()}
        prompt = self.prompts.render(key, n=n, **values, **extra)
        schema = qa_schema(n, c.question_max_chars, c.answer_max_chars)
        result = await self.ask(prompt, step=key, schema=schema, max_tokens=max_tokens, seed=seed)
        pairs = qa_pairs_from(result.parsed)[:n] if result is not None else []
        if result is not None:
            self.counters.qa_pairs_missing += n - len(pairs)  # a backend that ignored the schema's count
        return pairs

    # -- documents ------------------------------------------------------------------------------------

    async def plan(self, document: SourceDocument) -> DocumentPlan:
        """Summaries and QA pairs of one document (memoized until :meth:`forget`)."""
        if document.doc_id in self._plans:
            return self._plans[document.doc_id]
        c = self.config
        tree = document.tree
        texts = [document.text[s.start : s.end] for s in tree.small]
        tokens = [s.n_tokens for s in tree.small]

        def count(text: str) -> int:
            return self.counter.count(text)

        async with asyncio.TaskGroup() as group:
            # Created in reading order, each passage's summary right before its questions, so a backend that
            # reuses a shared prompt prefix (llama.cpp) reads each passage once.
            small_summaries = []
            small_qa = []
            for text, n in zip(texts, tokens, strict=True):
                small_summaries.append(group.create_task(self.summarize_chunk(text, n)))
                small_qa.append(
                    group.create_task(
                        self.questions("questions_small", c.small_questions, c.seed, {"text": (text, n)})
                    )
                )

            async def medium_summary(members: range) -> str:
                parts = [await small_summaries[i] for i in members]
                return await self.summarize_parts(parts, "one section of a long document", 5)

            medium_summaries = [group.create_task(medium_summary(m)) for m in tree.medium]

            async def medium_questions(index: int) -> list[tuple[str, str]]:
                summary = await medium_summaries[index]
                material = {"summary": (summary, count(summary))}
                return await self.questions("questions_medium", c.medium_questions, c.seed, material)

            medium_qa = [group.create_task(medium_questions(i)) for i in range(len(tree.medium))]

            async def document_summary() -> str:
                parts = [await task for task in medium_summaries]
                return await self.summarize_parts(parts, "a whole long document", 6)

            doc_summary = group.create_task(document_summary())

            async def global_questions() -> list[tuple[str, str]]:
                summary = await doc_summary
                material = {"summary": (summary, count(summary))}
                return await self.questions("questions_global", c.global_questions, c.seed, material)

            global_qa = group.create_task(global_questions())
            choices = diverse_choices(
                c.diverse_questions,
                c.question_types,
                len(tree.small),
                seed_for(c.seed, document.fingerprint, "diverse"),
            )

            async def diverse(index: int, kind: str, chunks: tuple[int, ...]) -> list[tuple[str, str]]:
                key = f"diverse_{kind}"
                seed = c.seed + index  # two questions of one kind on one chunk must still differ
                if len(chunks) == 1:
                    return await self.questions(key, 1, seed, {"text": (texts[chunks[0]], tokens[chunks[0]])})
                first, second = chunks
                max_tokens = qa_max_tokens(1, c.question_max_chars, c.answer_max_chars)
                room = self.budget(key, max_tokens, n=1, first="", second="")
                if tokens[first] + tokens[second] <= room:
                    material = {
                        "first": (texts[first], tokens[first]),
                        "second": (texts[second], tokens[second]),
                    }
                else:  # the two passages do not fit one request: ask from their summaries
                    a, b = await small_summaries[first], await small_summaries[second]
                    material = {"first": (a, count(a)), "second": (b, count(b))}
                return await self.questions(key, 1, seed, material)

            diverse_qa = [
                group.create_task(diverse(i, kind, chunks)) for i, (kind, chunks) in enumerate(choices)
            ]

        summaries = {"doc": doc_summary.result()}
        summaries.update({medium_id(i): t.result() for i, t in enumerate(medium_summaries)})
        summaries.update({small_id(i): t.result() for i, t in enumerate(small_summaries)})
        qa = [QA(q, a, "global", "summary", ("doc",)) for q, a in global_qa.result()]
        for m, members in enumerate(tree.medium):
            qa.extend(QA(q, a, "medium", "summary", (medium_id(m),)) for q, a in medium_qa[m].result())
            for i in members:
                qa.extend(QA(q, a, "small", "detail", (small_id(i),)) for q, a in small_qa[i].result())
        for (kind, chunks), task in zip(choices, diverse_qa, strict=True):
            qa.extend(QA(q, a, "diverse", kind, tuple(small_id(i) for i in chunks)) for q, a in task.result())
        plan = DocumentPlan(document, summaries, qa)
        self._plans[document.doc_id] = plan
        return plan

    async def revisit(self, plan: DocumentPlan, set_index: int) -> list[QA]:
        """Revisit set ``set_index`` of a document: new questions about one of its small chunks."""
        if set_index in plan.revisits:
            return plan.revisits[set_index]
        c = self.config
        document = plan.document
        index, variant = revisit_chunk(
            set_index, len(document.tree.small), seed_for(c.seed, document.fingerprint, "revisit")
        )
        span = document.tree.small[index]
        chunk = small_id(index)
        avoid = [qa.question for qa in plan.qa if qa.level == "small" and qa.chunks == (chunk,)]
        pairs = await self.questions(
            "revisit",
            c.revisit_questions,
            c.seed + variant,
            {"text": (document.text[span.start : span.end], span.n_tokens)},
            {"avoid": avoid},
        )
        plan.revisits[set_index] = [QA(q, a, "revisit", "detail", (chunk,)) for q, a in pairs]
        return plan.revisits[set_index]

    def plans(self, documents: Sequence[SourceDocument], advance: Any = None) -> list[DocumentPlan]:
        """:meth:`plan` for several documents at once (their requests run concurrently)."""

        async def one(document: SourceDocument) -> DocumentPlan:
            plan = await self.plan(document)
            if advance is not None:
                advance(1)
            return plan

        async def run_all() -> list[DocumentPlan]:
            return list(await asyncio.gather(*(one(d) for d in documents)))

        return run_sync(run_all())

    def revisits(self, wanted: Sequence[tuple[DocumentPlan, int]]) -> list[list[QA]]:
        async def run_all() -> list[list[QA]]:
            return list(await asyncio.gather(*(self.revisit(plan, k) for plan, k in wanted)))

        return run_sync(run_all()) if wanted else []

    def forget(self, document: SourceDocument) -> None:
        self._plans.pop(document.doc_id, None)

    def close(self) -> None:
        run_sync(self.llm.aclose())


# -- the strategy -----------------------------------------------------------------------------------------


@dataclass
class _RowDraft:
    blocks: list[str] = field(default_factory=list)
    turns: list[QATurn] = field(default_factory=list)
    sources: list[tuple[str, ...]] = field(default_factory=list)
    plans: list[DocumentPlan] = field(default_factory=list)
    next_revisit: list[int] = field(default_factory=list)


class HierarchicalStrategy:
    """See the module docstring. Yields finished instruction rows (``row_kind = "instruction"``).

    ``llm``: the LLM to use instead of the configured role ``qa`` (tests and benchmarks inject one).
    """

    name: ClassVar[str] = STRATEGY
    row_kind: ClassVar[str] = "instruction"

    def __init__(self, config: BaseConfig, *, llm: ChatLLM | None = None) -> None:
        if not isinstance(config, HierarchicalConfig):
            raise TypeError("HierarchicalStrategy needs a HierarchicalConfig")
        self.config: HierarchicalConfig = config
        self._llm = llm

    # -- checks and resources -------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise now for a missing topics file, an unusable chat template or a bad prompt set."""
        c = self.config
        load_prompts(c.prompts)
        chat_format(c.tokenizer, c.chat_template)
        if c.grouping == "topic":
            if not c.topics_file and not c.topic_queries:
                raise ConfigError(
                    "grouping=topic needs topics_file (from `litelong-hf topics`) or topic_queries."
                )
            if c.topics_file and not Path(c.topics_file).is_file():
                raise ConfigError(
                    f"topics_file {c.topics_file} does not exist; write it with `litelong-hf topics`."
                )

    def num_work_items(self) -> int:
        """Documents of the run (shards take contiguous slices of them)."""
        return len(self.document_set().documents)

    def bundles(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Any]:
        raise TypeError("hierarchical QA yields finished instruction rows: call instruction_rows().")

    def document_set(self) -> DocumentSet:
        """Every document of the run in run order (a seeded shuffle), built once per process."""
        c = self.config
        key = json.dumps(
            [
                c.corpus_config().fingerprint(),
                c.tokenizer,
                c.grouping,
                c.group_field,
                c.topics_file,
                c.topic_queries,
                c.documents_per_topic,
                c.max_hits,
                c.min_document_tokens,
                c.document_tokens,
                c.small_chunk_tokens,
                c.medium_chunk_size,
                c.seed,
                c.index_config().fingerprint(),
                c.cache_dir,
            ],
            default=str,
        )
        if key not in _DOCUMENT_SETS:
            _DOCUMENT_SETS[key] = self._build_document_set()
        return _DOCUMENT_SETS[key]

    def _build_document_set(self) -> DocumentSet:
        c = self.config
        counter = TokenCounter.get(c.tokenizer)
        corpus_report = RunReport()
        skipped: Counter[str] = Counter()
        if c.grouping == "topic":
            streams = self._topic_streams(counter, corpus_report)
        else:
            docs = load_documents(c.corpus_config(), corpus_report)
            counts = counter.count_batch([d.text.strip() for d in docs])
            streams, skipped = group_streams(docs, counts, c.grouping, c.group_field, c.min_document_tokens)
        documents: list[SourceDocument] = []
        with progress_bar("Chunking documents", total=len(streams), unit="streams") as advance:
            for stream in streams:
                documents.extend(stream_documents(stream, c, counter, skipped))
                advance(1)
        random.Random(seed_for(c.seed, "hierarchical-documents")).shuffle(documents)
        result = DocumentSet(documents, skipped={k: Counter(v) for k, v in corpus_report.skipped.items()})
        if skipped:
            result.skipped.setdefault("document", Counter()).update(skipped)
        result.stats.update(corpus_report.stats)
        result.stats["hierarchical_documents"] = len(documents)
        result.stats["hierarchical_document_tokens"] = sum(d.n_tokens for d in documents)
        return result

    def topic_titles(self) -> list[str]:
        c = self.config
        titles = list(c.topic_queries or [])
        if c.topics_file:
            path = Path(c.topics_file)
            if not path.is_file():
                raise ConfigError(f"topics_file {path} does not exist; write it with `litelong-hf topics`.")
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    titles.append(str(item.get("title") or item["topic"]))
                except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                    raise ConfigError(
                        f"{path}:{number}: expected a JSON object with a title ({exc})."
                    ) from exc
        if not titles:
            raise ConfigError(
                "grouping=topic needs topics_file (from `litelong-hf topics`) or topic_queries."
            )
        return titles

    def _topic_streams(self, counter: TokenCounter, report: RunReport) -> list[Stream]:
        """One stream per topic: its BM25 hits (deduplicated, seeded order, each document used once)."""
        from .litelong import LiteLongConfig, LiteLongStrategy, hits_needed, order_documents

        c = self.config
        shared = {
            f.name: getattr(c, f.name) for f in dataclasses.fields(BaseConfig) if f.name not in ("strategy",)
        }
        litelong = LiteLongStrategy(LiteLongConfig(**shared))
        index, docs = litelong.corpus()
        titles = self.topic_titles()
        wanted = c.document_tokens * c.documents_per_topic
        k = hits_needed(1, wanted, litelong.mean_doc_tokens(docs), 1.5, c.max_hits)
        texts = {doc_id: d.text for doc_id, d in docs.items()}
        used: set[str] = set()
        streams: list[Stream] = []
        for title, hits in zip(titles, index.search(titles, k=k), strict=True):
            ordered = [
                h
                for h in order_documents(hits, texts, "shuffle", seed_for(c.seed, title))
                if h.doc_id not in used
            ]
            counts = counter.count_batch([docs[h.doc_id].text for h in ordered])
            parts: list[Document] = []
            total = 0
            for hit, n in zip(ordered, counts, strict=True):
                if total >= wanted:
                    break
                parts.append(docs[hit.doc_id])
                total += n
            if not parts:
                report.skip("topic", "zero BM25 hits (or all hits used by earlier topics)")
                continue
            used.update(d.id for d in parts)
            streams.append(Stream(f"topic={title}", parts))
        return streams

    def _writer(self) -> QAWriter:
        c = self.config
        llm = self._llm
        if llm is None:
            cache = Path(c.cache_dir) / "llm" if c.cache_dir else None
            llm = build_llms(c.roles_config(), cache=cache, needed=("qa",))["qa"]
        return QAWriter(llm, c, TokenCounter.get(c.tokenizer))

    # -- rows -----------------------------------------------------------------------------------------

    def instruction_rows(
        self, shard: int, num_shards: int, report: RunReport, row_quota: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The finished instruction rows of shard ``shard``, at most ``row_quota`` of them."""
        c = self.config
        documents = self.document_set()
        if shard == 0:
            documents.add_to(report)  # corpus-wide counts: once per run, not once per shard
        queue = deque(
            documents.documents[i] for i in shard_slice(len(documents.documents), shard, num_shards)
        )
        if not queue or row_quota == 0:
            return
        fmt = chat_format(c.tokenizer, c.chat_template)
        writer = self._writer()
        prompts = load_prompts(c.prompts)
        report.extra.setdefault("models", {"qa": writer.llm.model_id})
        report.extra.setdefault("prompt_versions", {STRATEGY: f"{prompts.version}@{prompts.sha}"})
        report.extra.setdefault("chat_format", fmt.name)
        made = 0
        try:
            with progress_bar("Hierarchical QA", total=len(queue), unit="docs") as advance:
                while queue and (row_quota is None or made < row_quota):
                    left = sum(d.n_tokens for d in queue)
                    if left < c.min_row_fill * c.target_tokens:
                        reason = f"not enough documents left to fill a row (min_row_fill={c.min_row_fill})"
                        report.skip("document", reason, len(queue))
                        queue.clear()
                        break
                    built = self._next_row(queue, shard, made, writer, fmt, report, advance)
                    if built is None:
                        continue
                    row, transcript = built
                    made += 1
                    report.count("rows")
                    report.count("row_tokens", row["n_tokens"])
                    report.count("documents_in_rows", len(row["documents"]))
                    for question in row["questions"]:
                        report.count(f"questions_{question['level']}")
                    report.extra.setdefault("transcripts", []).append(transcript)
                    yield row
        finally:
            writer.close()
            writer.counters.add_to(report)
            report.extra["cost"] = cost_summary(report.stats, report.llm)

    def _prepare(self, queue: deque[SourceDocument], writer: QAWriter, limit: int) -> None:
        """Start the LLM work of the documents this row will probably hold, all at once (concurrently)."""
        c = self.config
        chosen: list[SourceDocument] = []
        total = 0
        for document in queue:
            if len(chosen) >= limit:
                break
            questions = (
                c.global_questions + c.diverse_questions + len(document.tree.medium) * c.medium_questions
            )
            questions += len(document.tree.small) * c.small_questions
            cost = document.n_tokens + questions * QA_TURN_ESTIMATE
            if chosen and total + cost > c.target_tokens:
                break
            chosen.append(document)
            total += cost
        writer.plans(chosen)

    def _next_row(
        self,
        queue: deque[SourceDocument],
        shard: int,
        index: int,
        writer: QAWriter,
        fmt: ChatFormat,
        report: RunReport,
        advance: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Fill one row from the head of ``queue``: documents in order while they and their turns fit."""
        c = self.config
        limit = c.max_documents_per_row or len(queue)
        self._prepare(queue, writer, limit)
        rng = random.Random(seed_for(c.seed, "hierarchical-row", shard, index))
        budget = ChatBudget(fmt)
        draft = _RowDraft()
        while queue and len(draft.plans) < limit:
            document = queue[0]
            k = len(draft.plans)
            block = document_block(k + 1, document.text)
            block_tokens = budget.block_tokens(block)
            fits = budget.used + block_tokens <= c.target_tokens
            if fits:
                plan = writer.plans([document])[0]
                own = [
                    QATurn(question_text(k, qa.question), qa.answer, qa.level, qa.kind, k) for qa in plan.qa
                ]
                sources = [qa.chunks for qa in plan.qa]
                draws = revisit_draws(rng, k, c.revisit_probability)
                sets = writer.revisits([(draft.plans[j], draft.next_revisit[j]) for j in draws])
                for j, qas in zip(draws, sets, strict=True):
                    own.extend(
                        QATurn(revisit_text(j, qa.question), qa.answer, qa.level, qa.kind, j) for qa in qas
                    )
                    sources.extend(qa.chunks for qa in qas)
                cost = block_tokens + budget.turns_tokens(own, first_turn=budget.turns)
                fits = budget.used + cost <= c.target_tokens
            if not fits:
                if k > 0:
                    break
                report.skip("document", "longer than target_tokens together with its questions")
                writer.forget(queue.popleft())
                advance(1)
                continue
            writer.forget(queue.popleft())
            advance(1)
            budget.add(cost, len(own))
            draft.blocks.append(block)
            draft.turns.extend(own)
            draft.sources.extend(sources)
            for j in draws:
                draft.next_revisit[j] += 1
            draft.plans.append(plan)
            draft.next_revisit.append(0)
            report.count("revisit_sets", len(draws))
        if not draft.plans:
            return None
        if not draft.turns:
            report.skip("row", "no question/answer turns (every LLM answer was unparseable)")
            return None
        messages, kept, n_tokens = fit_messages(fmt, draft.blocks, draft.turns, c.target_tokens)
        if len(kept) < len(draft.turns):
            report.skip("question", "dropped to fit target_tokens", len(draft.turns) - len(kept))
        if n_tokens != budget.used and fmt.additive:
            report.count("rows_planned_inexactly")
        chash = c.config_hash()
        rid = row_id(chash, shard, index)
        row = instruction_row(
            id=rid,
            messages=messages,
            n_tokens=n_tokens,
            documents=[(p.document.doc_id, fmt.text_tokens(p.document.text.strip())) for p in draft.plans],
            turns=kept,
            tokenizer=c.tokenizer,
            strategy=STRATEGY,
            config_hash=chash,
        )
        transcript = {
            "row_id": rid,
            "documents": [document_record(p) for p in draft.plans],
            "turns": [
                {"level": t.level, "kind": t.kind, "doc_index": t.doc_index, "chunks": list(s)}
                for t, s in zip(kept, draft.sources, strict=False)
            ],
        }
        return row, transcript


def document_record(plan: DocumentPlan) -> dict[str, Any]:
    """A document's provenance for the shard transcript: members, chunk spans (with a hash of each chunk's
    stripped text, to find it in the row) and summaries."""
    document = plan.document
    tree = document.tree

    def digest(start: int, end: int) -> str:
        return hashlib.sha1(document.text[start:end].strip().encode()).hexdigest()

    return {
        "doc_id": document.doc_id,
        "group": document.group,
        "members": list(document.members),
        "n_tokens": document.n_tokens,
        "small": [
            {
                "id": small_id(i),
                "start": s.start,
                "end": s.end,
                "n_tokens": s.n_tokens,
                "sha1": digest(s.start, s.end),
            }
            for i, s in enumerate(tree.small)
        ],
        "medium": [
            {
                "id": medium_id(m),
                "small": [small_id(i) for i in members],
                "start": tree.medium_span(m)[0],
                "end": tree.medium_span(m)[1],
                "sha1": digest(*tree.medium_span(m)),
            }
            for m, members in enumerate(tree.medium)
        ],
        "summaries": plan.summaries,
    }


def _register() -> None:
    from . import register

    register(STRATEGY, HierarchicalConfig, HierarchicalStrategy)


_register()
