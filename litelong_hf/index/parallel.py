"""Building one index with several workers: each tokenizes a part, the driver merges them exactly.

A part is a range of the items (documents or chunks), inside one shard. Each worker tokenizes its part
with a fresh term tokenizer and writes the part's postings (local term ids), its ids and its vocabulary
(the tokenizer's three dictionaries, in insertion order) under ``<index>/parts/``. The driver then merges
the vocabularies in part order, which gives every term the id the single-process build gives it (a term's
id is its rank of first occurrence over the items in order, and parts are in order), sums the document
frequencies into the one global table, and scores and writes each shard as :class:`~.build.IndexBuilder`
does: the index folder is the same, file for file (test: ``tests/test_parallel_build.py``). A part whose
files exist is not built again, so an interrupted build resumes part by part.
"""

from __future__ import annotations

import itertools
import json
import math
import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import layout
from ..idmap import StringColumn, id_hash
from . import scoring
from .build import batch_postings, check_unique, score_in_chunks
from .config import IndexConfig, make_term_tokenizer
from .storage import Shard, save_index

if TYPE_CHECKING:
    from ..ingest import BuildSettings

MIN_PART_DOCS = 1_000
"""Fewest items in a part (below it, starting a worker costs more than it saves)."""
_BATCH = 2048
Reader = Callable[[int, int], Iterable[tuple[Sequence[str], Sequence[str]]]]
"""``reader(lo, hi)``: the (ids, texts) of items ``lo..hi-1`` in batches; picklable for Ray."""


@dataclass(frozen=True)
class SliceReader:
    """Items of two aligned sequences (ids, texts) by range, in batches."""

    ids: Sequence[str]
    texts: Sequence[str]

    def __call__(self, lo: int, hi: int) -> Iterator[tuple[Sequence[str], Sequence[str]]]:
        for start in range(lo, hi, _BATCH):
            stop = min(hi, start + _BATCH)
            yield self.ids[start:stop], self.texts[start:stop]


@dataclass(frozen=True)
class StoreReader:
    """Documents of a :class:`~litelong_hf.docstore.DocumentStore` by range, in batches."""

    store: Any

    def __call__(self, lo: int, hi: int) -> Iterator[tuple[Sequence[str], Sequence[str]]]:
        for ids, texts, _ in self.store._rows(lo, hi):  # record batches of the store, metadata unread
            yield ids, texts


def plan(n_items: int, shard_docs: int, workers: int) -> list[tuple[int, int]]:
    """The parts (``lo``, ``hi``) of ``n_items`` items: each inside one shard (shards hold ``shard_docs``),
    about two per worker so that a slow part does not leave a worker idle (pure)."""
    size = min(shard_docs, max(MIN_PART_DOCS, math.ceil(n_items / max(1, 2 * workers))))
    parts: list[tuple[int, int]] = []
    for shard_lo in range(0, n_items, shard_docs):
        shard_hi = min(n_items, shard_lo + shard_docs)
        pieces = max(1, math.ceil((shard_hi - shard_lo) / size))
        bounds = np.linspace(shard_lo, shard_hi, pieces + 1).round().astype(int).tolist()
        parts.extend(itertools.pairwise(bounds))
    return parts


def _part_stem(folder: str, lo: int, hi: int) -> Path:
    return Path(folder) / f"part-{lo:012d}-{hi:012d}"


def build_part(reader: Reader, lo: int, hi: int, config: IndexConfig, folder: str) -> int:
    """Tokenize items ``lo..hi-1`` (a worker's job): their postings, ids and vocabulary, written under
    ``folder``; returns how many items the part holds."""
    stem = _part_stem(folder, lo, hi)
    done = stem.with_suffix(".vocab.json")
    if done.is_file():
        return hi - lo
    tokenizer = make_term_tokenizer(config)
    batches: list[scoring.Postings] = []
    ids: list[str] = []
    for batch_ids, texts in reader(lo, hi):
        batches.append(batch_postings(tokenizer, texts, len(ids)))
        ids.extend(batch_ids)
    if len(ids) != hi - lo:
        from .config import IndexBuildError

        raise IndexBuildError(f"items {lo}..{hi} gave {len(ids)} ids; the source changed during the build.")
    docs = np.concatenate([b.docs for b in batches])
    terms = np.concatenate([b.terms for b in batches])
    tf = np.concatenate([b.tf for b in batches])
    lengths = np.concatenate([b.lengths for b in batches])
    hashes = np.fromiter((id_hash(i) for i in ids), dtype=np.int64, count=len(ids))
    with layout.atomic_path(stem.with_suffix(".npz")) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, docs=docs, terms=terms, tf=tf, lengths=lengths, hashes=hashes)
    StringColumn.write(stem.with_suffix(".ids.arrow"), ids)
    vocab = {
        "word_to_stem": tokenizer.word_to_stem,
        "stem_to_sid": tokenizer.stem_to_sid,
        "word_to_id": tokenizer.word_to_id,
    }
    layout.atomic_write_json(done, vocab)
    return hi - lo


class _Vocabulary:
    """The global vocabulary, grown part by part in order as the single-process tokenizer grows it."""

    def __init__(self, stemmer: bool) -> None:
        self.stemmer = stemmer
        self.word_to_stem: dict[str, str] = {}
        self.stem_to_sid: dict[str, int] = {}
        self.word_to_id: dict[str, int] = {}

    def add(self, part: dict[str, dict[str, Any]]) -> np.ndarray:
        """Merge one part's dictionaries; the global id of each of its local term ids."""
        if self.stemmer:
            for word, stem in part["word_to_stem"].items():
                self.word_to_stem.setdefault(word, stem)
            local = part["stem_to_sid"]
            remap = np.zeros(len(local), dtype=np.int32)
            for stem, sid in local.items():
                remap[sid] = self.stem_to_sid.setdefault(stem, len(self.stem_to_sid))
            for word, sid in part["word_to_id"].items():
                self.word_to_id.setdefault(word, int(remap[sid]))
            return remap
        local = part["word_to_id"]
        remap = np.zeros(len(local), dtype=np.int32)
        for word, wid in local.items():
            remap[wid] = self.word_to_id.setdefault(word, len(self.word_to_id))
        return remap

    def size(self) -> int:
        return len(self.stem_to_sid if self.stemmer else self.word_to_id)


class _PartIds(Sequence[str]):
    """The ids of every part, in order, read from the parts' id columns."""

    def __init__(self, columns: list[StringColumn]) -> None:
        self.columns = columns
        self.starts = np.cumsum([0] + [len(c) for c in columns])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        part = int(np.searchsorted(self.starts, index, side="right")) - 1
        return self.columns[part][index - int(self.starts[part])]

    def __iter__(self) -> Iterator[str]:
        for column in self.columns:
            yield from column


def picklable(value: Any) -> bool:
    """Whether ``value`` can be sent to a Ray worker."""
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def build_parallel(
    reader: Reader,
    n_items: int,
    config: IndexConfig,
    path: Path,
    *,
    shard_docs: int,
    settings: BuildSettings,
    advance: Callable[[int], None] | None = None,
) -> None:
    """Build the index of items ``0..n_items-1`` into ``path`` with the workers of ``settings``."""
    from ..ingest import run_parts, workers_for
    from .config import IndexBuildError

    if n_items <= 0:
        raise IndexBuildError("Cannot build an index of zero documents; check the corpus.")
    folder = path / "parts"
    folder.mkdir(parents=True, exist_ok=True)
    parts = plan(n_items, shard_docs, workers_for(settings, n_items))
    jobs = [(reader, lo, hi, config, str(folder)) for lo, hi in parts]
    run_parts(
        build_part,
        jobs,
        settings,
        on_done=(lambda i: advance(parts[i][1] - parts[i][0])) if advance else None,
    )

    vocabulary = _Vocabulary(stemmer=bool(config.stemmer))
    remaps: list[np.ndarray] = []
    df = np.zeros(0, dtype=np.int64)
    total_length = 0
    hashes: list[np.ndarray] = []
    for lo, hi in parts:  # pass 1: the vocabulary, document frequencies and lengths, in part order
        stem = _part_stem(str(folder), lo, hi)
        remap = vocabulary.add(json.loads(stem.with_suffix(".vocab.json").read_text(encoding="utf-8")))
        remaps.append(remap)
        with np.load(stem.with_suffix(".npz")) as data:
            terms = remap[data["terms"]] if len(remap) else data["terms"]
            total_length += int(data["lengths"].sum())
            hashes.append(data["hashes"])
        counts = np.bincount(terms, minlength=len(df))
        if len(counts) > len(df):
            df = np.concatenate([df, np.zeros(len(counts) - len(df), dtype=np.int64)])
        df += counts
    ids = _PartIds(
        [StringColumn(_part_stem(str(folder), lo, hi).with_suffix(".ids.arrow")) for lo, hi in parts]
    )
    check_unique(ids, np.concatenate(hashes))
    del hashes
    n_vocab = max(vocabulary.size(), len(df))
    df = np.concatenate([df, np.zeros(n_vocab - len(df), dtype=np.int64)])
    avg_len = total_length / n_items
    idf = scoring.idf(config.method, df, n_items)
    nonocc = scoring.nonoccurrence(config, idf, avg_len)
    stats = {"n_docs": n_items, "avg_doc_len": avg_len, "n_terms": n_vocab}

    def scored() -> Iterator[Shard]:  # pass 2: one shard in memory at a time
        for shard_lo in range(0, n_items, shard_docs):
            members = [i for i, (lo, _) in enumerate(parts) if shard_lo <= lo < shard_lo + shard_docs]
            pieces: list[scoring.Postings] = []
            for i in members:
                lo, _ = parts[i]
                with np.load(_part_stem(str(folder), *parts[i]).with_suffix(".npz")) as data:
                    pieces.append(
                        scoring.Postings(
                            docs=data["docs"] + np.int32(lo - shard_lo),
                            terms=remaps[i][data["terms"]] if len(remaps[i]) else data["terms"],
                            tf=data["tf"],
                            lengths=data["lengths"],
                        )
                    )
            postings = _term_major(pieces)
            del pieces
            yield score_in_chunks(postings, idf, nonocc, n_vocab, avg_len, shard_lo, config)

    tokenizer = make_term_tokenizer(config)
    tokenizer.word_to_stem = vocabulary.word_to_stem
    tokenizer.stem_to_sid = vocabulary.stem_to_sid
    tokenizer.word_to_id = vocabulary.word_to_id
    save_index(path, scored(), tokenizer, ids, config, stats)


def _term_major(pieces: Sequence[scoring.Postings]) -> scoring.Postings:
    """One shard's postings from its parts' (global term ids, shard-local documents): term-major,
    documents ascending within a term, as :func:`scoring.postings` orders them."""
    docs = np.concatenate([p.docs for p in pieces])
    terms = np.concatenate([p.terms for p in pieces])
    order = np.lexsort((docs, terms))
    return scoring.Postings(
        docs=docs[order].astype(np.int32),
        terms=terms[order].astype(np.int32),
        tf=np.concatenate([p.tf for p in pieces])[order],
        lengths=np.concatenate([p.lengths for p in pieces]),
    )
