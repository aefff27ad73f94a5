"""Every BM25 search of litelong-hf: documents or chunks, sharded, memory-mapped, deterministic.

(Over 400 lines on purpose: the build, the storage and the search of one index format belong together.)

An index is one or more *shards*, each a plain bm25s index (``shard-0000/`` loads with
``bm25s.BM25.load(..., mmap=True)``), built in bounded memory from batches of texts. All shards share one
vocabulary and one table of global statistics (document count, document frequency of every term, mean
document length), so a document scores the same in a sharded index as in a single one, and a search that
fans out over the shards and merges their top-k returns exactly what one index would.

Searches are deterministic: hits are ordered by score, then by position in the index (insertion order), so
the hits at a tie never depend on the batch size, the number of shards or the backend (``numpy`` or
``numba`` accumulate the same float32 sums in the same order).

Example::

    index = BM25Index.build(["d1", "d2"], ["the sun is a star", "cats purr"])
    hits = index.search(["stars"], k=5)          # [[Hit(doc_id="d1", score=0.46)]]
    index.save("idx/"); index = BM25Index.load("idx/")   # memory-mapped
    index.search(["star cat"], k=5, require_all_terms=True, allow={"d1"}, exclude=[{"d2"}])
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import mmap
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import layout
from .idmap import IdIndex, StringColumn
from .progress import progress_bar

_INDEX_FORMAT = 3
_META = "litelong_index.json"
DEFAULT_SHARD_DOCS = 100_000
"""Documents per shard when an index is built from batches (bounds the build's memory)."""
_AUTO_NUMBA_QUERIES = 256
"""``backend="auto"`` uses numba (a one-off JIT per process) only for batches at least this large."""


class IndexBuildError(ValueError):
    """The index cannot be built, loaded or searched as asked; the message names the fix."""


class Hit(NamedTuple):
    """One search result: the id of the indexed item and its BM25 score."""

    doc_id: str
    score: float


@dataclass(frozen=True)
class IndexConfig:
    """How text is turned into BM25 terms and scored."""

    stemmer: str | None = "english"
    """Snowball stemmer language (PyStemmer), or ``None`` to match surface forms."""
    stopwords: str | tuple[str, ...] | None = "en"
    """``"en"`` (bm25s' English list), a language code bm25s knows, a tuple of words, or ``None``."""
    lower: bool = True
    """Lower-case text before splitting."""
    method: str = "lucene"
    """BM25 variant: ``lucene``, ``robertson``, ``atire``, ``bm25l`` or ``bm25+``."""
    k1: float = 1.5
    """Term-frequency saturation."""
    b: float = 0.75
    """Length normalisation."""
    backend: str = "auto"
    """Score accumulation: ``auto`` (numba for large batches when installed), ``numba`` or ``numpy``. Results
    are identical with either; only speed differs."""

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise IndexBuildError(f"Unknown BM25 method {self.method!r}; use one of {sorted(_METHODS)}.")
        if self.backend not in ("auto", "numpy", "numba"):
            raise IndexBuildError(f"backend must be 'auto', 'numpy' or 'numba', got {self.backend!r}.")

    def fingerprint(self) -> str:
        """Hash of the settings that change the index (the backend does not)."""
        data = asdict(self)
        data.pop("backend")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


_DELTA = 0.5  # bm25s' delta for bm25l / bm25+
_METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")


def _idf(method: str, df: np.ndarray, n_docs: int) -> np.ndarray:
    """bm25s' idf of each term (float64), 0 for terms no document holds."""
    d = df.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "lucene":
            out = np.log(1 + (n_docs - d + 0.5) / (d + 0.5))
        elif method == "robertson":
            out = np.log(np.maximum((n_docs - d + 0.5) / (d + 0.5), 1.0))
        elif method == "atire":
            out = np.log(n_docs / d)
        elif method == "bm25l":
            out = np.log((n_docs + 1) / (d + 0.5))
        else:  # bm25+
            out = np.log((n_docs + 1) / d)
    return np.where(df > 0, out, 0.0)


def _tfc(method: str, tf: np.ndarray, l_d: np.ndarray, l_avg: float, k1: float, b: float) -> np.ndarray:
    """bm25s' term-frequency component (float64)."""
    tf = tf.astype(np.float64)
    norm = k1 * ((1 - b) + b * l_d / l_avg)
    if method in ("lucene", "robertson"):
        return np.asarray(tf / (norm + tf))
    if method == "atire":
        return np.asarray(tf * (k1 + 1) / (tf + norm))
    c = tf / (1 - b + b * l_d / l_avg)
    if method == "bm25l":
        return np.asarray(((k1 + 1) * (c + _DELTA)) / (k1 + c + _DELTA))
    return np.asarray(((k1 + 1) * tf) / (norm + tf) + _DELTA)  # bm25+


def _make_term_tokenizer(config: IndexConfig) -> Any:
    import bm25s.tokenization

    stemmer = None
    if config.stemmer:
        import Stemmer

        try:
            stemmer = Stemmer.Stemmer(config.stemmer)
        except KeyError:
            raise IndexBuildError(
                f"Unknown stemmer language {config.stemmer!r}; use one of {Stemmer.algorithms()} or None."
            ) from None
    stopwords: Any = list(config.stopwords) if isinstance(config.stopwords, tuple) else config.stopwords
    try:
        return bm25s.tokenization.Tokenizer(lower=config.lower, stopwords=stopwords or [], stemmer=stemmer)
    except ValueError as exc:
        raise IndexBuildError(
            f"Unknown stopwords {config.stopwords!r} ({exc}); use 'en', a tuple or None."
        ) from None


# ------------------------------------------------------------------------------------------------ build


@dataclass
class _Postings:
    """The distinct (document, term) pairs of one shard with their term frequencies, before scoring."""

    docs: np.ndarray  # int32, shard-local document of each pair (ascending within a term)
    terms: np.ndarray  # int32, ascending: the pairs are in CSC (term-major) order already
    tf: np.ndarray  # int32
    lengths: np.ndarray  # int64, terms per document (bm25s' document length)


def _postings(flat: np.ndarray, lengths: np.ndarray) -> _Postings:
    n_docs = max(len(lengths), 1)
    doc = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    # One sort gives the distinct pairs, their frequencies and the CSC order (term-major, documents ascending).
    keys, tf = np.unique(flat.astype(np.int64) * n_docs + doc, return_counts=True)
    return _Postings(
        docs=(keys % n_docs).astype(np.int32),
        terms=(keys // n_docs).astype(np.int32),
        tf=tf.astype(np.int32),
        lengths=lengths.astype(np.int64),
    )


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
        self.tokenizer = _make_term_tokenizer(self.config)
        self.shard_docs = shard_docs
        self.workdir = Path(workdir) if workdir is not None else None
        self.doc_ids: list[str] = []
        self._seen: set[str] = set()
        self._open_flat: list[np.ndarray] = []
        self._open_lengths: list[np.ndarray] = []
        self._open_docs = 0
        self._shards: list[_Postings | Path] = []
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
        postings = _postings(flat, lengths)
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
        idf = _idf(config.method, df, n_docs)
        nonocc: np.ndarray | None = None
        if config.method in ("bm25l", "bm25+"):
            zero = _tfc(config.method, np.zeros(1), np.asarray([avg_len]), avg_len, config.k1, config.b)[0]
            nonocc = (idf * zero).astype(np.float32)
        stats = {"n_docs": n_docs, "avg_doc_len": avg_len, "n_terms": n_vocab}

        def scored() -> Iterator[_Shard]:
            start = 0
            for item in self._shards:
                postings = item if isinstance(item, _Postings) else _load_postings(item)
                yield _score_shard(postings, idf, nonocc, n_vocab, avg_len, start, config)
                start += len(postings.lengths)
                if isinstance(item, Path):
                    item.unlink()

        if path is None:
            return BM25Index(list(scored()), self.tokenizer, self.doc_ids, config, stats)
        # One shard in memory at a time: each is written as soon as it is scored.
        _save(Path(path), scored(), self.tokenizer, self.doc_ids, config, stats)
        return BM25Index.load(path)


def _save(
    path: Path,
    shards: Iterable[_Shard],
    term_tokenizer: Any,
    doc_ids: Sequence[str],
    config: IndexConfig,
    stats: dict[str, Any],
) -> Path:
    """Write an index folder atomically, shard by shard (``shards`` may be a generator)."""
    import bm25s

    path.parent.mkdir(parents=True, exist_ok=True)
    # A folder cannot be replaced through layout.atomic_path (files only): build beside it, then rename.
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        shards_meta = []
        for number, shard in enumerate(shards):
            retriever = bm25s.BM25(method=config.method, k1=config.k1, b=config.b)
            retriever.scores = {
                "data": shard.data,
                "indices": shard.indices,
                "indptr": shard.indptr,
                "num_docs": shard.n_docs,
            }
            retriever.vocab_dict = {}  # the vocabulary is the index's (vocab.tokenizer.json)
            retriever.nonoccurrence_array = shard.nonoccurrence
            name = f"shard-{number:04d}"
            retriever.save(str(tmp / name), show_progress=False)
            shards_meta.append({"dir": name, "n_docs": shard.n_docs, "start": shard.start})
        term_tokenizer.save_vocab(str(tmp))
        StringColumn.write(tmp / "doc_ids.arrow", doc_ids)
        IdIndex.write(tmp / "ids", doc_ids)
        meta = {
            "format": _INDEX_FORMAT,
            "config": asdict(config),
            "n_docs": len(doc_ids),
            "shards": shards_meta,
            "stats": stats,
        }
        layout.atomic_write_json(tmp / _META, meta)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def _load_postings(path: Path) -> _Postings:
    with np.load(path) as data:
        return _Postings(data["docs"], data["terms"], data["tf"], data["lengths"])


def _score_shard(
    postings: _Postings,
    idf: np.ndarray,
    nonocc: np.ndarray | None,
    n_vocab: int,
    avg_len: float,
    start: int,
    config: IndexConfig,
) -> _Shard:
    """A shard's CSC score matrix (terms x documents), exactly as bm25s lays it out."""
    lengths = postings.lengths.astype(np.float64)
    tfc = _tfc(config.method, postings.tf, lengths[postings.docs], avg_len, config.k1, config.b)
    scores = idf[postings.terms] * tfc
    if nonocc is not None:
        scores = scores - nonocc[postings.terms]
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(np.bincount(postings.terms, minlength=n_vocab), out=indptr[1:])
    return _Shard(
        data=scores.astype(np.float32),
        indices=postings.docs.astype(np.int32, copy=False),
        indptr=indptr,
        n_docs=len(postings.lengths),
        start=start,
        nonoccurrence=nonocc,
    )


# ------------------------------------------------------------------------------------------------ search


@dataclass
class _Shard:
    """One shard's score matrix (CSC: per term, the documents holding it and their partial scores)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_docs: int
    start: int
    """Position of the shard's first document in the whole index."""
    nonoccurrence: np.ndarray | None = None
    maps: list[Any] = field(default_factory=list, repr=False)
    """The ``mmap`` objects behind a loaded shard's arrays (released after each query)."""
    files: _PostingFiles | None = field(default=None, repr=False)
    """Where ``data`` and ``indices`` lie on disk, for a loaded shard: searches read postings with ``pread``."""

    def postings(self, term: int) -> np.ndarray:
        return self.indices[int(self.indptr[term]) : int(self.indptr[term + 1])]

    def release(self) -> None:
        """Drop the mapped pages this process touched (MADV_DONTNEED): they stay in the OS page cache,
        shared by every worker, but no longer count in this process's resident memory."""
        for mapped in self.maps:
            try:
                mapped.madvise(mmap.MADV_DONTNEED)
            except (AttributeError, OSError, ValueError):
                return  # not Linux, or a closed map: nothing to release


class _PostingFiles:
    """Open files of a saved shard's ``data`` and ``indices`` arrays, read term by term with ``pread``.

    Through the memory mapping, a page fault maps the whole page-cache folio around it (1-2 MB on current
    Linux kernels with large folios), so a query of a few hundred terms made most of a shard's files
    resident; ``pread`` copies only each term's postings (the page cache keeps the rest, shared).
    """

    def __init__(self, data: np.memmap, indices: np.memmap) -> None:
        self.data_fd = os.open(str(data.filename), os.O_RDONLY)
        self.indices_fd = os.open(str(indices.filename), os.O_RDONLY)
        self.data_offset, self.indices_offset = int(data.offset), int(indices.offset)
        self.data_dtype, self.indices_dtype = data.dtype, indices.dtype

    @staticmethod
    def _read(fd: int, offset: int, dtype: np.dtype[Any], lo: int, hi: int) -> np.ndarray:
        out = np.empty(hi - lo, dtype=dtype)
        got = os.preadv(fd, [out.data.cast("B")], offset + lo * dtype.itemsize)
        if got != out.nbytes:
            raise IndexBuildError("The index files are truncated; delete the index folder to rebuild it.")
        return out

    def postings(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        return (
            self._read(self.indices_fd, self.indices_offset, self.indices_dtype, lo, hi),
            self._read(self.data_fd, self.data_offset, self.data_dtype, lo, hi),
        )

    def __del__(self) -> None:
        for fd in (getattr(self, "data_fd", -1), getattr(self, "indices_fd", -1)):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    continue


def _accumulate_pread(shard: _Shard, files: _PostingFiles, terms: np.ndarray, out: np.ndarray) -> None:
    """Same float32 additions in the same order as :func:`_accumulate_numpy` and the numba kernel."""
    indptr = shard.indptr
    for term in terms.tolist():
        lo, hi = int(indptr[term]), int(indptr[term + 1])
        if hi > lo:
            indices, data = files.postings(lo, hi)
            out[indices] += data  # a term's documents are distinct: no lost updates


def _accumulate_numpy(shard: _Shard, terms: np.ndarray, out: np.ndarray) -> None:
    indptr, indices, data = shard.indptr, shard.indices, shard.data
    for term in terms.tolist():
        lo, hi = int(indptr[term]), int(indptr[term + 1])
        if hi > lo:
            out[indices[lo:hi]] += data[lo:hi]  # a term's documents are distinct: no lost updates


_NUMBA_KERNEL: Any = None


def _numba_kernel() -> Any:
    global _NUMBA_KERNEL
    if _NUMBA_KERNEL is None:
        from numba import njit

        def accumulate(
            data: np.ndarray, indptr: np.ndarray, indices: np.ndarray, terms: np.ndarray, out: np.ndarray
        ) -> None:
            for t in terms:
                for j in range(indptr[t], indptr[t + 1]):
                    out[indices[j]] += data[j]

        _NUMBA_KERNEL = njit(cache=True, nogil=True)(accumulate)
    return _NUMBA_KERNEL


def _numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _top(positions: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` by score, ties by position (ascending), exactly, whatever the input order."""
    if len(positions) > k:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= threshold  # every tie at the threshold stays; the sort below decides
        positions, scores = positions[keep], scores[keep]
    order = np.lexsort((positions, -scores))[:k]
    return positions[order], scores[order]


def _is_per_query(exclude: Any) -> bool:
    return all(not isinstance(e, str) and isinstance(e, Collection) for e in exclude)


@dataclass
class BM25Index:
    """Shards of a bm25s index plus the ids of what it indexed and the term tokenizer that built it."""

    shards: list[_Shard]
    term_tokenizer: Any
    doc_ids: Sequence[str]
    """Ids by position: a list for an index in memory, a memory-mapped column for a saved one."""
    config: IndexConfig = field(default_factory=IndexConfig)
    stats: dict[str, Any] = field(default_factory=dict)
    _positions: dict[str, int] | None = field(default=None, repr=False)
    _id_index: IdIndex | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.doc_ids)

    # -- building ----------------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        doc_ids: Sequence[str],
        texts: Sequence[str],
        config: IndexConfig | None = None,
        *,
        show_progress: bool = True,
        batch_size: int = 2048,
        shard_docs: int = DEFAULT_SHARD_DOCS,
    ) -> BM25Index:
        """Index ``texts`` (aligned with ``doc_ids``) in memory.

        Raises :class:`IndexBuildError` when the inputs are empty, misaligned or hold duplicate ids.
        """
        if len(doc_ids) != len(texts):
            raise IndexBuildError(f"{len(doc_ids)} ids but {len(texts)} texts: pass one id per text.")
        batches = (
            (doc_ids[i : i + batch_size], texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)
        )
        return cls.build_from_batches(
            batches, config, total=len(texts), show_progress=show_progress, shard_docs=shard_docs
        )

    @classmethod
    def build_from_batches(
        cls,
        batches: Iterable[tuple[Sequence[str], Sequence[str]]],
        config: IndexConfig | None = None,
        *,
        path: str | Path | None = None,
        total: int | None = None,
        show_progress: bool = True,
        shard_docs: int = DEFAULT_SHARD_DOCS,
    ) -> BM25Index:
        """Index batches of (ids, texts) shard by shard; saved (and memory-mapped) when ``path`` is given.

        Memory stays bounded by ``shard_docs``: the token ids of one shard at a time, plus the vocabulary.
        """
        with tempfile.TemporaryDirectory(prefix="litelong-index-") as spill:
            builder = IndexBuilder(config, shard_docs=shard_docs, workdir=spill if path is not None else None)
            with progress_bar(
                "Indexing for BM25", total=total, unit="docs", enabled=show_progress
            ) as advance:
                for ids, texts in batches:
                    builder.add(ids, texts)
                    advance(len(ids))
            return builder.finish(path)

    # -- disk ----------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the index to ``path`` atomically (a half-written index is never visible).

        Each shard is a bm25s index folder (``shard-0000/``...); ``litelong_index.json`` lists them.
        """
        return _save(Path(path), self.shards, self.term_tokenizer, self.doc_ids, self.config, self.stats)

    @classmethod
    def load(cls, path: str | Path, *, mmap: bool = True) -> BM25Index:
        """Load an index saved by :meth:`save`; ``mmap=True`` shares its pages between processes."""
        import bm25s

        use_mmap = mmap

        path = Path(path)
        meta_file = path / _META
        if not meta_file.is_file():
            raise IndexBuildError(f"{path} is not a litelong-hf index (no {_META}); build it first.")
        meta = json.loads(meta_file.read_text())
        if meta.get("format") != _INDEX_FORMAT:
            raise IndexBuildError(f"{path} was written by another index format; delete it to rebuild.")
        cfg = dict(meta["config"])
        if isinstance(cfg.get("stopwords"), list):
            cfg["stopwords"] = tuple(cfg["stopwords"])
        config = IndexConfig(**cfg)
        shards = []
        for item in meta["shards"]:
            retriever = bm25s.BM25.load(
                str(path / item["dir"]), mmap=use_mmap, load_vocab=False, show_progress=False, verbosity=0
            )
            scores = retriever.scores
            maps = [getattr(scores[k], "_mmap", None) for k in ("data", "indices", "indptr")]
            files = None
            if all(isinstance(scores[k], np.memmap) and scores[k].filename for k in ("data", "indices")):
                files = _PostingFiles(scores["data"], scores["indices"])
            shards.append(
                _Shard(
                    data=_plain(scores["data"]),
                    indices=_plain(scores["indices"]),
                    indptr=_plain(scores["indptr"]),
                    n_docs=int(item["n_docs"]),
                    start=int(item["start"]),
                    nonoccurrence=retriever.nonoccurrence_array,
                    maps=[m for m in maps if m is not None],
                    files=files,
                )
            )
        tokenizer = _make_term_tokenizer(config)
        tokenizer.load_vocab(str(path))
        doc_ids = StringColumn(path / "doc_ids.arrow")
        index = cls(shards, tokenizer, doc_ids, config, dict(meta.get("stats", {})))
        index._id_index = IdIndex(path / "ids", doc_ids)
        return index

    # -- lookups -----------------------------------------------------------------------------------------
    def _lookup(self, doc_id: Any) -> int | None:
        if self._id_index is not None:
            return self._id_index.get(doc_id)
        if self._positions is None:
            self._positions = {d: i for i, d in enumerate(self.doc_ids)}
        return self._positions.get(doc_id) if isinstance(doc_id, str) else None

    def position(self, doc_id: str) -> int:
        """Row of ``doc_id`` in the index (``KeyError`` when it is not indexed)."""
        found = self._lookup(doc_id)
        if found is None:
            raise KeyError(doc_id)
        return found

    def _position_array(self, ids: Iterable[str]) -> np.ndarray:
        found = [p for p in (self._lookup(d) for d in ids) if p is not None]
        return np.asarray(found, dtype=np.int64)

    def query_terms(self, queries: Sequence[str]) -> list[list[int]]:
        """The known term ids of each query (unknown terms and stopwords removed; repeats kept)."""
        empty = self.term_tokenizer.word_to_id.get("")
        ids = self.term_tokenizer.tokenize(
            list(queries), update_vocab="never", return_as="ids", show_progress=False
        )
        return [[t for t in q if t != empty] for q in ids]

    def _backend(self, n_queries: int, backend: str | None) -> str:
        choice = backend or self.config.backend
        if choice == "numba" and not _numba_available():
            raise IndexBuildError(
                "backend 'numba' needs the numba package: pip install numba, or use 'numpy'."
            )
        if choice == "auto":
            return "numba" if n_queries >= _AUTO_NUMBA_QUERIES and _numba_available() else "numpy"
        if choice not in ("numpy", "numba"):
            raise IndexBuildError(f"backend must be 'auto', 'numpy' or 'numba', got {choice!r}.")
        return choice

    def _shard_scores(self, shard: _Shard, terms: np.ndarray, backend: str) -> np.ndarray:
        out = np.zeros(shard.n_docs, dtype=np.float32)
        if shard.files is not None:
            _accumulate_pread(shard, shard.files, terms, out)  # a loaded index: no mapped postings
        elif backend == "numba":
            _numba_kernel()(shard.data, shard.indptr, shard.indices, terms, out)
        else:
            _accumulate_numpy(shard, terms, out)
        if shard.nonoccurrence is not None:
            out += np.float32(shard.nonoccurrence[terms].sum())
        return out

    def _all_terms_mask(self, shard: _Shard, terms: np.ndarray) -> np.ndarray:
        """Shard-local positions of the documents holding every term (postings intersection)."""
        lists = sorted((shard.postings(int(t)) for t in np.unique(terms)), key=len)
        common = np.asarray(lists[0], dtype=np.int64)
        for postings in lists[1:]:
            if not len(common):
                break
            common = np.intersect1d(common, postings, assume_unique=True)
        return common

    # -- search --------------------------------------------------------------------------------------------
    def search(
        self,
        queries: Sequence[str],
        k: int | Sequence[int] = 10,
        *,
        exclude: Collection[str] | Sequence[Collection[str]] | None = None,
        allow: Collection[str] | None = None,
        require_all_terms: bool = False,
        backend: str | None = None,
        n_threads: int = 0,
    ) -> list[list[Hit]]:
        """Top-``k`` hits for each query, best first (ties: index order); only hits with a positive score.

        Args:
            queries: query strings, searched as one batch (the result never depends on the batching).
            k: hits wanted, one number for every query or one per query (fewer come back when fewer match).
            exclude: ids never returned: one collection for every query, or a sequence with one collection
                per query.
            allow: when given, only these ids can be returned (e.g. the chunks of one topic's documents).
            require_all_terms: search only the documents that contain every known query term (implicit AND).
            backend: ``numpy``/``numba``/``auto`` (default: the config's); the hits are the same with each.
            n_threads: accepted for compatibility; scoring runs in the calling thread.
        """
        del n_threads
        wanted = [k] * len(queries) if isinstance(k, int) else list(k)
        if len(wanted) != len(queries) or any(n <= 0 for n in wanted):
            raise IndexBuildError(f"k must be a positive number, or one per query; got {k!r}.")
        if not queries:
            return []
        per_query: Sequence[Collection[str]] | None = None
        banned_all = np.zeros(0, dtype=np.int64)
        if exclude is not None and len(exclude) == len(queries) and _is_per_query(exclude):
            per_query = exclude  # type: ignore[assignment]
        elif exclude:
            banned_all = self._position_array(exclude)  # type: ignore[arg-type]
        allowed = self._position_array(allow) if allow is not None else None
        terms = self.query_terms(queries)
        chosen = self._backend(len(queries), backend)
        results: list[list[Hit]] = []
        for qi, query_terms in enumerate(terms):
            if not query_terms:
                results.append([])
                continue
            banned = banned_all
            if per_query is not None:
                banned = self._position_array(per_query[qi])
            term_array = np.asarray(query_terms, dtype=np.int64)
            positions, scores = self._search_one(
                term_array, wanted[qi], banned, allowed, require_all_terms, chosen
            )
            results.append(
                [Hit(self.doc_ids[p], s) for p, s in zip(positions.tolist(), scores.tolist(), strict=True)]
            )
        release = getattr(self.doc_ids, "release", None)
        if callable(release):
            release()
        return results

    def _search_one(
        self,
        terms: np.ndarray,
        k: int,
        banned: np.ndarray,
        allowed: np.ndarray | None,
        require_all_terms: bool,
        backend: str,
    ) -> tuple[np.ndarray, np.ndarray]:
        found_pos: list[np.ndarray] = []
        found_scores: list[np.ndarray] = []
        for shard in self.shards:
            lo, hi = shard.start, shard.start + shard.n_docs
            scores = self._shard_scores(shard, terms, backend)
            if require_all_terms:
                keep = self._all_terms_mask(shard, terms)
                gated = np.zeros_like(scores)
                gated[keep] = scores[keep]
                scores = gated
            if allowed is not None:
                local = allowed[(allowed >= lo) & (allowed < hi)] - lo
                gated = np.zeros_like(scores)
                gated[local] = scores[local]
                scores = gated
            if len(banned):
                scores[banned[(banned >= lo) & (banned < hi)] - lo] = 0
            candidates = np.flatnonzero(scores > 0)
            positions, values = _top(candidates, scores[candidates], k)
            found_pos.append(positions + lo)
            found_scores.append(values)
            shard.release()
        positions, values = _top(np.concatenate(found_pos), np.concatenate(found_scores), k)
        return positions, values.astype(np.float64)

    def score(self, queries: Sequence[str], ids: Sequence[Sequence[str]]) -> list[list[float]]:
        """BM25 score of each ``ids[i]`` for ``queries[i]`` (0 for a query with no known term).

        Equal to the score :meth:`search` gives the same item (and to bm25s' ``get_scores``).
        """
        if len(queries) != len(ids):
            raise IndexBuildError(f"{len(queries)} queries but {len(ids)} id lists.")
        out: list[list[float]] = []
        for query_terms, wanted in zip(self.query_terms(queries), ids, strict=True):
            if not query_terms or not wanted:
                out.append([0.0] * len(wanted))
                continue
            targets = np.asarray([self.position(i) for i in wanted], dtype=np.int64)
            values = np.zeros(len(targets), dtype=np.float32)
            terms = np.asarray(query_terms, dtype=np.int64)
            for shard in self.shards:
                inside = (targets >= shard.start) & (targets < shard.start + shard.n_docs)
                if inside.any():
                    scores = self._shard_scores(shard, terms, "numpy")
                    values[inside] = scores[targets[inside] - shard.start]
                    shard.release()
            out.append([float(v) for v in values])
        return out


def _plain(array: Any) -> np.ndarray:
    """A plain ndarray view of a (possibly memory-mapped) array: same pages, no copy, no memmap overhead."""
    return array.view(np.ndarray) if isinstance(array, np.memmap) else np.asarray(array)


# ------------------------------------------------------------------------------------------------ cache


def index_dir(key: str, cache_dir: str | Path | None = None) -> Path:
    """Folder where the index for ``key`` (a corpus fingerprint + unit + config) lives."""
    return layout.index_dir(key, cache_dir)


def index_path(key: str, config: IndexConfig, cache_dir: str | Path | None = None) -> Path:
    """Folder of the index :func:`get_or_build_index` keeps for ``key`` and ``config`` (this format's)."""
    return index_dir(f"{key}-{config.fingerprint()}-v{_INDEX_FORMAT}", cache_dir)


Items = Callable[[], tuple[Sequence[str], Sequence[str]]]
Batches = Callable[[], Iterable[tuple[Sequence[str], Sequence[str]]]]


def get_or_build_index(
    key: str,
    items: Items | None = None,
    config: IndexConfig | None = None,
    *,
    batches: Batches | None = None,
    total: int | None = None,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
    shard_docs: int = DEFAULT_SHARD_DOCS,
) -> BM25Index:
    """Load the saved index for ``key``, or build it and save it, then memory-map it.

    Give either ``items()`` (all ids and texts at once) or ``batches()`` (an iterable of (ids, texts)
    batches, for corpora that do not fit in memory). ``key`` must change whenever the indexed items would
    (use the corpus fingerprint plus what was chunked and how); building twice from the same snapshot
    then reuses the saved index. Workers starting together build it once (a file lock).
    """
    from filelock import FileLock

    if (items is None) == (batches is None):
        raise IndexBuildError("get_or_build_index needs exactly one of items= or batches=.")
    config = config or IndexConfig()
    try:
        path = index_path(key, config, cache_dir)
    except OSError as exc:
        raise IndexBuildError(
            f"Cannot write the index under {cache_dir or 'the cache root'} ({exc.strerror or exc}); pass a "
            "writable cache_dir (CLI: --cache-dir) or set LITELONG_HF_CACHE."
        ) from None
    if (path / _META).is_file():
        return BM25Index.load(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.parent / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise IndexBuildError(
            f"Cannot write the index under {cache_dir or 'the cache root'} ({exc.strerror or exc}); pass a writable cache_dir "
            "(CLI: --cache-dir) or set LITELONG_HF_CACHE."
        ) from None
    with FileLock(str(path) + ".lock"):
        if not (path / _META).is_file():

            def from_items() -> Iterator[tuple[Sequence[str], Sequence[str]]]:
                assert items is not None
                ids, texts = items()
                if len(ids) != len(texts):
                    raise IndexBuildError(f"{len(ids)} ids but {len(texts)} texts: pass one id per text.")
                for i in range(0, len(ids), 2048):
                    yield ids[i : i + 2048], texts[i : i + 2048]

            source = batches() if batches is not None else from_items()
            BM25Index.build_from_batches(
                source, config, path=path, total=total, show_progress=show_progress, shard_docs=shard_docs
            )
    return BM25Index.load(path)


def shard_count(n_docs: int, shard_docs: int = DEFAULT_SHARD_DOCS) -> int:
    """Shards an index of ``n_docs`` documents has (pure)."""
    return max(1, math.ceil(n_docs / shard_docs))
