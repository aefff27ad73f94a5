"""Dense embeddings on 2 CPU cores: the embedded static path vs plain-transformers MiniLM (target >= 10x),
its recall@10 of the full model's neighbours, and exact-search latency by pool size (EXACT_MAX).

    python bench/dense.py [--chunks 600] [--baseline-chunks 96] [--skip-rows]

At the end, ``bench/dense_rows.py`` (BM25 / dense / hybrid negatives for ``nextlong-64k``) runs if present.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
from _common import check, finish, peak_rss_mb

from litelong_hf.corpus import CorpusConfig, load_documents
from litelong_hf.embeddings import EmbeddingConfig, make_embedder
from litelong_hf.index import DenseIndex
from litelong_hf.index.dense import BLOCK_ROWS
from litelong_hf.strategies.negatives.pool import ChunkPool, chunk_doc_id
from litelong_hf.tokens import TokenCounter


def chunks_per_second(embed, texts: list[str], batch: int = 32) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        embed(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - start)


def recall_at_10(full: np.ndarray, fast: np.ndarray, ids: list[str], queries: list[int]) -> float:
    """Mean share of the full model's top-10 neighbours (other documents only) that the fast model finds."""
    full_index, fast_index = DenseIndex.from_array(ids, full), DenseIndex.from_array(ids, fast)
    exclude = [{c for c in ids if chunk_doc_id(c) == chunk_doc_id(ids[q])} for q in queries]
    want = full_index.search_vectors(full[queries], 10, exclude)
    got = fast_index.search_vectors(fast[queries], 10, exclude)
    return float(
        np.mean(
            [
                len({h.doc_id for h in w} & {h.doc_id for h in g}) / max(1, len(w))
                for w, g in zip(want, got, strict=True)
            ]
        )
    )


def exact_latency(n: int, dim: int = 384, queries: int = 16) -> float:
    """Seconds for one exact search of ``queries`` vectors over ``n`` float16 vectors (block by block)."""
    rng = np.random.default_rng(0)
    vectors = np.empty((n, dim), dtype=np.float16)
    for start in range(0, n, BLOCK_ROWS):
        block = rng.normal(size=(min(BLOCK_ROWS, n - start), dim)).astype(np.float32)
        vectors[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)

    class Half:
        def __len__(self) -> int:
            return n

        dim = vectors.shape[1]

        def block(self, start: int, stop: int) -> np.ndarray:
            return vectors[start:stop].astype(np.float32)

        def rows(self, positions: np.ndarray) -> np.ndarray:
            return vectors[positions].astype(np.float32)

    index = DenseIndex([str(i) for i in range(n)], Half(), exact_max=n)
    q = vectors[:queries].astype(np.float32)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        index.search_vectors(q, 10)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--chunks", type=int, default=600, help="chunks of the recall pool (MiniLM embeds them all)"
    )
    parser.add_argument("--baseline-chunks", type=int, default=96, help="chunks timed through plain MiniLM")
    parser.add_argument("--skip-rows", action="store_true", help="skip bench/dense_rows.py")
    parser.add_argument(
        "--skip-latency", action="store_true", help="skip the exact-search latency by pool size"
    )
    args = parser.parse_args()

    docs = load_documents(CorpusConfig())
    pool = ChunkPool.from_documents(docs, TokenCounter.get(), chunk_chars=2048)
    texts = list(pool.texts)
    print(f"demo corpus: {len(docs):,} documents, {len(texts):,} chunks of <= 2,048 characters")

    start = time.perf_counter()
    static = make_embedder(EmbeddingConfig(), show_progress=False)
    print(
        f"  static table ready in {time.perf_counter() - start:.1f} s (distilled once per machine, then cached)"
    )
    minilm = make_embedder(EmbeddingConfig(backend="minilm"))
    sample = texts[: args.baseline_chunks]
    minilm.embed(sample[:8])  # warm-up outside the timing
    static.embed(sample[:8])
    base_rate = chunks_per_second(minilm.embed, sample)
    fast_rate = chunks_per_second(static.embed, texts, batch=64)
    print(f"  plain-transformers MiniLM: {base_rate:,.1f} chunks/s ({len(sample)} chunks, max 256 tokens)")
    print(f"  static (embedded default): {fast_rate:,.1f} chunks/s ({len(texts):,} chunks, whole chunks)")

    subset = pool.chunk_ids[: args.chunks]
    ids, sub_texts = list(subset), texts[: args.chunks]
    full = np.concatenate([minilm.embed(sub_texts[i : i + 32]) for i in range(0, len(sub_texts), 32)])
    fast = static.embed(sub_texts)
    queries = list(range(0, len(ids), max(1, len(ids) // 100)))[:100]
    recall = recall_at_10(full, fast, ids, queries)
    print(
        f"  recall@10 of the full model's neighbours: {recall:.1%} ({len(queries)} queries over {len(ids)} chunks, own document excluded)"
    )
    print(f"  peak RSS so far: {peak_rss_mb():,.0f} MiB")

    if not args.skip_latency:
        for n in (50_000, 200_000, 400_000):
            print(f"  exact search, 16 queries over {n:,} float16 vectors: {exact_latency(n):.3f} s")

    check("static chunks/s over plain-transformers MiniLM", fast_rate / base_rate, 10.0)
    rows_code = 0
    rows = Path(__file__).with_name("dense_rows.py")
    if rows.is_file() and not args.skip_rows:
        spec = importlib.util.spec_from_file_location("dense_rows", rows)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        try:
            rows_code = int(module.main([]) or 0)  # its own defaults, not our flags
        except SystemExit as exit_:
            rows_code = int(exit_.code or 0)
    finish()
    sys.exit(rows_code)


if __name__ == "__main__":
    main()
