"""Building an index in bounded memory: tokenize batches into shards, then score them with global stats."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..idmap import StringColumn, id_hash
from . import scoring
from .config import DEFAULT_SHARD_DOCS, IndexBuildError, IndexConfig, make_term_tokenizer
from .storage import Shard, save_index

if TYPE_CHECKING:
    from .search import BM25Index


class IndexBuilder:
    """Builds a sharded index from batches of (ids, texts) in memory bounded by ``shard_docs``.

    Pass 1 (:meth:`add`) tokenizes each batch into one global vocabulary and reduces every full shard to its
    (document, term, frequency) triples, spilled to ``workdir`` when one is given. Pass 2 (:meth:`finish`)
    scores each shard with the global statistics and writes it as a bm25s index.
    """

    def __init__(
        self,
        config: IndexConfig | None = None,
        *,
        shard_docs: int = DEFAULT_SHARD_DOCS,
        workdir: str | Path | None = None,
    ) -> None:
        if shard_docs <= 0:
            raise IndexBuildError(f"shard_docs must be positive, got {shard_docs}.")
        self.config = config or IndexConfig()
        self.tokenizer = make_term_tokenizer(self.config)
        self.shard_docs = shard_docs
        self.workdir = Path(workdir) if workdir is not None else None
        self._ids = _IdSink(self.workdir)
        self._open: list[scoring.Postings] = []
        self._open_docs = 0
        self._shards: list[scoring.Postings | Path] = []
        self._df = np.zeros(0, dtype=np.int64)
        self._total_length = 0
        # A full shard is reduced (a numpy sort, which releases the GIL) in a worker thread while the
        # next one is tokenized; at most one reduction runs at a time, so memory stays at two shards.
        self._reducer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bm25-reduce")
        self._pending: Future[None] | None = None

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Tokenize one batch (ids aligned with texts) into the open shard."""
        if len(ids) != len(texts):
            raise IndexBuildError(f"{len(ids)} ids but {len(texts)} texts: pass one id per text.")
        offset = 0
        while offset < len(ids):
            room = self.shard_docs - self._open_docs
            part_ids, part_texts = ids[offset : offset + room], texts[offset : offset + room]
            offset += len(part_ids)
            batch = batch_postings(self.tokenizer, part_texts, self._open_docs)
            del part_texts
            self._open.append(batch)
            self._open_docs += len(part_ids)
            self._ids.add(part_ids)
            if self._open_docs >= self.shard_docs:
                self._close_shard()

    @property
    def doc_ids(self) -> Sequence[str]:
        """The ids added so far, in order (spilled to ``workdir`` when one is given)."""
        return self._ids.view()

    def _close_shard(self) -> None:
        if not self._open_docs:
            return
        batches, self._open, self._open_docs = self._open, [], 0
        self._wait()
        self._pending = self._reducer.submit(self._reduce, batches)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises a failed reduction here

    def _reduce(self, batches: list[scoring.Postings]) -> None:
        postings = merge_postings(batches)
        del batches
        vocab = max(len(self._df), int(postings.terms.max(initial=0)) + 1)
        if vocab > len(self._df):
            self._df = np.concatenate([self._df, np.zeros(vocab - len(self._df), dtype=np.int64)])
        self._df[:vocab] += np.bincount(postings.terms, minlength=vocab)
        self._total_length += int(postings.lengths.sum())
        if self.workdir is None:
            self._shards.append(postings)
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / f"postings-{len(self._shards):04d}.npz"
        np.savez(path, docs=postings.docs, terms=postings.terms, tf=postings.tf, lengths=postings.lengths)
        self._shards.append(path)

    def finish(self, path: str | Path | None = None) -> BM25Index:
        """Score every shard with the global statistics; save to ``path`` (atomically) or keep in memory."""
        from .search import BM25Index

        self._close_shard()
        self._wait()
        self._reducer.shutdown()
        doc_ids = self._ids.finish()
        if not len(doc_ids):
            raise IndexBuildError("Cannot build an index of zero documents; check the corpus.")
        config = self.config
        vocab_dict = self.tokenizer.get_vocab_dict()
        n_vocab = max(len(vocab_dict), len(self._df))
        df = np.concatenate([self._df, np.zeros(n_vocab - len(self._df), dtype=np.int64)])
        n_docs = len(doc_ids)
        avg_len = self._total_length / n_docs
        idf = scoring.idf(config.method, df, n_docs)
        nonocc = scoring.nonoccurrence(config, idf, avg_len)
        stats = {"n_docs": n_docs, "avg_doc_len": avg_len, "n_terms": n_vocab}

        def scored() -> Iterator[Shard]:
            start = 0
            for item in self._shards:
                postings = item if isinstance(item, scoring.Postings) else _load_postings(item)
                yield score_in_chunks(postings, idf, nonocc, n_vocab, avg_len, start, config)
                start += len(postings.lengths)
                if isinstance(item, Path):
                    item.unlink()

        if path is None:
            return BM25Index(list(scored()), self.tokenizer, list(doc_ids), config, stats)
        # One shard in memory at a time: each is written as soon as it is scored.
        save_index(Path(path), scored(), self.tokenizer, doc_ids, config, stats)
        return BM25Index.load(path)


def batch_postings(tokenizer: Any, texts: Sequence[str], first_doc: int) -> scoring.Postings:
    """The postings of one batch of texts (documents numbered from ``first_doc``), growing the tokenizer's
    vocabulary: the unit of work that keeps a build's memory at a batch of tokens, not a shard's."""
    token_ids = list(tokenizer.streaming_tokenize(list(texts), update_vocab=True))
    lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int64, count=len(token_ids))
    flat = np.fromiter(itertools.chain.from_iterable(token_ids), dtype=np.int32, count=int(lengths.sum()))
    del token_ids
    batch = scoring.postings(flat, lengths)
    if first_doc:
        batch.docs += np.int32(first_doc)
    return batch


score_in_chunks = scoring.score_shard
"""A shard's score matrix, :data:`scoring.SCORE_CHUNK` postings at a time (the builders' name for it)."""


def merge_postings(batches: Sequence[scoring.Postings]) -> scoring.Postings:
    """The postings of consecutive batches as one shard's: term-major, documents ascending within a term
    (equal to :func:`scoring.postings` of the whole shard's tokens at once)."""
    if len(batches) == 1:
        return batches[0]
    terms = np.concatenate([b.terms for b in batches])
    order = np.argsort(terms, kind="stable")  # batches hold ascending, disjoint documents
    return scoring.Postings(
        docs=np.concatenate([b.docs for b in batches])[order],
        terms=terms[order],
        tf=np.concatenate([b.tf for b in batches])[order],
        lengths=np.concatenate([b.lengths for b in batches]),
    )


class _IdSink:
    """The ids of a build, in order: in a list, or (with a ``workdir``) spilled to an Arrow file with one
    64-bit hash per id in memory, so that a build's memory does not grow with the corpus. Unique ids are
    checked when the build finishes."""

    def __init__(self, workdir: Path | None) -> None:
        self.workdir = workdir
        self.ids: list[str] = []
        self.hashes: list[np.ndarray] = []
        self.count = 0
        self._writer: Any = None
        self._sink: Any = None

    def add(self, ids: Sequence[str]) -> None:
        if self.workdir is None:
            self.ids.extend(ids)
            self.count += len(ids)
            return
        import pyarrow as pa

        if self._writer is None:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._sink = pa.OSFile(str(self.workdir / "ids.arrow"), "wb")
            self._writer = pa.ipc.new_file(self._sink, pa.schema([("value", pa.large_string())]))
        self._writer.write_batch(pa.record_batch([pa.array(list(ids), pa.large_string())], names=["value"]))
        self.hashes.append(np.fromiter((id_hash(i) for i in ids), dtype=np.int64, count=len(ids)))
        self.count += len(ids)

    def view(self) -> Sequence[str]:
        return self.ids if self.workdir is None else _ListedIds(self)

    def finish(self) -> Sequence[str]:
        """The ids, checked unique (``IndexBuildError`` names the first repeat)."""
        if self.workdir is None:
            check_unique(self.ids)
            return self.ids
        if self._writer is None:
            return []
        self._writer.close()
        self._sink.close()
        self._writer = None
        column = StringColumn(self.workdir / "ids.arrow")
        check_unique(column, np.concatenate(self.hashes))
        self.hashes = []
        return column


class _ListedIds(Sequence[str]):
    """The ids of an unfinished spilled build (only their number is known before it finishes)."""

    def __init__(self, sink: _IdSink) -> None:
        self.sink = sink

    def __len__(self) -> int:
        return self.sink.count

    def __getitem__(self, index: Any) -> Any:
        raise IndexBuildError("The ids of a build spilled to disk can be read once it is finished.")


def check_unique(ids: Sequence[str], hashes: np.ndarray | None = None) -> None:
    """Raise :class:`IndexBuildError` naming the first id (in order) that repeats.

    With ``hashes`` (:func:`~litelong_hf.idmap.id_hash` of each id) only ids whose hashes collide are read."""
    if hashes is None:
        seen: set[str] = set()
        for doc_id in ids:
            if doc_id in seen:
                raise IndexBuildError(f"Document ids must be unique to build an index ({doc_id!r} repeats).")
            seen.add(doc_id)
        return
    order = np.argsort(hashes, kind="stable")
    ranked = hashes[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    sizes = np.diff(np.r_[starts, len(ranked)])
    repeats: list[int] = []
    many = sizes > 1
    for start, size in zip(starts[many].tolist(), sizes[many].tolist(), strict=True):
        group = order[start : start + size].tolist()  # ids whose hashes collide: compare the ids
        first: dict[str, int] = {}
        for position in sorted(group):
            value = ids[position]
            if value in first:
                repeats.append(position)
            first.setdefault(value, position)
    if repeats:
        raise IndexBuildError(
            f"Document ids must be unique to build an index ({ids[min(repeats)]!r} repeats)."
        )


def _load_postings(path: Path) -> scoring.Postings:
    with np.load(path) as data:
        return scoring.Postings(data["docs"], data["terms"], data["tf"], data["lengths"])
