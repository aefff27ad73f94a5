"""NExtLong negative mining: a pool of corpus chunks, a retriever over it, and the row plan of a meta-document.

* :mod:`.pool`: :class:`ChunkPool` holds every chunk of a set of documents (text, owner, token count,
  content class); :mod:`.stored` keeps one on disk, memory-mapped. Chunk ids are ``"{doc_id}#c{index:04d}"``
  with ``index`` the chunk's position in :func:`~litelong_hf.strategies.chunking.chunk_text` of its
  document, so :func:`chunk_doc_id` recovers the meta-document of any chunk.
* :mod:`.retriever`: :class:`NegativeRetriever` is what mining needs from a retriever;
  :class:`BM25ChunkRetriever` implements it with bm25s. A dense retriever only has to provide the same two
  methods.
* :mod:`.miner`: :class:`NegativeMiner` turns seed documents into :class:`MinedRow` plans: meta-chunks in
  order, each followed by its hardest unused negatives, exactly enough to fill ``target_tokens``.
* :mod:`.arithmetic`: :func:`negatives_per_chunk`, :func:`fill_round_robin`, :func:`trim_to_target`, pure.

Example (mining only among some documents, as ``litelong-nextlong`` does)::

    pool = ChunkPool.from_documents(docs, TokenCounter.get())
    miner = NegativeMiner(pool, BM25ChunkRetriever.build(pool), sep_tokens=1)
    [row] = miner.mine([SeedRequest(docs[0].id, 131_072)], pool_doc_ids=[d.id for d in docs[1:50]])
"""

from .arithmetic import Candidate, fill_round_robin, negatives_per_chunk, trim_to_target
from .miner import (
    MinedGroup,
    MinedRow,
    NegativeMiner,
    SeedRequest,
    Shortfall,
    describe,
    hardness_sample,
)
from .pool import (
    CHUNK_MARK,
    ChunkPool,
    CorpusTooSmallError,
    NegativeMiningError,
    chunk_doc_id,
    chunk_id,
)
from .retriever import BM25ChunkRetriever, NegativeRetriever

__all__ = [
    "CHUNK_MARK",
    "BM25ChunkRetriever",
    "Candidate",
    "ChunkPool",
    "CorpusTooSmallError",
    "MinedGroup",
    "MinedRow",
    "NegativeMiner",
    "NegativeMiningError",
    "NegativeRetriever",
    "SeedRequest",
    "Shortfall",
    "chunk_doc_id",
    "chunk_id",
    "describe",
    "fill_round_robin",
    "hardness_sample",
    "negatives_per_chunk",
    "trim_to_target",
]
