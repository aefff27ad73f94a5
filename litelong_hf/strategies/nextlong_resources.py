"""NExtLong's per-process resources: the corpus, its chunk pool, the chunk index and the mining retriever.

They load once per process (keyed by corpus snapshot, chunking, tokenizer, index and retrieval settings) and
are shared by every strategy object with the same corpus and chunking (``nextlong``, ``litelong-nextlong``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .. import layout
from ..config import BaseConfig, ConfigError
from ..corpus import CorpusConfig, open_store
from ..index import IndexConfig
from ..report import RunReport
from ..tokens import TokenCounter
from .common import ResourceCache
from .negatives import BM25ChunkRetriever, ChunkPool, NegativeRetriever
from .negatives.hybrid import HybridChunkRetriever
from .negatives.options import RetrievalOptions

if TYPE_CHECKING:
    from .nextlong import NExtLongConfig


@dataclass
class NExtLongResources:
    """The chunk pool, its retriever and the load report of the corpus, shared within a process.

    ``bm25`` is always there (the hardness report's BM25 scores); ``dense`` when the run searches densely
    or reports cosines; ``retriever`` is the one that mines (one of them, or their fusion).
    """

    pool: ChunkPool
    retriever: NegativeRetriever
    corpus_report: RunReport
    bm25: BM25ChunkRetriever
    dense: Any = None
    """A :class:`~.negatives.dense.DenseChunkRetriever`, or ``None``."""
    kind: str = "bm25"


_RESOURCES: ResourceCache[tuple[Any, ...], NExtLongResources] = ResourceCache(maxsize=4)


def chunk_index_key(corpus: CorpusConfig, chunk_chars: int, split_long_lines: str) -> str:
    """Cache key of the chunk index of a corpus snapshot and chunking (the index config is appended)."""
    return layout.chunk_index_key(corpus.fingerprint(), chunk_chars, split_long_lines)


def load_resources(config: NExtLongConfig) -> NExtLongResources:
    """Load (once per process) the corpus, chunk pool and memory-mapped chunk index of ``config``."""
    corpus = config.corpus_config()
    index_config = mining_index_config(config)
    key = (
        corpus.fingerprint(),
        config.chunk_chars,
        config.split_long_lines,
        config.label_field,
        TokenCounter.get(config.tokenizer).name,
        index_config.fingerprint(),
        config.bm25_backend,
        config.cache_dir,
        retrieval_key(config),
    )

    def load() -> NExtLongResources:
        store = open_store(corpus, cache_dir=config.cache_dir)
        corpus_report = store.report()
        counter = TokenCounter.get(config.tokenizer)
        pool_key = chunk_index_key(corpus, config.chunk_chars, config.split_long_lines)
        pool = ChunkPool.cached(  # on disk and memory-mapped: built once per corpus snapshot
            store,
            counter,
            layout.index_dir(
                f"{pool_key}-pool-{_slug(counter.name)}-{_slug(str(config.label_field))}",
                config.cache_dir,
            ),
            chunk_chars=config.chunk_chars,
            split_long_lines=config.split_long_lines,
            label_field=config.label_field,
            show_progress=True,
        )
        bm25 = BM25ChunkRetriever.cached(
            chunk_index_key(corpus, config.chunk_chars, config.split_long_lines),
            pool,
            index_config,
            cache_dir=config.cache_dir,
            backend=config.bm25_backend,
        )
        dense = None
        if config.uses_dense:
            from .negatives.dense import DenseChunkRetriever

            dense = DenseChunkRetriever.cached(
                chunk_index_key(corpus, config.chunk_chars, config.split_long_lines),
                pool,
                config.embedding_config(),
                cache_dir=config.cache_dir,
                show_progress=True,
            )
        retriever = mining_retriever(config, bm25, dense)
        return NExtLongResources(pool, retriever, corpus_report, bm25, dense, config.retriever)

    return _RESOURCES.get(key, load)


def retrieval_key(config: RetrievalOptions) -> tuple[Any, ...]:
    """What of the retrieval options changes the loaded resources (not the key: it is never cached)."""
    if not config.uses_dense:
        return (config.retriever,)
    settings = config.embedding_config().settings()
    return (
        config.retriever,
        tuple(sorted(settings.items())),
        config.embedding_dtype,
        config.hybrid_rrf_k,
        config.hybrid_depth,
        getattr(config, "seed", 0),
    )


def mining_retriever(config: RetrievalOptions, bm25: NegativeRetriever, dense: Any) -> NegativeRetriever:
    """The retriever that mines: BM25, the dense one, or their reciprocal-rank fusion (seeded ties)."""
    if config.retriever == "bm25":
        return bm25
    if dense is None:
        raise ConfigError(f"retriever {config.retriever!r} needs the pool's embeddings; none were loaded.")
    if config.retriever == "dense":
        return dense
    return HybridChunkRetriever(
        bm25, dense, rrf_k=config.hybrid_rrf_k, depth=config.hybrid_depth, seed=getattr(config, "seed", 0)
    )


def _slug(text: str) -> str:
    """A short, path-safe tag of a name (tokenizer names may be paths)."""
    import hashlib
    import re

    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[-24:]
    return f"{clean}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def mining_index_config(config: BaseConfig) -> IndexConfig:
    """The BM25 settings of the chunk index (the backend is chosen per search, not stored)."""
    return replace(config.index_config(), backend="numpy")
