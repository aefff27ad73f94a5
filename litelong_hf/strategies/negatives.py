"""NExtLong negative mining: a pool of corpus chunks, a retriever over it, and the row plan of a meta-document.

(Over 400 lines on purpose: the pool (in memory or on disk), its retriever and the miner share one data model.)

* :class:`ChunkPool` holds every chunk of a set of documents (text, owner, token count, content class).
  Chunk ids are ``"{doc_id}#c{index:04d}"`` with ``index`` the chunk's position in
  :func:`~litelong_hf.strategies.chunking.chunk_text` of its document, so :func:`chunk_doc_id` recovers
  the meta-document of any chunk.
* :class:`NegativeRetriever` is what mining needs from a retriever; :class:`BM25ChunkRetriever` implements
  it with bm25s. A dense retriever only has to provide the same two methods.
* :class:`NegativeMiner` turns seed documents into :class:`MinedRow` plans: meta-chunks in order, each
  followed by its hardest unused negatives, exactly enough to fill ``target_tokens``.

The arithmetic (:func:`negatives_per_chunk`, :func:`fill_round_robin`, :func:`trim_to_target`) is pure.

Example (mining only among some documents, as ``litelong-nextlong`` does)::

    pool = ChunkPool.from_documents(docs, TokenCounter.get())
    miner = NegativeMiner(pool, BM25ChunkRetriever.build(pool), sep_tokens=1)
    [row] = miner.mine([SeedRequest(docs[0].id, 131_072)], pool_doc_ids=[d.id for d in docs[1:50]])
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, overload

import numpy as np

from ..corpus import Document
from ..index import BM25Index, Hit, IndexBuildError, IndexConfig, get_or_build_index
from ..packing import Piece
from ..progress import progress_bar
from ..tokens import TokenCounter
from .chunking import chunk_text

if TYPE_CHECKING:
    from ..docstore import DocumentStore

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


# --------------------------------------------------------------------------------------------------------
# The pool


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
                for index, chunk in enumerate(chunk_text(doc.text, chunk_chars, split_long_lines)):
                    text = chunk.text.strip()
                    if not text:
                        continue
                    chunk_ids.append(chunk_id(doc.id, index))
                    texts.append(text)
                    owners.append(doc.id)
                    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
                    content.append(classes.setdefault(digest, len(classes)))
                doc_order.append(doc.id)
                spans[doc.id] = (start, len(chunk_ids))
                label = doc.meta.get(label_field) if label_field else None
                if label is not None and str(label) != "":
                    labels[doc.id] = str(label)
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
        from filelock import FileLock

        done = folder / "pool.json"
        if not done.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            with FileLock(str(folder) + ".lock"):
                if not done.is_file():
                    _write_pool(
                        store, counter, folder, chunk_chars, split_long_lines, label_field, show_progress
                    )
        return _open_pool(store, folder)

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
        return self.labels.get(self.owners[position])


# ---------------------------------------------------------------------------------------- the pool on disk


def _write_pool(
    store: DocumentStore,
    counter: TokenCounter,
    folder: Path,
    chunk_chars: int,
    split_long_lines: str,
    label_field: str | None,
    show_progress: bool,
) -> None:
    import pyarrow as pa

    from .. import layout

    owners: list[int] = []
    indexes: list[int] = []
    counts: list[int] = []
    content: list[int] = []
    classes: dict[bytes, int] = {}
    starts = np.zeros(len(store), dtype=np.int64)
    stops = np.zeros(len(store), dtype=np.int64)
    label_codes = np.full(len(store), -1, dtype=np.int32)
    label_names: dict[str, int] = {}
    schema = pa.schema([("value", pa.large_string())])
    batch: list[str] = []

    def flush(writer: Any) -> None:
        if batch:
            counts.extend(counter.count_batch(batch))
            writer.write_batch(pa.record_batch([pa.array(batch, pa.large_string())], schema=schema))
            batch.clear()

    with (
        progress_bar("Chunking for NExtLong", len(store), unit="docs", enabled=show_progress) as advance,
        layout.atomic_path(folder / "texts.arrow") as tmp,
        pa.OSFile(tmp, "wb") as sink,
        pa.ipc.new_file(sink, schema) as writer,
    ):
        for position, doc in enumerate(store.documents()):
            starts[position] = len(owners)
            for index, chunk in enumerate(chunk_text(doc.text, chunk_chars, split_long_lines)):
                text = chunk.text.strip()
                if not text:
                    continue
                owners.append(position)
                indexes.append(index)
                digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
                content.append(classes.setdefault(digest, len(classes)))
                batch.append(text)
                if len(batch) >= 4096:
                    flush(writer)
            stops[position] = len(owners)
            label = doc.meta.get(label_field) if label_field else None
            if label is not None and str(label) != "":
                label_codes[position] = label_names.setdefault(str(label), len(label_names))
            advance(1)
        flush(writer)
    arrays: dict[str, np.ndarray] = {
        "owners": np.asarray(owners, dtype=np.int64),
        "indexes": np.asarray(indexes, dtype=np.int64),
        "n_tokens": np.asarray(counts, dtype=np.int64),
        "content": np.asarray(content, dtype=np.int64),
        "starts": starts,
        "stops": stops,
        "labels": label_codes,
    }
    for name, array in arrays.items():
        with layout.atomic_path(folder / f"{name}.npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, array)
    layout.atomic_write_json(
        folder / "pool.json", {"chunks": len(owners), "documents": len(store), "labels": list(label_names)}
    )


def _open_pool(store: DocumentStore, folder: Path) -> ChunkPool:
    from ..idmap import StringColumn

    def load(name: str) -> np.ndarray:
        return np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray)

    info = json.loads((folder / "pool.json").read_text(encoding="utf-8"))
    owners, indexes = load("owners"), load("indexes")
    starts, stops = load("starts"), load("stops")
    ids = _ChunkIds(store, owners, indexes)
    return ChunkPool(
        chunk_ids=ids,
        texts=StringColumn(folder / "texts.arrow"),
        owners=_Owners(store, owners),
        n_tokens=load("n_tokens"),
        content=load("content"),
        doc_order=store.ids,
        spans=_Spans(store, starts, stops),
        labels=_Labels(store, load("labels"), info["labels"]),
        positions=_Positions(store, starts, stops, indexes, ids),
    )


class _LazyIds(Sequence[str]):
    """Ids computed from arrays on access (a chunk pool of millions holds no Python strings)."""

    def __init__(self, store: DocumentStore, owners: np.ndarray) -> None:
        self.store, self.owners = store, owners

    def _at(self, i: int) -> str:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.owners)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self._at(j) for j in range(*i.indices(len(self)))]
        return self._at(i)

    def __iter__(self) -> Iterator[str]:
        return (self._at(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


class _ChunkIds(_LazyIds):
    def __init__(self, store: DocumentStore, owners: np.ndarray, indexes: np.ndarray) -> None:
        super().__init__(store, owners)
        self.indexes = indexes

    def _at(self, i: int) -> str:
        return chunk_id(self.store.doc_id(int(self.owners[i])), int(self.indexes[i]))


class _Owners(_LazyIds):
    def _at(self, i: int) -> str:
        return self.store.doc_id(int(self.owners[i]))


class _Spans(Mapping[str, tuple[int, int]]):
    def __init__(self, store: DocumentStore, starts: np.ndarray, stops: np.ndarray) -> None:
        self.store, self.starts, self.stops = store, starts, stops

    def __getitem__(self, doc_id: str) -> tuple[int, int]:
        p = self.store.position(doc_id)
        return int(self.starts[p]), int(self.stops[p])

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.store

    def __iter__(self) -> Iterator[str]:
        return iter(self.store)

    def __len__(self) -> int:
        return len(self.store)


class _Labels(Mapping[str, str]):
    def __init__(self, store: DocumentStore, codes: np.ndarray, names: list[str]) -> None:
        self.store, self.codes, self.names = store, codes, names

    def __getitem__(self, doc_id: str) -> str:
        code = int(self.codes[self.store.position(doc_id)])
        if code < 0:
            raise KeyError(doc_id)
        return self.names[code]

    def __iter__(self) -> Iterator[str]:
        return (d for d, c in zip(self.store, self.codes.tolist(), strict=True) if c >= 0)

    def __len__(self) -> int:
        return int(np.count_nonzero(self.codes >= 0))


class _Positions(Mapping[str, int]):
    def __init__(
        self, store: DocumentStore, starts: np.ndarray, stops: np.ndarray, indexes: np.ndarray, ids: _ChunkIds
    ) -> None:
        self.store, self.starts, self.stops, self.indexes, self.ids = store, starts, stops, indexes, ids

    def __getitem__(self, cid: str) -> int:
        doc_id, mark, index = cid.rpartition(CHUNK_MARK)
        if not mark or not index.isdigit():
            raise KeyError(cid)
        p = self.store.position(doc_id)
        lo, hi = int(self.starts[p]), int(self.stops[p])
        j = lo + int(np.searchsorted(self.indexes[lo:hi], int(index)))
        if j >= hi or int(self.indexes[j]) != int(index):
            raise KeyError(cid)
        return j

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


# --------------------------------------------------------------------------------------------------------
# Retrieval


class NegativeRetriever(Protocol):
    """What negative mining needs from a retriever over the chunks of a :class:`ChunkPool`.

    ``search`` returns, per query, up to ``k`` (one number, or one per query) hits sorted best first (ties
    by pool order), only positive scores, never an id in that query's ``exclude``, and, when ``allow`` is
    given, only ids in ``allow``. ``score`` gives
    the score of given chunks for each query (for the hardness report). A dense retriever (embeddings +
    an ANN index) can implement both.
    """

    def search(
        self,
        queries: Sequence[str],
        k: int | Sequence[int],
        exclude: Sequence[Collection[str]] | None = None,
        *,
        allow: Collection[str] | None = None,
    ) -> list[list[Hit]]: ...

    def score(self, queries: Sequence[str], chunk_ids: Sequence[Sequence[str]]) -> list[list[float]]: ...


class BM25ChunkRetriever:
    """:class:`NegativeRetriever` over a :class:`~litelong_hf.index.BM25Index` of chunks.

    Every search and score goes through :mod:`litelong_hf.index` (one BM25 implementation, deterministic
    ties); this class only checks the mining arguments.

    Args:
        index: an index whose ids are chunk ids (built by :meth:`build` or :meth:`cached`).
        backend: score accumulation, ``numpy`` or ``numba`` (faster on large pools after a ~2 s JIT per
            process); both return the same hits.
    """

    def __init__(self, index: BM25Index, backend: str = "numpy") -> None:
        if backend not in ("numpy", "numba"):
            raise NegativeMiningError(f"bm25 backend must be 'numpy' or 'numba', got {backend!r}.")
        self.index = index
        self.backend = backend

    @classmethod
    def build(
        cls, pool: ChunkPool, config: IndexConfig | None = None, *, backend: str = "numpy"
    ) -> BM25ChunkRetriever:
        """An in-memory index of ``pool`` (for small pools, e.g. the documents of one LiteLong topic)."""
        if not len(pool):
            raise NegativeMiningError("Cannot index an empty chunk pool: the documents have no text.")
        return cls(BM25Index.build(pool.chunk_ids, pool.texts, config, show_progress=False), backend)

    @classmethod
    def cached(
        cls,
        key: str,
        pool: ChunkPool,
        config: IndexConfig | None = None,
        *,
        cache_dir: str | None = None,
        backend: str = "numpy",
        show_progress: bool = True,
    ) -> BM25ChunkRetriever:
        """The saved, memory-mapped (sharded) index for ``key``, built from ``pool`` on first use."""
        if not len(pool):
            raise NegativeMiningError("Cannot index an empty chunk pool: the documents have no text.")
        index = get_or_build_index(
            key,
            lambda: (pool.chunk_ids, pool.texts),
            config,
            cache_dir=cache_dir,
            show_progress=show_progress,
        )
        n = len(pool.chunk_ids)
        probes = sorted({0, n - 1, *range(0, n, max(1, n // 64))}) if n else []
        if len(index) != n or any(index.doc_ids[i] != pool.chunk_ids[i] for i in probes):
            raise IndexBuildError(
                f"The cached chunk index {key!r} does not match the corpus chunks ({len(index.doc_ids)} vs "
                f"{len(pool.chunk_ids)} chunks); delete the 'indexes' folder under the cache_dir to rebuild it."
            )
        return cls(index, backend)

    def search(
        self,
        queries: Sequence[str],
        k: int | Sequence[int],
        exclude: Sequence[Collection[str]] | None = None,
        *,
        allow: Collection[str] | None = None,
    ) -> list[list[Hit]]:
        """Top-``k`` chunks per query, best first, ties in pool order."""
        wanted = [k] * len(queries) if isinstance(k, int) else list(k)
        if len(wanted) != len(queries) or any(n <= 0 for n in wanted):
            raise NegativeMiningError(f"k must be a positive number, or one per query; got {k!r}.")
        if exclude is not None and len(exclude) != len(queries):
            raise NegativeMiningError(f"{len(queries)} queries but {len(exclude)} exclusion sets.")
        if not queries:
            return []
        return self.index.search(
            queries,
            wanted,
            exclude=list(exclude) if exclude is not None else None,
            allow=allow,
            backend=self.backend,
        )

    def score(self, queries: Sequence[str], chunk_ids: Sequence[Sequence[str]]) -> list[list[float]]:
        """BM25 score of each ``chunk_ids[i]`` for ``queries[i]`` (0 for a query with no known term)."""
        return self.index.score(queries, chunk_ids)


# --------------------------------------------------------------------------------------------------------
# Pure arithmetic


def negatives_per_chunk(
    target_tokens: int, meta_doc_tokens: int, n_meta_chunks: int, mean_chunk_tokens: float
) -> int:
    """METHODS.md's k = ceil((target - meta_doc_tokens) / (p * mean_chunk_tokens)), at least 0.

    >>> negatives_per_chunk(131_072, 1_072, 2, 500.0)
    130
    """
    if n_meta_chunks <= 0:
        raise ValueError(f"a meta-document needs at least one chunk, got {n_meta_chunks}.")
    if mean_chunk_tokens <= 0:
        raise ValueError(f"mean_chunk_tokens must be positive, got {mean_chunk_tokens}.")
    remaining = target_tokens - meta_doc_tokens
    if remaining <= 0:
        return 0
    return math.ceil(remaining / (n_meta_chunks * mean_chunk_tokens))


Candidate = tuple[int, int, int]
"""A possible negative: its pool position, content class and token count."""


def fill_round_robin(
    meta_tokens: Sequence[int],
    candidates: Sequence[Sequence[Candidate]],
    used_content: Collection[int],
    target_tokens: int,
    sep_tokens: int,
) -> tuple[list[list[int]], int]:
    """Pick negatives for each meta-chunk until the row (pieces plus separators) reaches the target.

    Meta-chunk ``g`` takes its next best candidate in turn (g = 0, 1, ..., p-1, 0, ...), skipping content
    already in the row (the meta-chunks' own, ``used_content``, and earlier picks) and candidates longer
    than the whole row. So every meta-chunk gets its top negatives first and the groups differ by at most
    one negative unless a candidate list runs out.

    Returns:
        The picked indexes into ``candidates[g]`` per group, and the planned tokens (which reach
        ``target_tokens`` unless every list ran out).
    """
    used = set(used_content)
    picked: list[list[int]] = [[] for _ in meta_tokens]
    cursor = [0] * len(meta_tokens)
    total = sum(meta_tokens) + sep_tokens * max(len(meta_tokens) - 1, 0)
    progress = True
    while total < target_tokens and progress:
        progress = False
        for g, options in enumerate(candidates):
            while cursor[g] < len(options):
                _, content, n_tokens = options[cursor[g]]
                cursor[g] += 1
                if content in used or n_tokens > target_tokens or n_tokens <= 0:
                    continue
                used.add(content)
                picked[g].append(cursor[g] - 1)
                total += n_tokens + sep_tokens
                progress = True
                break
            if total >= target_tokens:
                break
    return picked, total


def trim_to_target(lengths: Sequence[int], target_tokens: int, sep_tokens: int) -> int:
    """How many leading pieces the packer puts in the first row (the last of them possibly cut).

    Mirrors :class:`~litelong_hf.packing.RowPlanner`: a piece enters the row when at least one of its
    tokens fits after the separator before it.
    """
    used = 0
    for i, n in enumerate(lengths):
        if i > 0:
            if used + sep_tokens >= target_tokens:
                return i
            used += sep_tokens
        used += n
        if used >= target_tokens:
            return i + 1
    return len(lengths)


# --------------------------------------------------------------------------------------------------------
# Mining


class SeedRequest(NamedTuple):
    """One meta-document to turn into a row of ``target_tokens``."""

    doc_id: str
    target_tokens: int


@dataclass(frozen=True)
class Shortfall:
    """A seed that cannot become a row, and why (a fixed reason for the report, plus the numbers)."""

    doc_id: str
    reason: str
    available_tokens: int = 0
    needed_tokens: int = 0


@dataclass
class MinedGroup:
    """A meta-chunk (pool position) and its negatives, best first."""

    meta: int
    negatives: list[Hit]


@dataclass
class MinedRow:
    """The plan of one row: groups in meta-chunk order, already trimmed to the pieces the row uses."""

    doc_id: str
    target_tokens: int
    k: int
    """Planned negatives per meta-chunk (METHODS.md's formula)."""
    groups: list[MinedGroup]
    planned_tokens: int
    """Tokens of the pieces and separators (>= target_tokens; the excess is cut from the last piece)."""

    def pieces(self, pool: ChunkPool) -> list[Piece]:
        """Meta-chunk at the head of its group, then its negatives; roles ``meta`` / ``negative``."""
        out: list[Piece] = []
        for group in self.groups:
            out.append(Piece(pool.texts[group.meta], pool.chunk_ids[group.meta], role="meta"))
            for hit in group.negatives:
                out.append(Piece(pool.texts[pool.positions[hit.doc_id]], hit.doc_id, "negative", hit.score))
        return out

    @property
    def n_negatives(self) -> int:
        return sum(len(g.negatives) for g in self.groups)


class NegativeMiner:
    """Plans NExtLong rows for seed documents over one pool and one retriever.

    Args:
        pool: the chunks negatives come from (and the seeds' own meta-chunks).
        retriever: search over ``pool``'s chunk ids.
        sep_tokens: tokens of the separator the packer puts between pieces.
        overfetch: hits fetched per meta-chunk = ``ceil(k * overfetch) + 8``; a seed whose hits run out
            is searched again with four times as many, up to the whole pool.
        search_batch: most meta-chunk queries per retriever call.
        slack: plan ``target * slack`` (at least 32) tokens beyond the target. The packer tokenizes the row
            as one text, and merges at piece boundaries (``"end." + "\n\n"``) make it a little shorter
            than the sum of the pieces' own counts; the slack keeps such a row full. Pieces past the
            row's end are never packed.
    """

    def __init__(
        self,
        pool: ChunkPool,
        retriever: NegativeRetriever,
        *,
        sep_tokens: int,
        overfetch: float = 1.5,
        search_batch: int = 256,
        slack: float = 1 / 128,
    ) -> None:
        if overfetch < 1:
            raise NegativeMiningError(f"overfetch must be >= 1, got {overfetch}.")
        if slack < 0:
            raise NegativeMiningError(f"slack must be >= 0, got {slack}.")
        self.slack = slack
        self.pool = pool
        self.retriever = retriever
        self.sep_tokens = sep_tokens
        self.overfetch = overfetch
        self.search_batch = max(1, search_batch)

    def check_pool(self, target_tokens: int) -> None:
        """Raise :class:`CorpusTooSmallError` when even the whole pool cannot fill one row."""
        n = len(self.pool)
        available = self.pool.total_tokens + self.sep_tokens * max(n - 1, 0)
        if available < target_tokens:
            raise CorpusTooSmallError(
                f"Corpus too small for NExtLong: its {n:,} chunks hold {available:,} tokens (separators "
                f"included) but one row needs {target_tokens:,} (target_tokens). Use a larger corpus (or raise "
                "max_documents), or a smaller target_tokens."
            )

    def mine(
        self, seeds: Sequence[SeedRequest], *, pool_doc_ids: Collection[str] | None = None
    ) -> list[MinedRow | Shortfall]:
        """Plan one row per seed (a :class:`MinedRow`, or a :class:`Shortfall` saying why not), in order.

        Meta-chunk queries of consecutive seeds are searched together, ``search_batch`` at a time.
        ``pool_doc_ids`` restricts negatives to the chunks of those documents (litelong-nextlong); the
        seeds themselves need not be among them.
        """
        pool = self.pool
        allow: list[str] | None = None
        positions: np.ndarray | None = None
        if pool_doc_ids is not None:
            rows = sorted(i for d in set(pool_doc_ids) if d in pool.spans for i in pool.chunk_range(d))
            positions = np.asarray(rows, dtype=np.int64)
            allow = [pool.chunk_ids[i] for i in rows]
        limit = len(pool) if allow is None else len(allow)
        cost = pool.mean_chunk_tokens(positions) + self.sep_tokens  # a negative costs its separator too
        out: dict[int, MinedRow | Shortfall] = {}
        batch: list[tuple[int, SeedRequest, int]] = []
        queries = 0
        for n, seed in enumerate(seeds):
            if seed.doc_id not in pool.spans:
                raise NegativeMiningError(f"Seed {seed.doc_id!r} is not a document of the chunk pool.")
            metas = pool.chunk_range(seed.doc_id)
            meta_tokens = pool.n_tokens[metas.start : metas.stop]
            if len(metas) == 0:
                out[n] = Shortfall(seed.doc_id, "empty meta-document (no text to chunk)")
                continue
            if int(meta_tokens.max()) > seed.target_tokens:
                out[n] = Shortfall(
                    seed.doc_id, "a meta-chunk is longer than target_tokens (lower chunk_chars)"
                )
                continue
            if limit == 0:
                out[n] = Shortfall(seed.doc_id, "no chunks to mine negatives from", 0, seed.target_tokens)
                continue
            doc_tokens = int(meta_tokens.sum()) + self.sep_tokens * (len(metas) - 1)
            k = negatives_per_chunk(seed.target_tokens, doc_tokens, len(metas), cost)
            if batch and queries + len(metas) > self.search_batch:
                out.update(self._mine_batch(batch, allow, limit))
                batch, queries = [], 0
            batch.append((n, seed, k))
            queries += len(metas)
        if batch:
            out.update(self._mine_batch(batch, allow, limit))
        return [out[n] for n in range(len(seeds))]

    def _mine_batch(
        self, batch: Sequence[tuple[int, SeedRequest, int]], allow: list[str] | None, limit: int
    ) -> dict[int, MinedRow | Shortfall]:
        pool = self.pool
        queries: list[str] = []
        exclude: list[list[str]] = []
        fetches: list[int] = []
        for _, seed, k in batch:
            metas = pool.chunk_range(seed.doc_id)
            own = [pool.chunk_ids[i] for i in metas]
            queries.extend(pool.texts[i] for i in metas)
            exclude.extend([own] * len(metas))
            fetches.extend([min(limit, math.ceil(k * self.overfetch) + 8)] * len(metas))
        hits = self.retriever.search(queries, fetches, exclude, allow=allow)
        out: dict[int, MinedRow | Shortfall] = {}
        start = 0
        for n, seed, k in batch:
            p = len(pool.chunk_range(seed.doc_id))
            out[n] = self._plan(seed, k, hits[start : start + p], fetches[start], allow, limit)
            start += p
        return out

    def _plan(
        self,
        seed: SeedRequest,
        k: int,
        hits: list[list[Hit]],
        fetched: int,
        allow: list[str] | None,
        limit: int,
    ) -> MinedRow | Shortfall:
        pool = self.pool
        metas = pool.chunk_range(seed.doc_id)
        meta_tokens = [int(pool.n_tokens[i]) for i in metas]
        own_content = [int(pool.content[i]) for i in metas]
        goal = self.planned_target(seed.target_tokens)
        while True:
            candidates = [self._candidates(group_hits) for group_hits in hits]
            picked, total = fill_round_robin(meta_tokens, candidates, own_content, goal, self.sep_tokens)
            if total >= goal or (fetched >= limit and total >= seed.target_tokens):
                break
            if fetched >= limit:
                return Shortfall(
                    seed.doc_id,
                    "negatives exhausted: too few chunks share terms with the meta-document",
                    available_tokens=total,
                    needed_tokens=seed.target_tokens,
                )
            fetched = min(limit, fetched * 4)
            own = [pool.chunk_ids[i] for i in metas]
            hits = self.retriever.search(
                [pool.texts[i] for i in metas], fetched, [own] * len(metas), allow=allow
            )
        groups = [MinedGroup(meta, [hits[g][j] for j in picked[g]]) for g, meta in enumerate(metas)]
        row = MinedRow(seed.doc_id, seed.target_tokens, k, groups, total)
        return _trimmed(row, pool, self.sep_tokens, goal)

    def planned_target(self, target_tokens: int) -> int:
        """Tokens a plan for a row of ``target_tokens`` aims at (the target plus the slack)."""
        return target_tokens + max(32, math.ceil(target_tokens * self.slack)) if self.slack else target_tokens

    def _candidates(self, hits: Sequence[Hit]) -> list[Candidate]:
        positions = np.asarray([self.pool.positions[h.doc_id] for h in hits], dtype=np.int64)
        return list(
            zip(
                positions.tolist(),
                self.pool.content[positions].tolist(),
                self.pool.n_tokens[positions].tolist(),
                strict=True,
            )
        )


def _trimmed(row: MinedRow, pool: ChunkPool, sep_tokens: int, goal: int) -> MinedRow:
    """Drop the pieces after the one that reaches ``goal`` (the target plus the slack)."""
    lengths: list[int] = []
    for group in row.groups:
        lengths.append(int(pool.n_tokens[group.meta]))
        lengths.extend(int(pool.n_tokens[pool.positions[h.doc_id]]) for h in group.negatives)
    keep = trim_to_target(lengths, goal, sep_tokens)
    groups: list[MinedGroup] = []
    for group in row.groups:
        if keep <= 0:
            break
        negatives = group.negatives[: keep - 1]
        groups.append(MinedGroup(group.meta, negatives))
        keep -= 1 + len(negatives)
    planned = sum(lengths[: sum(1 + len(g.negatives) for g in groups)])
    planned += sep_tokens * max(sum(1 + len(g.negatives) for g in groups) - 1, 0)
    return MinedRow(row.doc_id, row.target_tokens, row.k, groups, planned)


def hardness_sample(pool: ChunkPool, doc_id: str, n: int, rng: np.random.Generator) -> list[int]:
    """``n`` random pool positions outside ``doc_id`` (with replacement), for the hardness baseline."""
    lo, hi = pool.spans[doc_id]
    others = len(pool) - (hi - lo)
    if n <= 0 or others <= 0:
        return []
    draws = rng.integers(0, others, size=n)
    return [int(d) if d < lo else int(d) + (hi - lo) for d in draws]


def describe(row: MinedRow) -> dict[str, Any]:
    """Small summary of a plan for bundles and logs."""
    return {"k": row.k, "meta_chunks": len(row.groups), "negatives": row.n_negatives}
