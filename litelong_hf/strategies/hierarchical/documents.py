"""Hierarchical QA's documents: long corpus documents as they are, short ones grouped into long ones.

A *stream* is text chunked as a whole: one long corpus document, or short documents joined with a blank line
(a LiteLong topic bundle by default, or the documents sharing a meta field). A stream is cut into a chunk
tree and then into documents of whole medium chunks (:func:`stream_documents`); each document remembers
the corpus documents it holds (:class:`Member`, character spans in its text), so rows record real corpus ids.

Topic bundles reuse LiteLong's retrieval (its BM25 index of the corpus, ``hits_needed`` and the seeded,
deduplicated ``order_documents``): each topic title is a query; hits scoring at least ``min_relative_score``
of the topic's best hit and not used by an earlier topic are joined until ``documents_per_topic`` documents'
worth of text. Titles come from ``topics_file`` / ``topic_queries``, else from the taxonomy's subject
headings (``POLITICAL SCIENCE / Political Process / Elections``), in a seeded order.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...config import ConfigError
from ...corpus import Document, load_documents
from ...progress import progress_bar
from ...report import RunReport
from ...tokens import TokenCounter
from ..chunk_tree import ChunkTree, build_tree, document_windows, sub_tree
from ..common import hits_needed, order_documents, seed_for
from ..context import StrategyContext
from .config import HierarchicalConfig

STREAM_SEPARATOR = "\n\n"
"""Between the documents of a group (a paragraph boundary, so small chunks are cut there first)."""


@dataclass(frozen=True)
class Member:
    """A corpus document (or the part of it) inside a document's text: ``text[start:end]``."""

    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class SourceDocument:
    """One document of the method: a text, its chunk tree, and the corpus documents it was made from."""

    key: str
    """Unique within a run: the corpus id, ``<id>#part2`` for a split one, or ``<group>#001``."""
    text: str
    tree: ChunkTree
    n_tokens: int
    """Sum of its small chunks' token counts."""
    members: tuple[Member, ...]
    group: str
    """The group key (``topic=<title>``, ``source=<value>``) or empty for a standalone corpus document."""
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
) -> tuple[list[Stream], list[Document], Counter[str]]:
    """Corpus documents to streams (pure): a document of at least ``min_tokens`` stands alone; shorter ones
    are grouped by their ``group_field`` value (``"source"``), left for topic bundles (``"topic"``: returned
    as the second value) or skipped (``"none"``). Streams keep corpus order; ``skipped`` counts reasons."""
    streams: list[Stream] = []
    short: list[Document] = []
    groups: dict[str, Stream] = {}
    skipped: Counter[str] = Counter()
    for doc, n in zip(documents, counts, strict=True):
        if n >= min_tokens:
            streams.append(Stream(doc.id, [doc], standalone=True))
        elif grouping == "none":
            skipped[f"shorter than min_document_tokens={min_tokens} (grouping=none)"] += 1
        elif grouping == "topic":
            short.append(doc)
        else:
            value = doc.meta.get(group_field)
            if value in (None, ""):
                fields = sorted(doc.meta) or ["none"]
                raise ConfigError(
                    f"Document {doc.id!r} has no {group_field!r} field to group by (its fields: "
                    f"{', '.join(fields)}). Set group_field to one of them, or grouping to 'topic' or 'none'."
                )
            key = f"{group_field}={value}"
            if key not in groups:
                groups[key] = Stream(key, [])
                streams.append(groups[key])
            groups[key].parts.append(doc)
    return streams, short, skipped


def stream_documents(
    stream: Stream, config: HierarchicalConfig, counter: TokenCounter, skipped: Counter[str]
) -> list[SourceDocument]:
    """Chunk a stream and cut it into documents of whole medium chunks (``document_tokens`` at most)."""
    text, offsets = stream.text_and_offsets()
    tree = build_tree(text, config.small_chunk_tokens, config.medium_chunk_size, counter)
    kept, dropped = document_windows(tree.medium_tokens(), config.doc_tokens, config.min_doc_tokens)
    for _ in dropped:
        skipped[f"part shorter than min_document_tokens={config.min_document_tokens}"] += 1
    documents: list[SourceDocument] = []
    for number, mediums in enumerate(kept, 1):
        start, end, window = sub_tree(tree, mediums)
        members = tuple(
            Member(d.id, max(s, start) - start, min(e, end) - start)
            for d, (s, e) in zip(stream.parts, offsets, strict=True)
            if s < end and e > start and text[max(s, start) : min(e, end)].strip()
        )
        if stream.standalone:
            key = stream.key if len(kept) == 1 and not dropped else f"{stream.key}#part{number}"
        else:
            key = f"{stream.key}#{number:03d}"
        body = text[start:end]
        documents.append(
            SourceDocument(
                key=key,
                text=body,
                tree=window,
                n_tokens=window.n_tokens,
                members=members,
                group="" if stream.standalone else stream.key,
                fingerprint=hashlib.sha1(body.encode()).hexdigest(),
            )
        )
    return documents


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


def topic_titles(config: HierarchicalConfig) -> list[str]:
    """Topic titles of ``grouping: topic``: ``topic_queries`` and ``topics_file``, else the taxonomy's
    subject headings; a seeded order, at most ``max_topics``."""
    from ...layout import TopicsFileError, read_topics
    from ...taxonomy import load_taxonomy, select_entries

    c = config
    titles = list(c.topic_queries or [])
    if c.topics_file:
        if not Path(c.topics_file).is_file():
            raise ConfigError(
                f"topics_file {c.topics_file} does not exist; write it with `litelong-hf topics`."
            )
        try:
            titles.extend(str(t.get("title") or t.get("topic") or "") for t in read_topics(c.topics_file))
        except TopicsFileError as exc:
            raise ConfigError(str(exc)) from None
    titles = [t for t in titles if t.strip()]
    if not titles and not (c.topic_queries or c.topics_file):
        titles = [e.key for e in select_entries(load_taxonomy(c.taxonomy), seed=c.seed)]
        random.Random(c.seed).shuffle(titles)
    if not titles:
        raise ConfigError(f"{c.topics_file or 'topic_queries'} holds no topic title; give at least one.")
    return titles[: c.max_topics] if c.max_topics else titles


def topic_streams(
    config: HierarchicalConfig,
    short: Sequence[Document],
    tokens: dict[str, int],
    report: RunReport,
    context: StrategyContext,
) -> list[Stream]:
    """One stream per topic: its relevant BM25 hits among ``short`` documents (``tokens``: their token
    counts), each corpus document used by one topic only. The index is the corpus's document index that
    ``context`` opens (the one LiteLong searches too)."""
    c = config
    index, _ = context.document_index(c.corpus_config(), c.index_config())
    docs = {d.id: d for d in short}
    texts = {d.id: d.text for d in short}
    titles = topic_titles(c)
    wanted = c.doc_tokens * c.documents_per_topic
    mean = sum(tokens.values()) / max(1, len(tokens))
    k = min(len(index.doc_ids), 2 * hits_needed(1, wanted, mean, 1.5, c.max_hits))
    used: set[str] = set()
    streams: list[Stream] = []
    with progress_bar("Topic bundles", total=len(titles), unit="topics") as advance:
        for title, hits in zip(titles, index.search(titles, k=k), strict=True):
            advance(1)
            floor = c.min_relative_score * hits[0].score if hits else 0.0
            relevant = [h for h in hits if h.score >= floor and h.doc_id in tokens and h.doc_id not in used]
            parts: list[Document] = []
            total = 0
            for hit in order_documents(relevant, texts, "shuffle", seed_for(c.seed, title)):
                if total >= wanted:
                    break
                parts.append(docs[hit.doc_id])
                total += tokens[hit.doc_id]
            if total < c.min_doc_tokens:
                report.skip(
                    "topic", f"relevant BM25 hits fill less than min_document_tokens={c.min_document_tokens}"
                )
                continue
            used.update(d.id for d in parts)
            streams.append(Stream(f"topic={title}", parts))
    report.count("topic_bundles", len(streams))
    report.count("documents_in_topic_bundles", len(used))
    return streams


def document_set_key(c: HierarchicalConfig) -> str:
    """What the documents of a run depend on (the process-wide cache key of :func:`build_document_set`)."""
    return json.dumps(
        [
            c.corpus_config().fingerprint(),
            c.index_config().fingerprint(),
            c.tokenizer,
            c.grouping,
            c.group_field,
            c.topics_file,
            c.topic_queries,
            c.taxonomy,
            c.max_topics,
            c.documents_per_topic,
            c.max_hits,
            c.min_relative_score,
            c.min_document_tokens,
            c.document_tokens,
            c.small_chunk_tokens,
            c.medium_chunk_size,
            c.seed,
            c.cache_dir,
        ],
        default=str,
    )


_DOCUMENT_SETS: dict[str, DocumentSet] = {}


def build_document_set(config: HierarchicalConfig, context: StrategyContext) -> DocumentSet:
    """Every document of the run in run order (a seeded shuffle), built once per process; the BM25 index
    of ``grouping: topic`` comes from ``context``."""
    key = document_set_key(config)
    if key not in _DOCUMENT_SETS:
        _DOCUMENT_SETS[key] = _build(config, context)
    return _DOCUMENT_SETS[key]


def _build(c: HierarchicalConfig, context: StrategyContext) -> DocumentSet:
    counter = TokenCounter.get(c.tokenizer)
    corpus_report = RunReport()
    docs = load_documents(c.corpus_config(), corpus_report)
    counts = counter.count_batch([d.text.strip() for d in docs])
    streams, short, skipped = group_streams(docs, counts, c.grouping, c.group_field, c.min_doc_tokens)
    if c.grouping == "topic":
        counted = {d.id: n for d, n in zip(docs, counts, strict=True)}
        streams.extend(topic_streams(c, short, {d.id: counted[d.id] for d in short}, corpus_report, context))
        unused = len(short) - corpus_report.stats.get("documents_in_topic_bundles", 0)
        if unused:
            skipped["short and in no topic bundle"] += unused
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
