"""An index on disk: its shards (bm25s folders), memory-mapped, and the files searches ``pread`` from.

A saved index is a folder: ``shard-0000/``... (each loads with ``bm25s.BM25.load(..., mmap=True)``), the
vocabulary (``vocab.tokenizer.json``), the ids by position (``doc_ids.arrow``), a hash index from id to
position (``ids*``) and ``litelong_index.json``, written last, listing the shards and the global statistics.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import layout
from ..arrays import pread_array
from ..idmap import IdIndex, StringColumn
from .config import INDEX_FORMAT, META, IndexBuildError, IndexConfig

_TRUNCATED: dict[str, Any] = {"error": IndexBuildError, "fix": "delete the index folder to rebuild it."}


@dataclass
class Shard:
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
    files: PostingFiles | None = field(default=None, repr=False)
    """Where ``data`` and ``indices`` lie on disk, for a loaded shard: the numpy backend reads postings
    with ``pread`` instead of through the mapping."""

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


class PostingFiles:
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

    def postings(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        return (
            pread_array(self.indices_fd, self.indices_offset, self.indices_dtype, lo, hi, **_TRUNCATED),
            pread_array(self.data_fd, self.data_offset, self.data_dtype, lo, hi, **_TRUNCATED),
        )

    def __del__(self) -> None:
        for fd in (getattr(self, "data_fd", -1), getattr(self, "indices_fd", -1)):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    continue


def save_index(
    path: Path,
    shards: Iterable[Shard],
    term_tokenizer: Any,
    doc_ids: Sequence[str],
    config: IndexConfig,
    stats: dict[str, Any],
) -> Path:
    """Write an index folder atomically, shard by shard (``shards`` may be a generator)."""
    import bm25s

    # A folder cannot be replaced through layout.atomic_path (files only): build beside it, then rename.
    with layout.atomic_folder(path) as tmp:
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
            "format": INDEX_FORMAT,
            "config": asdict(config),
            "n_docs": len(doc_ids),
            "shards": shards_meta,
            "stats": stats,
        }
        layout.atomic_write_json(tmp / META, meta)
    return path


@dataclass
class SavedIndex:
    """What :func:`load_index` reads from an index folder."""

    config: IndexConfig
    shards: list[Shard]
    doc_ids: StringColumn
    id_index: IdIndex
    stats: dict[str, Any]


def load_index(path: Path, *, use_mmap: bool = True) -> SavedIndex:
    """Open the index folder ``path`` (memory-mapped unless ``use_mmap`` is false)."""
    import bm25s

    meta_file = path / META
    if not meta_file.is_file():
        raise IndexBuildError(f"{path} is not a litelong-hf index (no {META}); build it first.")
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != INDEX_FORMAT:
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
            files = PostingFiles(scores["data"], scores["indices"])
        shards.append(
            Shard(
                data=plain(scores["data"]),
                indices=plain(scores["indices"]),
                indptr=plain(scores["indptr"]),
                n_docs=int(item["n_docs"]),
                start=int(item["start"]),
                nonoccurrence=retriever.nonoccurrence_array,
                maps=[m for m in maps if m is not None],
                files=files,
            )
        )
    doc_ids = StringColumn(path / "doc_ids.arrow")
    return SavedIndex(config, shards, doc_ids, IdIndex(path / "ids", doc_ids), dict(meta.get("stats", {})))


def plain(array: Any) -> np.ndarray:
    """A plain ndarray view of a (possibly memory-mapped) array: same pages, no copy, no memmap overhead."""
    return array.view(np.ndarray) if isinstance(array, np.memmap) else np.asarray(array)
