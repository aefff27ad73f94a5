"""BM25 retrieval over documents or chunks with ``bm25s``: build once, save, memory-map everywhere.

Example::

    index = BM25Index.build(["d1", "d2"], ["the sun is a star", "cats purr"])
    hits = index.search(["stars"], k=5)          # [[Hit(doc_id="d1", score=0.46)]]
    index.save("idx/"); index = BM25Index.load("idx/")   # memory-mapped
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .progress import progress_bar
from .resources import cache_root

_INDEX_FORMAT = 1


class IndexBuildError(ValueError):
    """The index cannot be built or loaded as asked; the message names the fix."""


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
    """Top-k selection: ``auto`` (numba when installed), ``numba`` or ``numpy``."""

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def _make_term_tokenizer(config: IndexConfig) -> Any:
    import bm25s.tokenization

    stemmer = None
    if config.stemmer:
        import Stemmer

        try:
            stemmer = Stemmer.Stemmer(config.stemmer)
        except KeyError as exc:
            raise IndexBuildError(
                f"Unknown stemmer language {config.stemmer!r}; use one of {Stemmer.algorithms()} or None."
            ) from exc
    stopwords: Any = list(config.stopwords) if isinstance(config.stopwords, tuple) else config.stopwords
    return bm25s.tokenization.Tokenizer(lower=config.lower, stopwords=stopwords or [], stemmer=stemmer)


@dataclass
class BM25Index:
    """A bm25s index plus the ids of what it indexed and the term tokenizer that built it."""

    retriever: Any
    term_tokenizer: Any
    doc_ids: list[str]
    config: IndexConfig = field(default_factory=IndexConfig)
    _positions: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._positions = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}

    def __len__(self) -> int:
        return len(self.doc_ids)

    @classmethod
    def build(
        cls,
        doc_ids: Sequence[str],
        texts: Sequence[str],
        config: IndexConfig | None = None,
        *,
        show_progress: bool = True,
        batch_size: int = 2048,
    ) -> BM25Index:
        """Index ``texts`` (aligned with ``doc_ids``) in memory.

        Raises :class:`IndexBuildError` when the inputs are empty, misaligned or hold duplicate ids.
        """
        import bm25s

        config = config or IndexConfig()
        if len(doc_ids) != len(texts):
            raise IndexBuildError(f"{len(doc_ids)} ids but {len(texts)} texts: pass one id per text.")
        if not texts:
            raise IndexBuildError("Cannot build an index of zero documents; check the corpus.")
        if len(set(doc_ids)) != len(doc_ids):
            raise IndexBuildError("Document ids must be unique to build an index.")
        tokenizer = _make_term_tokenizer(config)
        term_ids: list[list[int]] = []
        with progress_bar(
            "Tokenizing for BM25", total=len(texts), unit="docs", enabled=show_progress
        ) as advance:
            for start in range(0, len(texts), batch_size):
                batch = list(texts[start : start + batch_size])
                term_ids.extend(
                    tokenizer.tokenize(batch, update_vocab=True, return_as="ids", show_progress=False)
                )
                advance(len(batch))
        retriever = bm25s.BM25(
            method=config.method, k1=config.k1, b=config.b, backend="numpy"
        )  # numba picked per search
        with progress_bar("Building BM25 index", total=None, unit="docs", enabled=show_progress) as advance:
            retriever.index((term_ids, tokenizer.get_vocab_dict()), show_progress=False)
            advance(len(texts))
        return cls(retriever=retriever, term_tokenizer=tokenizer, doc_ids=list(doc_ids), config=config)

    def save(self, path: str | Path) -> Path:
        """Write the index to ``path`` atomically (a half-written index is never visible)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            self.retriever.save(str(tmp), show_progress=False)
            self.term_tokenizer.save_vocab(str(tmp))
            (tmp / "doc_ids.json").write_text(json.dumps(self.doc_ids))
            meta = {"format": _INDEX_FORMAT, "config": asdict(self.config), "n_docs": len(self.doc_ids)}
            (tmp / "litelong_index.json").write_text(json.dumps(meta, indent=2))
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return path

    @classmethod
    def load(cls, path: str | Path, *, mmap: bool = True) -> BM25Index:
        """Load an index saved by :meth:`save`; ``mmap=True`` shares its pages between processes."""
        import bm25s

        path = Path(path)
        meta_file = path / "litelong_index.json"
        if not meta_file.is_file():
            raise IndexBuildError(
                f"{path} is not a litelong-hf index (no litelong_index.json); build it first."
            )
        meta = json.loads(meta_file.read_text())
        if meta.get("format") != _INDEX_FORMAT:
            raise IndexBuildError(f"{path} was written by another index format; rebuild it.")
        cfg = dict(meta["config"])
        if isinstance(cfg.get("stopwords"), list):
            cfg["stopwords"] = tuple(cfg["stopwords"])
        config = IndexConfig(**cfg)
        retriever = bm25s.BM25.load(str(path), mmap=mmap, show_progress=False, verbosity=0)
        tokenizer = _make_term_tokenizer(config)
        tokenizer.load_vocab(str(path))
        doc_ids = json.loads((path / "doc_ids.json").read_text())
        return cls(retriever=retriever, term_tokenizer=tokenizer, doc_ids=doc_ids, config=config)

    def position(self, doc_id: str) -> int:
        """Row of ``doc_id`` in the index."""
        return self._positions[doc_id]

    def query_terms(self, queries: Sequence[str]) -> list[list[int]]:
        """The known term ids of each query (unknown terms and stopwords removed)."""
        empty = self.term_tokenizer.word_to_id.get("")
        ids = self.term_tokenizer.tokenize(
            list(queries), update_vocab="never", return_as="ids", show_progress=False
        )
        return [[t for t in q if t != empty] for q in ids]

    def search(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        exclude: Collection[str] | Sequence[Collection[str]] | None = None,
        require_all_terms: bool = False,
        n_threads: int = 0,
    ) -> list[list[Hit]]:
        """Top-``k`` hits for each query, best first; only hits with a positive score.

        Args:
            queries: query strings, searched as one batch.
            k: hits wanted per query (fewer come back when fewer documents match).
            exclude: ids never returned: one collection for every query (a weight mask, free), or a
                sequence with one collection per query (over-fetched then filtered).
            require_all_terms: keep only hits that contain every known query term (implicit AND).
            n_threads: threads for scoring (0: one).
        """
        if k <= 0:
            raise IndexBuildError(f"k must be positive, got {k}.")
        if not queries:
            return []
        per_query: Sequence[Collection[str]] | None = None
        mask = None
        if exclude is not None and len(exclude) == len(queries) and _is_per_query(exclude):
            per_query = exclude  # type: ignore[assignment]
        elif exclude:
            mask = np.ones(len(self.doc_ids), dtype=np.float32)
            for doc_id in exclude:
                if isinstance(doc_id, str) and doc_id in self._positions:
                    mask[self._positions[doc_id]] = 0.0
        terms = self.query_terms(queries)
        extra = max((len(e) for e in per_query), default=0) if per_query else 0
        results: list[list[Hit]] = [[] for _ in queries]
        live = [i for i, t in enumerate(terms) if t]
        if not live:
            return results
        fetch = min(len(self.doc_ids), k + extra)
        if self.config.backend == "auto":
            # numba pays a ~5 s JIT once per process: worth it only for large batches.
            self.retriever.backend = _backend(self.config) if len(live) >= 256 else "numpy"
        docs, scores = self.retriever.retrieve(
            [terms[i] for i in live],
            k=fetch,
            show_progress=False,
            n_threads=n_threads,
            weight_mask=mask,
        )
        for row, qi in enumerate(live):
            banned = per_query[qi] if per_query else ()
            must = set(terms[qi]) if require_all_terms else None
            out: list[Hit] = []
            for pos, score in zip(docs[row], scores[row], strict=True):
                if score <= 0:
                    break
                doc_id = self.doc_ids[int(pos)]
                if doc_id in banned:
                    continue
                if must is not None and not self._contains_all(int(pos), must):
                    continue
                out.append(Hit(doc_id, float(score)))
                if len(out) == k:
                    break
            results[qi] = out
        return results

    def _contains_all(self, position: int, term_ids: set[int]) -> bool:
        scores = self.retriever.scores
        indptr, indices = scores["indptr"], scores["indices"]
        for term in term_ids:
            start, stop = int(indptr[term]), int(indptr[term + 1])
            column = indices[start:stop]
            found = np.searchsorted(column, position)
            if found >= len(column) or column[found] != position:
                return False
        return True


def _is_per_query(exclude: Any) -> bool:
    return all(not isinstance(e, str) and isinstance(e, Collection) for e in exclude)


def _backend(config: IndexConfig) -> str:
    if config.backend == "auto":
        try:
            import numba  # noqa: F401
        except ImportError:
            return "numpy"
        return "numba"
    return config.backend


def index_dir(key: str, cache_dir: str | Path | None = None) -> Path:
    """Folder where the index for ``key`` (a corpus fingerprint + unit + config) lives."""
    return (Path(cache_dir) if cache_dir else cache_root()) / "indexes" / key


def get_or_build_index(
    key: str,
    items: Callable[[], tuple[Sequence[str], Sequence[str]]],
    config: IndexConfig | None = None,
    *,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
) -> BM25Index:
    """Load the saved index for ``key``, or build it from ``items()`` (ids, texts) and save it.

    ``key`` must change whenever the indexed items would (use the corpus fingerprint plus what was
    chunked and how); building twice from the same corpus snapshot then reuses the saved index.
    """
    from filelock import FileLock

    config = config or IndexConfig()
    path = index_dir(f"{key}-{config.fingerprint()}", cache_dir)
    if (path / "litelong_index.json").is_file():
        return BM25Index.load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Workers of one run (num_proc, several machines on a shared disk) may all miss the index at once:
    # one builds it, the others wait and then load it.
    with FileLock(str(path) + ".lock"):
        if not (path / "litelong_index.json").is_file():
            ids, texts = items()
            BM25Index.build(ids, texts, config, show_progress=show_progress).save(path)
    return BM25Index.load(path)
