"""Building an index in bounded memory: tokenize batches into shards, then score them with global stats."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

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
        self.doc_ids: list[str] = []
        self._seen: set[str] = set()
        self._open_flat: list[np.ndarray] = []
        self._open_lengths: list[np.ndarray] = []
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
        for doc_id in ids:
            if doc_id in self._seen:
                raise IndexBuildError(f"Document ids must be unique to build an index ({doc_id!r} repeats).")
            self._seen.add(doc_id)
        offset = 0
        while offset < len(ids):
            room = self.shard_docs - self._open_docs
            part_ids, part_texts = ids[offset : offset + room], texts[offset : offset + room]
            offset += len(part_ids)
            token_ids = list(self.tokenizer.streaming_tokenize(list(part_texts), update_vocab=True))
            lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int64, count=len(token_ids))
            flat = np.fromiter(
                itertools.chain.from_iterable(token_ids), dtype=np.int32, count=int(lengths.sum())
            )
            self._open_flat.append(flat)
            self._open_lengths.append(lengths)
            self._open_docs += len(part_ids)
            self.doc_ids.extend(part_ids)
            if self._open_docs >= self.shard_docs:
                self._close_shard()

    def _close_shard(self) -> None:
        if not self._open_docs:
            return
        flat, lengths = np.concatenate(self._open_flat), np.concatenate(self._open_lengths)
        self._open_flat, self._open_lengths, self._open_docs = [], [], 0
        self._wait()
        self._pending = self._reducer.submit(self._reduce, flat, lengths)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises a failed reduction here

    def _reduce(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        postings = scoring.postings(flat, lengths)
        del flat
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
        if not self.doc_ids:
            raise IndexBuildError("Cannot build an index of zero documents; check the corpus.")
        config = self.config
        vocab_dict = self.tokenizer.get_vocab_dict()
        n_vocab = max(len(vocab_dict), len(self._df))
        df = np.concatenate([self._df, np.zeros(n_vocab - len(self._df), dtype=np.int64)])
        n_docs = len(self.doc_ids)
        avg_len = self._total_length / n_docs
        idf = scoring.idf(config.method, df, n_docs)
        nonocc = scoring.nonoccurrence(config, idf, avg_len)
        stats = {"n_docs": n_docs, "avg_doc_len": avg_len, "n_terms": n_vocab}

        def scored() -> Iterator[Shard]:
            start = 0
            for item in self._shards:
                postings = item if isinstance(item, scoring.Postings) else _load_postings(item)
                yield scoring.score_shard(postings, idf, nonocc, n_vocab, avg_len, start, config)
                start += len(postings.lengths)
                if isinstance(item, Path):
                    item.unlink()

        if path is None:
            return BM25Index(list(scored()), self.tokenizer, self.doc_ids, config, stats)
        # One shard in memory at a time: each is written as soon as it is scored.
        save_index(Path(path), scored(), self.tokenizer, self.doc_ids, config, stats)
        return BM25Index.load(path)


def _load_postings(path: Path) -> scoring.Postings:
    with np.load(path) as data:
        return scoring.Postings(data["docs"], data["terms"], data["tf"], data["lengths"])
