"""A killed embedding pass, run again, embeds only the batches that were not finished."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from litelong_hf import layout
from litelong_hf.embeddings import Embedder, VectorStore
from litelong_hf.strategies.negatives.pool import ChunkPool
from litelong_hf.testing.faults import EXIT_CODE

BATCH = 16
CRASH_AFTER = 2  # the pass dies right after batch 2 is on disk: batches 0, 1, 2 are finished

CHILD = """
import sys
from pathlib import Path
from litelong_hf.corpus import CorpusConfig, load_documents
from litelong_hf.embeddings import EmbeddingConfig, VectorStore, make_embedder
from litelong_hf.strategies.negatives.pool import ChunkPool
from litelong_hf.testing.faults import CrashOnce
from litelong_hf.tokens import TokenCounter

folder, marker = Path(sys.argv[1]), sys.argv[2]
BATCH, CRASH_AFTER = int(sys.argv[3]), int(sys.argv[4])
pool = ChunkPool.from_documents(load_documents(CorpusConfig())[:40], TokenCounter.get(), chunk_chars=600)
embedder = make_embedder(EmbeddingConfig(), show_progress=False)
VectorStore.get_or_build(folder, pool.chunk_ids, pool.texts, embedder, batch_size=BATCH, show_progress=False,
                         on_batch=CrashOnce(shard=CRASH_AFTER, marker=marker))
"""


class Counting:
    """An embedder that counts the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.texts = inner, inner.name, 0

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts, query=query)


def test_kill_and_rerun_repeats_no_finished_batch(
    pool: ChunkPool, static_embedder: Embedder, tmp_path: Path
) -> None:
    folder = layout.embedding_store_dir("test-resume")
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), str(tmp_path / "crashed"), str(BATCH), str(CRASH_AFTER)],
        capture_output=True,
        text=True,
    )
    assert child.returncode == EXIT_CODE, child.stderr[-2000:]
    finished = sorted(p.name for p in (folder / "batches").glob("b-*.npy"))
    assert finished == [f"b-{i:06d}.npy" for i in range(CRASH_AFTER + 1)]
    assert not (folder / "store.json").exists()

    counting = Counting(static_embedder)
    store = VectorStore.get_or_build(
        folder, pool.chunk_ids, pool.texts, counting, batch_size=BATCH, show_progress=False
    )
    assert counting.texts == len(pool) - (CRASH_AFTER + 1) * BATCH
    clean = VectorStore.get_or_build(
        tmp_path / "clean", pool.chunk_ids, pool.texts, static_embedder, batch_size=BATCH, show_progress=False
    )
    assert np.array_equal(np.asarray(store.vectors), np.asarray(clean.vectors))
    again = Counting(static_embedder)
    VectorStore.get_or_build(folder, pool.chunk_ids, pool.texts, again, batch_size=BATCH, show_progress=False)
    assert again.texts == 0  # a finished store is only read
