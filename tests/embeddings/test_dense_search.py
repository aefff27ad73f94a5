"""Dense search equals brute-force cosine; the IVF path keeps the contract; the store's dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from litelong_hf.embeddings import Embedder, EmbeddingConfig, EmbeddingError, VectorStore, quantize_int8
from litelong_hf.index import DenseIndex, Hit, IndexBuildError
from litelong_hf.index.dense import top_k_in_order
from litelong_hf.strategies.negatives.dense import DenseChunkRetriever
from litelong_hf.strategies.negatives.pool import ChunkPool, NegativeMiningError, chunk_doc_id


def brute_force(
    vectors: np.ndarray, ids: list[str], query: np.ndarray, k: int, exclude: set[str], allow: set[str] | None
) -> list[tuple[str, float]]:
    """The reference: every cosine, in float64, sorted by score then position."""
    scores = vectors.astype(np.float64) @ query.astype(np.float64)
    ranked = [
        (float(s), i)
        for i, s in enumerate(scores)
        if s > 0 and ids[i] not in exclude and (allow is None or ids[i] in allow)
    ]
    ranked.sort(key=lambda pair: (-pair[0], pair[1]))
    return [(ids[i], s) for s, i in ranked[:k]]


def assert_same(hits: list[Hit], expected: list[tuple[str, float]]) -> None:
    assert [h.doc_id for h in hits] == [e[0] for e in expected]
    assert np.allclose([h.score for h in hits], [e[1] for e in expected], atol=1e-5)


def queries_of(pool: ChunkPool) -> tuple[list[str], list[set[str]]]:
    picks = [0, 17, 55, len(pool) - 1]
    queries = [pool.texts[i] for i in picks] + ["Garda appeal for witnesses after a crash in Dublin"]
    exclude = [
        {c for c in pool.chunk_ids if chunk_doc_id(c) == chunk_doc_id(pool.chunk_ids[i])} for i in picks
    ]
    return queries, [*exclude, set()]


def test_in_memory_search_equals_brute_force_cosine(pool: ChunkPool, static_embedder: Embedder) -> None:
    retriever = DenseChunkRetriever.build(pool)
    vectors = static_embedder.embed(list(pool.texts))
    queries, exclude = queries_of(pool)
    allow = set(pool.chunk_ids[::3])
    query_vectors = static_embedder.embed(queries, query=True)
    for k in (1, 10, len(pool)):
        for hits, q, ex in zip(retriever.search(queries, k, exclude), query_vectors, exclude, strict=True):
            assert_same(hits, brute_force(vectors, list(pool.chunk_ids), q, k, ex, None))
        allowed = retriever.search(queries, k, exclude, allow=allow)
        for hits, q, ex in zip(allowed, query_vectors, exclude, strict=True):
            assert_same(hits, brute_force(vectors, list(pool.chunk_ids), q, k, ex, allow))
    scores = retriever.score(queries[:1], [list(pool.chunk_ids[:5])])
    assert np.allclose(scores[0], vectors[:5] @ query_vectors[0], atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_stored_search_equals_brute_force_over_the_stored_vectors(
    pool: ChunkPool, static_embedder: Embedder, dtype: str
) -> None:
    config = EmbeddingConfig(dtype=dtype, batch_size=32)
    retriever = DenseChunkRetriever.cached(f"test-brute-{dtype}", pool, config, show_progress=False)
    store = retriever.index.vectors
    assert isinstance(store, VectorStore) and store.dtype == dtype and len(store) == len(pool)
    exact = static_embedder.embed(list(pool.texts))
    stored = store.block(0, len(store))
    cosines = np.sum(stored * exact, axis=1) / np.linalg.norm(stored, axis=1)
    assert cosines.min() > (0.9999 if dtype == "float16" else 0.999)
    queries, exclude = queries_of(pool)
    for hits, q, ex in zip(
        retriever.search(queries, 10, exclude),
        static_embedder.embed(queries, query=True),
        exclude,
        strict=True,
    ):
        assert_same(hits, brute_force(stored, list(pool.chunk_ids), q, 10, ex, None))
    again = DenseChunkRetriever.cached(f"test-brute-{dtype}", pool, config, show_progress=False)
    assert again.index.vectors.folder == store.folder  # type: ignore[attr-defined]


def test_ivf_search_keeps_the_contract(pool: ChunkPool, static_embedder: Embedder) -> None:
    exact = DenseChunkRetriever.cached("test-ivf", pool, show_progress=False)
    ivf = DenseChunkRetriever.cached("test-ivf", pool, show_progress=False, exact_max=10)
    assert ivf.index.mode == "ivf" and exact.index.mode == "exact"
    ivf.index.nprobe = 1_000  # every cell: only the 8-bit codes make it approximate
    queries, exclude = queries_of(pool)
    allow = set(pool.chunk_ids[::2])
    for restrict in (None, allow):
        got = ivf.search(queries, 10, exclude, allow=restrict)
        want = exact.search(queries, 10, exclude, allow=restrict)
        for hits, reference, ex in zip(got, want, exclude, strict=True):
            assert not {h.doc_id for h in hits} & ex
            assert restrict is None or {h.doc_id for h in hits} <= restrict
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
            overlap = len({h.doc_id for h in hits} & {h.doc_id for h in reference})
            assert overlap >= 0.9 * len(reference)
            common = {h.doc_id: h.score for h in reference}
            assert all(abs(common[h.doc_id] - h.score) < 1e-6 for h in hits if h.doc_id in common)


def test_top_k_breaks_ties_by_position() -> None:
    scores = np.array([0.5, 0.7, 0.5, 0.5, 0.7], dtype=np.float32)
    got_scores, got_positions = top_k_in_order(scores, np.arange(5), 3)
    assert got_positions.tolist() == [1, 4, 0] and got_scores.tolist() == pytest.approx([0.7, 0.7, 0.5])


def test_int8_codes_restore_the_vectors() -> None:
    vectors = np.random.default_rng(0).normal(size=(50, 16)).astype(np.float32)
    codes, scales = quantize_int8(vectors)
    assert codes.dtype == np.int8 and np.abs(codes).max() == 127
    assert np.abs(codes * scales[:, None] - vectors).max() <= scales.max() / 2 + 1e-7


def test_bad_inputs_fail_with_one_line() -> None:
    for bad, needle in [
        (lambda: EmbeddingConfig(backend="bert"), "embedding backend must be one of"),
        (lambda: EmbeddingConfig(dtype="float32"), "'float16' or 'int8'"),
        (lambda: EmbeddingConfig(backend="endpoint"), "--embedding-endpoint"),
        (lambda: EmbeddingConfig(batch_size=0), "batch_size must be >= 1"),
    ]:
        with pytest.raises(EmbeddingError, match=needle) as info:
            bad()
        assert "\n" not in str(info.value)
    index = DenseIndex.from_array(["a", "b"], np.eye(2, dtype=np.float32))
    with pytest.raises(IndexBuildError, match="k must be a positive number"):
        index.search_vectors(np.eye(2), 0)
    with pytest.raises(IndexBuildError, match="2 ids but 3 vectors"):
        DenseIndex.from_array(["a", "b"], np.eye(3, dtype=np.float32))
    with pytest.raises(NegativeMiningError, match="exclusion sets"):
        DenseChunkRetriever(index, None).search(["q"], 1, [set(), set()])  # type: ignore[arg-type]


def test_sentence_transformers_backend_matches_plain_minilm(minilm_embedder: Embedder) -> None:
    pytest.importorskip("sentence_transformers")
    from litelong_hf.embeddings import make_embedder, minilm_dir

    texts = ["The Garda appealed for witnesses.", "Cats purr when content."]
    config = EmbeddingConfig(backend="sentence-transformers", model=str(minilm_dir()))
    vectors = make_embedder(config).embed(texts)
    assert np.allclose(vectors, minilm_embedder.embed(texts), atol=1e-5)


def test_exact_search_does_not_depend_on_the_batch() -> None:
    """A query's hits are bit-for-bit the same searched in a batch or alone (no batched BLAS rounding)."""
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((3_000, 48)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = DenseIndex.from_array([f"c{i}" for i in range(len(vectors))], vectors)
    queries = vectors[rng.choice(len(vectors), 33, replace=False)] + 0.01
    together = index.search_vectors(queries, 25)
    alone = [index.search_vectors(queries[i : i + 1], 25)[0] for i in range(len(queries))]
    assert together == alone
