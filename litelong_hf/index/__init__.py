"""Every BM25 search of litelong-hf: documents or chunks, sharded, memory-mapped, deterministic.

An index is one or more *shards*, each a plain bm25s index (``shard-0000/`` loads with
``bm25s.BM25.load(..., mmap=True)``), built in bounded memory from batches of texts. All shards share one
vocabulary and one table of global statistics (document count, document frequency of every term, mean
document length), so a document scores the same in a sharded index as in a single one, and a search that
fans out over the shards and merges their top-k returns exactly what one index would.

Searches are deterministic: hits are ordered by score, then by position in the index (insertion order), so
the hits at a tie never depend on the batch size, the number of shards or the backend (``numpy`` or
``numba`` accumulate the same float32 sums in the same order).

The package along its seams: :mod:`.config` (settings, errors, term tokenizer), :mod:`.scoring` (the pure
BM25 arithmetic), :mod:`.build` (bounded-memory building), :mod:`.storage` (the folder on disk),
:mod:`.backends` (score accumulation, one dispatcher), :mod:`.search` (:class:`BM25Index`) and
:mod:`.cache` (:func:`get_or_build_index`).

Example::

    index = BM25Index.build(["d1", "d2"], ["the sun is a star", "cats purr"])
    hits = index.search(["stars"], k=5)          # [[Hit(doc_id="d1", score=0.46)]]
    index.save("idx/"); index = BM25Index.load("idx/")   # memory-mapped
    index.search(["star cat"], k=5, require_all_terms=True, allow={"d1"}, exclude=[{"d2"}])
"""

from .build import IndexBuilder
from .cache import Batches, Items, check_ids, get_or_build_index, index_dir, index_path, shard_count
from .config import DEFAULT_SHARD_DOCS, Hit, IndexBuildError, IndexConfig, make_term_tokenizer
from .dense import DenseIndex
from .search import BM25Index

__all__ = [
    "DEFAULT_SHARD_DOCS",
    "BM25Index",
    "Batches",
    "DenseIndex",
    "Hit",
    "IndexBuildError",
    "IndexBuilder",
    "IndexConfig",
    "Items",
    "check_ids",
    "get_or_build_index",
    "index_dir",
    "index_path",
    "make_term_tokenizer",
    "shard_count",
]
