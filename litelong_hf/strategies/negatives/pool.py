"""The chunk pool: every non-blank chunk of some documents, with owners, token counts and content classes.

Chunk ids are ``"{doc_id}#c{index:04d}"`` with ``index`` the chunk's position in
:func:`~litelong_hf.strategies.chunking.chunk_text` of its document, so :func:`chunk_doc_id` recovers the
meta-document of any chunk. A pool lives in memory (:meth:`ChunkPool.from_documents`) or on disk
(:meth:`ChunkPool.cached`, see :mod:`.stored`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ... import layout
from ...corpus import Document
from ...progress import progress_bar
from ...tokens import TokenCounter
from ..chunking import chunk_text

if TYPE_CHECKING:
    from ...docstore import DocumentStore

CHUNK_MARK = "#c"


class NegativeMiningError(ValueError):
    """Negatives cannot be mined as configured; the message names the fix."""


class CorpusTooSmallError(NegativeMiningError):
    """The whole chunk pool holds fewer tokens than one row needs."""


def chunk_id(doc_id: str, index: int) -> str:
    """Id of chunk ``index`` of document ``doc_id``: ``"news-00001#c0003"``."""
    return f"{doc_id}{CHUNK_MARK}{index:04d}"


def chunk_doc_id(chunk: str) -> str:
    """The document a chunk id belongs to (inverse of :func:`chunk_id`)."""
    doc_id, mark, index = chunk.rpartition(CHUNK_MARK)
    if not mark or not index.isdigit():
        raise ValueError(f"{chunk!r} is not a chunk id like 'doc#c0001'.")
    return doc_id


def pool_chunks(text: str, chunk_chars: int, split_long_lines: str) -> Iterator[tuple[int, str]]:
    """(index, stripped text) of each non-blank chunk of ``text``; blank chunks keep their index unused."""
    for index, chunk in enumerate(chunk_text(text, chunk_chars, split_long_lines)):
        stripped = chunk.text.strip()
        if stripped:
            yield index, stripped


def content_class(text: str, classes: dict[bytes, int]) -> int:
    """The content class of ``text``: equal for identical texts, numbered in order of first sight."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return classes.setdefault(digest, len(classes))


def document_label(doc: Document, label_field: str | None) -> str | None:
    """``doc``'s label (e.g. its outlet) as a string, or ``None`` when it has none."""
    label = doc.meta.get(label_field) if label_field else None
    return str(label) if label is not None and str(label) != "" else None


@dataclass
class ChunkPool:
    """Every non-blank chunk of some documents, in document order, with token counts and content classes.

    Build it with :meth:`from_documents`; :meth:`restrict` gives the pool of a subset of its documents.
    Chunk texts are stripped of surrounding whitespace (they become pieces of rows as they are here).
    """

    chunk_ids: Sequence[str]
    texts: Sequence[str]
    owners: Sequence[str]
    """Document id of each chunk."""
    n_tokens: np.ndarray
    """Token count of each chunk text (int64), as the packer will count it."""
    content: np.ndarray
    """Content class of each chunk (int64): equal for chunks with identical text."""
    doc_order: Sequence[str]
    """Document ids in pool order (documents with no non-blank chunk included)."""
    spans: Mapping[str, tuple[int, int]]
    """Document id -> ``[start, stop)`` of its chunks in the pool."""
    labels: Mapping[str, str]
    """Document id -> label (e.g. the outlet), for the documents that have one."""
    positions: Mapping[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.positions:
            self.positions = {cid: i for i, cid in enumerate(self.chunk_ids)}

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @classmethod
    def from_documents(
        cls,
        documents: Iterable[Document],
        counter: TokenCounter,
        *,
        chunk_chars: int = 2048,
        split_long_lines: str = "sentences",
        label_field: str | None = "source",
        batch_size: int = 4096,
        show_progress: bool = False,
    ) -> ChunkPool:
        """Chunk and count every document; blank chunks are left out (their ids are not reused)."""
        chunk_ids: list[str] = []
        texts: list[str] = []
        owners: list[str] = []
        doc_order: list[str] = []
        spans: dict[str, tuple[int, int]] = {}
        labels: dict[str, str] = {}
        classes: dict[bytes, int] = {}
        content: list[int] = []
        total = len(documents) if isinstance(documents, Sized) else None
        with progress_bar("Chunking for NExtLong", total, unit="docs", enabled=show_progress) as advance:
            for doc in documents:
                if doc.id in spans:
                    raise NegativeMiningError(
                        f"Document id {doc.id!r} appears twice; document ids must be unique."
                    )
                start = len(chunk_ids)
                for index, text in pool_chunks(doc.text, chunk_chars, split_long_lines):
                    chunk_ids.append(chunk_id(doc.id, index))
                    texts.append(text)
                    owners.append(doc.id)
                    content.append(content_class(text, classes))
                doc_order.append(doc.id)
                spans[doc.id] = (start, len(chunk_ids))
                label = document_label(doc, label_field)
                if label is not None:
                    labels[doc.id] = label
                advance(1)
        counts: list[int] = []
        with progress_bar(
            "Counting chunk tokens", len(texts), unit="chunks", enabled=show_progress
        ) as advance:
            for start in range(0, len(texts), batch_size):
                batch = texts[start : start + batch_size]
                counts.extend(counter.count_batch(batch))
                advance(len(batch))
        return cls(
            chunk_ids=chunk_ids,
            texts=texts,
            owners=owners,
            n_tokens=np.asarray(counts, dtype=np.int64),
            content=np.asarray(content, dtype=np.int64),
            doc_order=doc_order,
            spans=spans,
            labels=labels,
        )

    @classmethod
    def cached(
        cls,
        store: DocumentStore,
        counter: TokenCounter,
        folder: Path,
        *,
        chunk_chars: int = 2048,
        split_long_lines: str = "sentences",
        label_field: str | None = "source",
        show_progress: bool = False,
    ) -> ChunkPool:
        """The pool of every document of ``store``, on disk under ``folder`` and memory-mapped.

        Built once (chunk texts as an Arrow column, token counts, content classes, owners and spans as
        ``.npy`` files), then opened by every process without holding chunk texts or ids in Python: the
        memory of a worker no longer grows with the corpus.
        """
        from .stored import open_pool, write_pool

        def build(target: Path) -> None:
            write_pool(store, counter, target, chunk_chars, split_long_lines, label_field, show_progress)

        layout.build_once(folder, "pool.json", build, in_place=True)
        return open_pool(store, folder)

    def restrict(self, doc_ids: Iterable[str]) -> ChunkPool:
        """The pool of only ``doc_ids`` (kept in this pool's order); unknown ids raise."""
        wanted = set(doc_ids)
        unknown = sorted(wanted - self.spans.keys())
        if unknown:
            raise NegativeMiningError(
                f"{len(unknown)} document id(s) are not in the pool, e.g. {unknown[:3]}."
            )
        keep = [d for d in self.doc_order if d in wanted]
        rows = [i for d in keep for i in range(*self.spans[d])]
        spans: dict[str, tuple[int, int]] = {}
        start = 0
        for d in keep:
            lo, hi = self.spans[d]
            spans[d] = (start, start + hi - lo)
            start += hi - lo
        index = np.asarray(rows, dtype=np.int64)
        return ChunkPool(
            chunk_ids=[self.chunk_ids[i] for i in rows],
            texts=[self.texts[i] for i in rows],
            owners=[self.owners[i] for i in rows],
            n_tokens=self.n_tokens[index],
            content=self.content[index],
            doc_order=keep,
            spans=spans,
            labels={d: self.labels[d] for d in keep if d in self.labels},
        )

    def release(self) -> None:
        """Let go of the memory-mapped chunk texts this process touched (an on-disk pool; else nothing)."""
        for owner in (self.texts, getattr(self.chunk_ids, "store", None)):
            release = getattr(owner, "release", None)
            if callable(release):
                release()

    def chunk_range(self, doc_id: str) -> range:
        """Pool positions of the chunks of ``doc_id``."""
        return range(*self.spans[doc_id])

    @property
    def total_tokens(self) -> int:
        return int(self.n_tokens.sum())

    def mean_chunk_tokens(self, positions: Sequence[int] | np.ndarray | None = None) -> float:
        """Mean tokens per chunk over the pool (or over ``positions``)."""
        values = self.n_tokens if positions is None else self.n_tokens[np.asarray(positions, dtype=np.int64)]
        return float(values.mean()) if len(values) else 0.0

    def label_of_chunk(self, position: int) -> str | None:
        # An on-disk pool keeps owners and labels as arrays by store position: no id round trip.
        at = getattr(self.labels, "at_store_position", None)
        store_positions = getattr(self.owners, "owners", None)
        if at is not None and store_positions is not None:
            return at(int(store_positions[position]))
        return self.labels.get(self.owners[position])
