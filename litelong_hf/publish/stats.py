"""Statistics of one config's rows, as the dataset card shows them.

Pure functions over plain values (:func:`summarize`, :func:`histogram_counts`, :func:`source_reuse`,
:func:`stats_from_batches`); :func:`compute_stats` is the one place that reads a ``datasets.Dataset``
(light columns only: never ``text``, ``input_ids`` or message contents).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import datasets

__all__ = [
    "INSTRUCTION_COLUMNS",
    "PRETRAINING_COLUMNS",
    "ConfigStats",
    "ReuseStats",
    "RowSchema",
    "Summary",
    "compute_stats",
    "detect_row_schema",
    "histogram_counts",
    "size_category",
    "source_reuse",
    "stats_from_batches",
    "summarize",
]

RowSchema = Literal["pretraining", "instruction"]

PRETRAINING_COLUMNS: tuple[str, ...] = (
    "id",
    "text",
    "input_ids",
    "n_tokens",
    "piece_lengths",
    "sources",
    "tokenizer",
    "strategy",
    "config_hash",
)
"""Columns every pretraining row has (``topic`` is optional: NExtLong rows have none)."""

INSTRUCTION_COLUMNS: tuple[str, ...] = (
    "id",
    "messages",
    "n_tokens",
    "documents",
    "questions",
    "tokenizer",
    "strategy",
    "config_hash",
)
"""Columns every instruction (hierarchical QA) row has."""

_LIGHT_COLUMNS: dict[RowSchema, tuple[str, ...]] = {
    "pretraining": ("n_tokens", "piece_lengths", "sources", "tokenizer", "strategy", "config_hash"),
    "instruction": ("n_tokens", "messages", "documents", "questions", "tokenizer", "strategy", "config_hash"),
}

_SIZE_CATEGORIES: tuple[tuple[float, str], ...] = (
    (1e3, "n<1K"),
    (1e4, "1K<n<10K"),
    (1e5, "10K<n<100K"),
    (1e6, "100K<n<1M"),
    (1e7, "1M<n<10M"),
    (1e8, "10M<n<100M"),
    (1e9, "100M<n<1B"),
    (1e10, "1B<n<10B"),
    (1e11, "10B<n<100B"),
    (1e12, "100B<n<1T"),
)


@dataclass(frozen=True)
class Summary:
    """Count, min, max, mean and median of a list of numbers (all zero when it is empty)."""

    count: int
    minimum: float
    maximum: float
    mean: float
    median: float


def summarize(values: Sequence[float] | Sequence[int]) -> Summary:
    """Summarize numbers. ``summarize([1, 2, 6])`` → ``Summary(count=3, minimum=1, maximum=6, mean=3, median=2)``."""
    if len(values) == 0:
        return Summary(0, 0, 0, 0.0, 0.0)
    return Summary(
        count=len(values),
        minimum=min(values),
        maximum=max(values),
        mean=float(statistics.fmean(values)),
        median=float(statistics.median(values)),
    )


def histogram_counts(
    values: Sequence[float] | Sequence[int], bins: int = 20
) -> list[tuple[float, float, int]]:
    """Equal-width histogram as ``(low, high, count)`` triples; the last bin includes its upper edge.

    All-equal values (pretraining rows all have ``target_tokens``) give a single bin.
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if len(values) == 0:
        return []
    low, high = float(min(values)), float(max(values))
    if low == high:
        return [(low, high, len(values))]
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        index = min(int((value - low) / width), bins - 1)
        counts[index] += 1
    edges = [low + i * width for i in range(bins)] + [high]
    return [(edges[i], edges[i + 1], c) for i, c in enumerate(counts)]


@dataclass(frozen=True)
class ReuseStats:
    """How often source documents are reused across rows.

    ``distribution[k]`` is the number of documents that appear in exactly ``k`` rows; ``top`` lists the
    most reused documents as ``(doc_id, rows)``.
    """

    unique_documents: int
    total_uses: int
    mean_rows_per_document: float
    max_rows_per_document: int
    distribution: dict[int, int]
    top: list[tuple[str, int]]

    @property
    def reused_documents(self) -> int:
        """Documents that appear in more than one row."""
        return sum(n for rows, n in self.distribution.items() if rows > 1)


def source_reuse(doc_ids_per_row: Iterable[Iterable[str]], top: int = 5) -> ReuseStats:
    """Count, for each source document, the number of distinct rows it appears in.

    >>> source_reuse([["a", "b"], ["a"], ["a", "a"]]).distribution
    {1: 1, 3: 1}
    """
    rows_per_doc: Counter[str] = Counter()
    for ids in doc_ids_per_row:
        rows_per_doc.update(dict.fromkeys(ids, 1))
    if not rows_per_doc:
        return ReuseStats(0, 0, 0.0, 0, {}, [])
    distribution = Counter(rows_per_doc.values())
    total = sum(rows_per_doc.values())
    ranked = sorted(rows_per_doc.items(), key=lambda item: (-item[1], item[0]))[:top]
    return ReuseStats(
        unique_documents=len(rows_per_doc),
        total_uses=total,
        mean_rows_per_document=total / len(rows_per_doc),
        max_rows_per_document=max(rows_per_doc.values()),
        distribution=dict(sorted(distribution.items())),
        top=ranked,
    )


def size_category(num_rows: int) -> str:
    """The Hub's ``size_categories`` bucket for a number of rows (``1234`` → ``"1K<n<10K"``)."""
    for bound, label in _SIZE_CATEGORIES:
        if num_rows < bound:
            return label
    return "n>1T"


def detect_row_schema(columns: Iterable[str]) -> RowSchema | None:
    """``"instruction"`` if the rows have ``messages``, ``"pretraining"`` if they have ``input_ids``/``text``."""
    names = set(columns)
    if "messages" in names:
        return "instruction"
    if "input_ids" in names or "text" in names:
        return "pretraining"
    return None


@dataclass
class ConfigStats:
    """Statistics of one config's rows, as shown in its card section."""

    config_name: str
    schema: RowSchema
    num_rows: int
    total_tokens: int
    row_tokens: Summary
    piece_tokens: Summary
    docs_per_row: Summary
    reuse: ReuseStats
    roles: dict[str, int] = field(default_factory=dict)
    questions_per_row: Summary | None = None
    turns_per_row: Summary | None = None
    question_levels: dict[str, int] = field(default_factory=dict)
    question_kinds: dict[str, int] = field(default_factory=dict)
    tokenizers: list[str] = field(default_factory=list)
    strategies: list[str] = field(default_factory=list)
    config_hashes: list[str] = field(default_factory=list)
    row_lengths: list[int] = field(default_factory=list, repr=False)
    piece_lengths: list[int] = field(default_factory=list, repr=False)


def stats_from_batches(
    batches: Iterable[Mapping[str, Sequence[Any]]], schema: RowSchema, config_name: str
) -> ConfigStats:
    """Statistics from column batches (``{column: [values]}``) of the light columns of one config.

    Pretraining batches need ``n_tokens`` and ``piece_lengths`` (``sources`` when present: without it every
    piece counts as one document); instruction batches need
    ``n_tokens``, ``documents``, ``questions`` and either ``turns`` (messages per row) or ``messages``.
    ``tokenizer``/``strategy``/``config_hash`` are used when present.
    """
    row_lengths: list[int] = []
    piece_lengths: list[int] = []
    docs_per_row: list[int] = []
    questions_per_row: list[int] = []
    turns_per_row: list[int] = []
    doc_ids: list[list[str]] = []
    roles: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    provenance: dict[str, Counter[str]] = {
        "tokenizer": Counter(),
        "strategy": Counter(),
        "config_hash": Counter(),
    }
    for batch in batches:
        row_lengths.extend(int(n) for n in batch["n_tokens"])
        for key, counter in provenance.items():
            counter.update(str(v) for v in batch.get(key, []) if v is not None)
        if schema == "pretraining":
            pieces_per_row = [list(pieces or []) for pieces in batch.get("piece_lengths", [])]
            for pieces in pieces_per_row:
                piece_lengths.extend(int(p) for p in pieces)
            if "sources" not in batch:
                # Rows without provenance (a short-data corpus packed by hand): one document per piece.
                docs_per_row.extend(len(pieces) for pieces in pieces_per_row)
                continue
            for sources in batch["sources"]:
                sources = sources or []
                docs_per_row.append(len(sources))
                roles.update(str(s.get("role")) for s in sources)
                doc_ids.append([str(s.get("doc_id")) for s in sources])
        else:
            for documents in batch["documents"]:
                documents = documents or []
                docs_per_row.append(len(documents))
                piece_lengths.extend(int(d.get("n_tokens") or 0) for d in documents)
                doc_ids.append([str(d.get("doc_id")) for d in documents])
            for questions in batch["questions"]:
                questions = questions or []
                questions_per_row.append(len(questions))
                levels.update(str(q.get("level")) for q in questions)
                kinds.update(str(q.get("kind")) for q in questions)
            if "turns" in batch:
                turns_per_row.extend(int(t or 0) for t in batch["turns"])
            else:
                turns_per_row.extend(len(messages or []) for messages in batch["messages"])
    instruction = schema == "instruction"
    return ConfigStats(
        config_name=config_name,
        schema=schema,
        num_rows=len(row_lengths),
        total_tokens=sum(row_lengths),
        row_tokens=summarize(row_lengths),
        piece_tokens=summarize(piece_lengths),
        docs_per_row=summarize(docs_per_row),
        reuse=source_reuse(doc_ids),
        roles=dict(sorted(roles.items())),
        questions_per_row=summarize(questions_per_row) if instruction else None,
        turns_per_row=summarize(turns_per_row) if instruction else None,
        question_levels=dict(sorted(levels.items())),
        question_kinds=dict(sorted(kinds.items())),
        tokenizers=sorted(provenance["tokenizer"]),
        strategies=sorted(provenance["strategy"]),
        config_hashes=sorted(provenance["config_hash"]),
        row_lengths=row_lengths,
        piece_lengths=piece_lengths,
    )


def compute_stats(
    dataset: datasets.Dataset, config_name: str, schema: RowSchema, *, batch_size: int = 64
) -> ConfigStats:
    """Statistics of a dataset's rows, reading only light columns (never ``text``, ``input_ids`` or the
    message contents: the number of chat turns comes from the Arrow list lengths)."""
    import pyarrow.compute as pc

    wanted = [c for c in _LIGHT_COLUMNS[schema] if c in dataset.column_names]
    light = dataset.select_columns(wanted).with_format("arrow")

    def batches() -> Iterator[Mapping[str, Sequence[Any]]]:
        for table in light.iter(batch_size=batch_size):
            batch: dict[str, Sequence[Any]] = {}
            for name in table.column_names:
                if name == "messages":
                    batch["turns"] = pc.list_value_length(table[name]).to_pylist()
                else:
                    batch[name] = table[name].to_pylist()
            yield batch

    return stats_from_batches(batches(), schema, config_name)
