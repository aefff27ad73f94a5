"""Dense retrieval for negative mining: :class:`NegativeRetriever` over chunk embeddings and FAISS.

The chunks of a pool are embedded once per (chunk index key, model fingerprint) into a
:class:`~litelong_hf.embeddings.VectorStore` (resumable, memory-mapped), searched with
:class:`~litelong_hf.index.DenseIndex` (exact below ``EXACT_MAX`` chunks, IVF above). Queries are embedded
with the query prompt; scores are cosine similarities.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import numpy as np

from ... import layout
from ...embeddings import Embedder, EmbeddingConfig, VectorStore, make_embedder
from ...index import DenseIndex, Hit
from ...index.dense import ANN_FILE, EXACT_MAX
from .pool import ChunkPool, NegativeMiningError
from .retriever import Exclude, SearchFront

_QUERY_CACHE = 4096
"""Query vectors kept per retriever (mining scores the queries it has just searched)."""


class DenseChunkRetriever(SearchFront):
    """:class:`~.retriever.NegativeRetriever` over the embeddings of a :class:`ChunkPool`'s chunks.

    Args:
        index: a dense index whose ids are chunk ids (built by :meth:`build` or :meth:`cached`).
        embedder: the model that made its vectors (it embeds the queries).
    """

    def __init__(self, index: DenseIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def build(
        cls,
        pool: ChunkPool,
        embedding_config: EmbeddingConfig | None = None,
        *,
        cache_dir: str | Path | None = None,
    ) -> DenseChunkRetriever:
        """An in-memory exact index of ``pool`` (small pools, e.g. the documents of one LiteLong topic)."""
        if not len(pool):
            raise NegativeMiningError("Cannot index an empty chunk pool: the documents have no text.")
        config = embedding_config or EmbeddingConfig()
        embedder = make_embedder(config, cache_dir=cache_dir, show_progress=False)
        texts = list(pool.texts)
        vectors = np.concatenate(
            [
                embedder.embed(texts[i : i + config.batch_size])
                for i in range(0, len(texts), config.batch_size)
            ]
        )
        return cls(DenseIndex.from_array(pool.chunk_ids, vectors), embedder)

    @classmethod
    def cached(
        cls,
        key: str,
        pool: ChunkPool,
        embedding_config: EmbeddingConfig | None = None,
        *,
        cache_dir: str | Path | None = None,
        show_progress: bool = True,
        exact_max: int = EXACT_MAX,
        on_batch: Callable[[int], None] | None = None,
    ) -> DenseChunkRetriever:
        """The stored vectors (and, above ``exact_max`` chunks, the IVF index) for ``key`` and the model,
        embedded from ``pool`` on first use and resumed where a killed pass stopped."""
        if not len(pool):
            raise NegativeMiningError("Cannot index an empty chunk pool: the documents have no text.")
        config = embedding_config or EmbeddingConfig()
        embedder = make_embedder(config, cache_dir=cache_dir, show_progress=show_progress)
        folder = layout.embedding_store_dir(f"{key}-{embedder.fingerprint()}-{config.dtype}", cache_dir)
        store = VectorStore.get_or_build(
            folder,
            pool.chunk_ids,
            pool.texts,
            embedder,
            dtype=config.dtype,
            batch_size=config.batch_size,
            show_progress=show_progress,
            on_batch=on_batch,
        )
        ann = None
        if len(store) > exact_max:

            def build_ivf(tmp: Path) -> None:
                DenseIndex.build_ivf(store, tmp / ANN_FILE)

            built = layout.build_once(folder / "ivf", ANN_FILE, build_ivf)
            ann = built / ANN_FILE
        return cls(
            DenseIndex(pool.chunk_ids, store, ann_path=ann, exact_max=exact_max, positions=pool.positions),
            embedder,
        )

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Unit query vectors (the last :data:`_QUERY_CACHE` are kept)."""
        missing = list(dict.fromkeys(q for q in queries if q not in self._queries))
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing, query=True), strict=True):
                self._queries[text] = vector
                if len(self._queries) > _QUERY_CACHE:
                    self._queries.popitem(last=False)
        return np.stack([self._queries[q] for q in queries]) if queries else np.zeros((0, 0), np.float32)

    def _search(
        self, queries: Sequence[str], wanted: list[int], exclude: Exclude, allow: Collection[str] | None
    ) -> list[list[Hit]]:
        """Top chunks per query by cosine, best first, ties in pool order."""
        return self.index.search_vectors(
            self.embed_queries(queries), wanted, list(exclude) if exclude is not None else None, allow=allow
        )

    def score(self, queries: Sequence[str], chunk_ids: Sequence[Sequence[str]]) -> list[list[float]]:
        """Cosine of each ``chunk_ids[i]`` with ``queries[i]``."""
        if len(queries) != len(chunk_ids):
            raise NegativeMiningError(f"{len(queries)} queries but {len(chunk_ids)} id lists.")
        if not queries:
            return []
        return self.index.score_vectors(self.embed_queries(queries), chunk_ids)
