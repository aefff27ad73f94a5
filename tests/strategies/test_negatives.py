"""Negative mining: pure arithmetic (hypothesis), the chunk pool, the BM25 chunk retriever and the miner."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nextlong_corpora import synthetic_records

from litelong_hf.corpus import Document
from litelong_hf.strategies.negatives import (
    BM25ChunkRetriever,
    ChunkPool,
    CorpusTooSmallError,
    MinedRow,
    NegativeMiner,
    SeedRequest,
    Shortfall,
    chunk_doc_id,
    chunk_id,
    fill_round_robin,
    negatives_per_chunk,
    trim_to_target,
)
from litelong_hf.tokens import TokenCounter

SETTINGS = settings(max_examples=200, deadline=None)


# ---------------------------------------------------------------------------------------------- pure parts


@given(doc_id=st.text(min_size=1, max_size=30), index=st.integers(min_value=0, max_value=99_999))
def test_chunk_id_round_trips_to_its_document(doc_id: str, index: int) -> None:
    assert chunk_doc_id(chunk_id(doc_id, index)) == doc_id


def test_chunk_id_format() -> None:
    assert chunk_id("news-00001", 3) == "news-00001#c0003"
    with pytest.raises(ValueError, match="not a chunk id"):
        chunk_doc_id("news-00001")


def test_negatives_per_chunk_examples() -> None:
    assert negatives_per_chunk(131_072, 1_072, 2, 500.0) == 130
    assert negatives_per_chunk(1_000, 1_000, 3, 10.0) == 0
    assert negatives_per_chunk(1_000, 5_000, 3, 10.0) == 0
    with pytest.raises(ValueError, match="at least one chunk"):
        negatives_per_chunk(1_000, 10, 0, 10.0)
    with pytest.raises(ValueError, match="mean_chunk_tokens"):
        negatives_per_chunk(1_000, 10, 1, 0.0)


@SETTINGS
@given(
    target=st.integers(1, 2_000_000),
    meta=st.integers(0, 100_000),
    p=st.integers(1, 500),
    mean=st.floats(1.0, 5_000.0),
)
def test_negatives_per_chunk_is_the_smallest_k_that_covers_the_target(
    target: int, meta: int, p: int, mean: float
) -> None:
    k = negatives_per_chunk(target, meta, p, mean)
    remaining = target - meta
    if remaining <= 0:
        assert k == 0
    else:
        assert k == math.ceil(remaining / (p * mean))
        assert k * p * mean >= remaining * (1 - 1e-12)


@SETTINGS
@given(
    lengths=st.lists(st.integers(1, 60), min_size=1, max_size=40),
    target=st.integers(1, 400),
    sep=st.integers(0, 3),
)
def test_trim_to_target_keeps_exactly_the_pieces_that_reach_the_row(
    lengths: list[int], target: int, sep: int
) -> None:
    keep = trim_to_target(lengths, target, sep)
    assert 0 <= keep <= len(lengths)

    def used(n: int) -> int:  # tokens of the first n pieces and the separators between them
        return sum(lengths[:n]) + sep * max(n - 1, 0)

    if lengths:
        assert keep >= 1
        # The last kept piece gets at least one token after its separator ...
        assert used(keep - 1) + (sep if keep > 1 else 0) < target
    if keep < len(lengths):
        # ... and the next piece would not: the row is full.
        assert used(keep) + sep >= target


candidate_lists = st.lists(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 30), st.integers(1, 50)), max_size=25),
    min_size=1,
    max_size=5,
)


@SETTINGS
@given(
    candidates=candidate_lists,
    used=st.lists(st.integers(0, 30), max_size=5),
    target=st.integers(1, 600),
    sep=st.integers(0, 2),
)
def test_fill_round_robin_never_repeats_content_and_stops_at_the_target(
    candidates: list[list[tuple[int, int, int]]], used: list[int], target: int, sep: int
) -> None:
    meta = [5] * len(candidates)
    picked, total = fill_round_robin(meta, candidates, used, target, sep)
    chosen = [candidates[g][j] for g, group in enumerate(picked) for j in group]
    contents = [c[1] for c in chosen]
    assert len(contents) == len(set(contents))
    assert not set(contents) & set(used)
    assert all(c[2] <= target for c in chosen)
    assert total == sum(meta) + sep * (len(meta) - 1) + sum(c[2] + sep for c in chosen)
    for g, group in enumerate(picked):
        assert group == sorted(group)  # each group takes its candidates best first
        assert all(0 <= j < len(candidates[g]) for j in group)
    if chosen:
        # Picks go in rounds (group 0, 1, ... each take one): the last pick is in the last group of the
        # longest size, and without it the row would be short: no more negatives than needed.
        rounds = max(len(group) for group in picked)
        last_group = max(g for g, group in enumerate(picked) if len(group) == rounds)
        last = candidates[last_group][picked[last_group][-1]]
        assert total - (last[2] + sep) < target


def test_fill_round_robin_balances_the_groups() -> None:
    candidates = [[(g * 100 + i, g * 100 + i, 10) for i in range(50)] for g in range(3)]
    picked, total = fill_round_robin([10, 10, 10], candidates, [], 30 + 25 * 11, 1)
    sizes = [len(g) for g in picked]
    assert max(sizes) - min(sizes) <= 1 and total >= 30 + 25 * 11
    assert picked[0][:3] == [0, 1, 2]


# ---------------------------------------------------------------------------------------------- pool


def _documents(records: list[dict[str, str]]) -> list[Document]:
    return [Document(r["id"], r["text"], {"source": r["source"]}) for r in records]


@pytest.fixture(scope="module")
def pool() -> ChunkPool:
    docs = _documents(synthetic_records(40, sentences=(8, 12), newlines=True))
    return ChunkPool.from_documents(docs, TokenCounter.get(), chunk_chars=300)


@pytest.fixture(scope="module")
def retriever(pool: ChunkPool) -> BM25ChunkRetriever:
    return BM25ChunkRetriever.build(pool)


def test_pool_ids_owners_counts_and_labels(pool: ChunkPool) -> None:
    assert len(pool) > 80
    for i, cid in enumerate(pool.chunk_ids):
        assert chunk_doc_id(cid) == pool.owners[i]
        assert pool.positions[cid] == i
    counter = TokenCounter.get()
    assert pool.n_tokens.tolist()[:5] == counter.count_batch(pool.texts[:5])
    assert pool.labels["doc-0001"] == "topic-1"
    assert pool.chunk_range("doc-0000") == range(*pool.spans["doc-0000"])


def test_pool_skips_blank_chunks_and_classes_duplicate_content() -> None:
    docs = [
        Document("a", "same words here\n" + " " * 40 + "\n" + "x" * 30, {}),
        Document("b", "same words here", {}),
        Document("c", "", {}),
    ]
    pool = ChunkPool.from_documents(docs, TokenCounter.get(), chunk_chars=20, label_field=None)
    assert pool.chunk_ids == ["a#c0000", "a#c0002", "b#c0000"]  # the blank chunk a#c0001 is left out
    assert pool.content[0] == pool.content[2] != pool.content[1]
    assert len(pool.chunk_range("c")) == 0 and pool.labels == {}


def test_pool_restrict_keeps_only_the_given_documents(pool: ChunkPool) -> None:
    sub = pool.restrict(["doc-0003", "doc-0001"])
    assert sub.doc_order == ["doc-0001", "doc-0003"]
    assert set(sub.owners) == {"doc-0001", "doc-0003"}
    for i, cid in enumerate(sub.chunk_ids):
        assert sub.texts[i] == pool.texts[pool.positions[cid]]
        assert sub.n_tokens[i] == pool.n_tokens[pool.positions[cid]]
    with pytest.raises(ValueError, match="not in the pool"):
        pool.restrict(["nope"])


# ---------------------------------------------------------------------------------------------- retriever


def test_search_is_sorted_excludes_per_query_and_respects_k(
    pool: ChunkPool, retriever: BM25ChunkRetriever
) -> None:
    queries = [pool.texts[0], pool.texts[10]]
    own = [[pool.chunk_ids[0]], [pool.chunk_ids[10], pool.chunk_ids[11]]]
    hits = retriever.search(queries, [5, 12], own)
    assert [len(h) for h in hits] == [5, 12]
    for group, banned in zip(hits, own, strict=True):
        scores = [h.score for h in group]
        assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
        assert not {h.doc_id for h in group} & set(banned)
    unrestricted = retriever.search(queries[:1], 1)
    assert unrestricted[0][0].doc_id == pool.chunk_ids[0]  # a chunk is its own best match


def test_search_allow_restricts_to_a_subset(pool: ChunkPool, retriever: BM25ChunkRetriever) -> None:
    allowed = [cid for cid in pool.chunk_ids if pool.owners[pool.positions[cid]] in {"doc-0004", "doc-0008"}]
    hits = retriever.search([pool.texts[0]], 50, allow=allowed)[0]
    assert hits and {h.doc_id for h in hits} <= set(allowed)


def test_score_equals_bm25s_get_scores(pool: ChunkPool, retriever: BM25ChunkRetriever) -> None:
    import bm25s

    tokenizer = retriever.index.term_tokenizer
    plain = bm25s.BM25()  # bm25s itself, indexing the same terms in one go
    terms_of = tokenizer.tokenize(pool.texts, update_vocab="never", return_as="ids", show_progress=False)
    plain.index((terms_of, tokenizer.get_vocab_dict()), show_progress=False)
    rng = np.random.default_rng(0)
    queries = [pool.texts[int(i)] for i in rng.integers(0, len(pool), 6)]
    wanted = [[pool.chunk_ids[int(j)] for j in rng.integers(0, len(pool), 7)] for _ in queries]
    got = retriever.score(queries, wanted)
    for terms, ids, scores in zip(retriever.index.query_terms(queries), wanted, got, strict=True):
        full = plain.get_scores(terms)
        assert np.allclose(scores, [full[retriever.index.position(c)] for c in ids], rtol=1e-5)
    assert retriever.score(["zzzz unknownword"], [[pool.chunk_ids[0]]]) == [[0.0]]


def test_search_and_score_agree_and_backends_match(pool: ChunkPool, retriever: BM25ChunkRetriever) -> None:
    queries = [pool.texts[i] for i in range(0, len(pool), 9)]
    hits = retriever.search(queries, 15)
    numba = BM25ChunkRetriever(retriever.index, backend="numba").search(queries, 15)
    assert numba == hits
    scored = retriever.score(queries, [[h.doc_id for h in group] for group in hits])
    assert scored == [[h.score for h in group] for group in hits]


# ---------------------------------------------------------------------------------------------- miner


def _check_row(row: MinedRow, pool: ChunkPool, target: int, sep: int) -> None:
    lengths = [int(pool.n_tokens[i]) for i in [g.meta for g in row.groups]]
    lengths += [int(pool.n_tokens[pool.positions[h.doc_id]]) for g in row.groups for h in g.negatives]
    n_pieces = len(lengths)
    assert row.planned_tokens == sum(lengths) + sep * (n_pieces - 1)
    assert row.planned_tokens >= target
    ids = [pool.chunk_ids[g.meta] for g in row.groups] + [h.doc_id for g in row.groups for h in g.negatives]
    assert len(ids) == len(set(ids))
    contents = [int(pool.content[pool.positions[c]]) for c in ids]
    assert len(contents) == len(set(contents))
    assert all(chunk_doc_id(h.doc_id) != row.doc_id for g in row.groups for h in g.negatives)


def test_miner_plans_exactly_enough_negatives(pool: ChunkPool, retriever: BM25ChunkRetriever) -> None:
    miner = NegativeMiner(pool, retriever, sep_tokens=1)
    seeds = [SeedRequest(d, 2_000) for d in pool.doc_order[:6]]
    results = miner.mine(seeds)
    assert len(results) == 6
    for seed, row in zip(seeds, results, strict=True):
        assert isinstance(row, MinedRow) and row.doc_id == seed.doc_id
        _check_row(row, pool, 2_000, 1)
        assert [g.meta for g in row.groups] == list(pool.chunk_range(seed.doc_id))[: len(row.groups)]
        pieces = row.pieces(pool)
        assert pieces[0].role == "meta" and pieces[0].doc_id.startswith(seed.doc_id + "#c")
        assert {p.role for p in pieces} == {"meta", "negative"}


def test_miner_is_the_same_in_one_batch_or_many(pool: ChunkPool, retriever: BM25ChunkRetriever) -> None:
    seeds = [SeedRequest(d, 1_500) for d in pool.doc_order[:8]]
    together = NegativeMiner(pool, retriever, sep_tokens=1, search_batch=1000).mine(seeds)
    apart = NegativeMiner(pool, retriever, sep_tokens=1, search_batch=1).mine(seeds)
    assert together == apart


def test_miner_restricted_to_pool_doc_ids(pool: ChunkPool, retriever: BM25ChunkRetriever) -> None:
    allowed = pool.doc_order[20:40]
    miner = NegativeMiner(pool, retriever, sep_tokens=1)
    [row] = miner.mine([SeedRequest("doc-0000", 1_500)], pool_doc_ids=allowed)
    assert isinstance(row, MinedRow)
    assert {chunk_doc_id(h.doc_id) for g in row.groups for h in g.negatives} <= set(allowed)
    _check_row(row, pool, 1_500, 1)


def test_miner_over_a_restricted_pool_with_its_own_index(pool: ChunkPool) -> None:
    sub = pool.restrict(pool.doc_order[:12])
    miner = NegativeMiner(sub, BM25ChunkRetriever.build(sub), sep_tokens=1)
    [row] = miner.mine([SeedRequest("doc-0004", 1_200)])
    assert isinstance(row, MinedRow)
    _check_row(row, sub, 1_200, 1)


def test_miner_reports_shortfalls_with_reasons(pool: ChunkPool, retriever: BM25ChunkRetriever) -> None:
    docs = [
        Document("empty", "   ", {}),
        Document("alien", "Qqqqxyz vvvvwww. Zzzzyyy kkkkjjj.", {}),
        *[Document(f"d{i}", pool.texts[i], {}) for i in range(30)],
    ]
    small = ChunkPool.from_documents(docs, TokenCounter.get(), chunk_chars=300)
    miner = NegativeMiner(small, BM25ChunkRetriever.build(small), sep_tokens=1)
    empty, alien, huge = miner.mine(
        [SeedRequest("empty", 500), SeedRequest("alien", 500), SeedRequest("d0", 5)]
    )
    assert isinstance(empty, Shortfall) and "empty meta-document" in empty.reason
    assert isinstance(alien, Shortfall) and "negatives exhausted" in alien.reason
    assert alien.needed_tokens == 500 and alien.available_tokens < 500
    assert isinstance(huge, Shortfall) and "longer than target_tokens" in huge.reason


def test_check_pool_names_available_and_needed_tokens(pool: ChunkPool, retriever: BM25ChunkRetriever) -> None:
    miner = NegativeMiner(pool, retriever, sep_tokens=1)
    miner.check_pool(pool.total_tokens)
    with pytest.raises(CorpusTooSmallError, match=r"hold [\d,]+ tokens .* needs 10,000,000") as info:
        miner.check_pool(10_000_000)
    assert isinstance(info.value, ValueError)


def test_cached_pool_on_disk_equals_the_in_memory_pool(tmp_path: Path) -> None:
    from nextlong_corpora import write_jsonl

    from litelong_hf.corpus import CorpusConfig, open_store

    records = synthetic_records(30, sentences=(8, 12), newlines=True)
    records[4]["text"] = records[3]["text"]  # a duplicate text (dedup keeps the first)
    records[7]["text"] = "   \n\n   " + "x" * 40  # a blank chunk before a short one
    source = write_jsonl(tmp_path / "c.jsonl", records)
    store = open_store(CorpusConfig(source=str(source), id_column="id"), cache_dir=tmp_path / "cache")
    counter = TokenCounter.get()
    memory = ChunkPool.from_documents(store.documents(), counter, chunk_chars=300)
    first = ChunkPool.cached(store, counter, tmp_path / "pool", chunk_chars=300)
    again = ChunkPool.cached(store, counter, tmp_path / "pool", chunk_chars=300)  # opened, not rebuilt
    for pool in (first, again):
        assert len(pool) == len(memory) and list(pool.chunk_ids) == list(memory.chunk_ids)
        assert list(pool.texts) == list(memory.texts) and list(pool.owners) == list(memory.owners)
        assert pool.n_tokens.tolist() == memory.n_tokens.tolist()
        assert pool.content.tolist() == memory.content.tolist()
        assert list(pool.doc_order) == list(memory.doc_order)
        assert {d: pool.spans[d] for d in memory.doc_order} == dict(memory.spans)
        assert {d: pool.labels[d] for d in memory.labels} == dict(memory.labels) and len(pool.labels) == len(
            memory.labels
        )
        assert all(pool.positions[c] == i for i, c in enumerate(memory.chunk_ids))
        with pytest.raises(KeyError):
            pool.positions["doc-0000#c9999"]
        assert "nope" not in pool.spans
    miner_a = NegativeMiner(memory, BM25ChunkRetriever.build(memory), sep_tokens=1)
    miner_b = NegativeMiner(first, BM25ChunkRetriever.build(first), sep_tokens=1)
    seeds = [SeedRequest(d, 2000) for d in memory.doc_order[:5]]
    assert miner_a.mine(seeds) == miner_b.mine(seeds)


def test_a_cached_chunk_index_runs_the_chosen_backend_and_is_checked_against_the_pool(
    pool: ChunkPool, retriever: BM25ChunkRetriever, tmp_path: Path
) -> None:
    from litelong_hf.index import IndexBuildError
    from litelong_hf.index.backends import accumulate_numba, accumulate_pread, accumulator

    cached = {
        b: BM25ChunkRetriever.cached("chunks", pool, cache_dir=str(tmp_path), backend=b)
        for b in ("numpy", "numba")
    }
    shards = cached["numba"].index.shards
    assert all(s.files is not None for s in shards)  # memory-mapped from the cache
    # bm25_backend="numba" now runs numba on the cached index (it used to fall back to pread every time).
    chosen = cached["numba"].index.backend_for(1, cached["numba"].backend)
    assert chosen == "numba" and all(accumulator(s, chosen) is accumulate_numba for s in shards)
    chosen = cached["numpy"].index.backend_for(1, cached["numpy"].backend)
    assert all(accumulator(s, chosen) is accumulate_pread for s in shards)
    queries = [pool.texts[i] for i in range(0, len(pool), 11)]
    expected = retriever.search(queries, 12)
    assert cached["numba"].search(queries, 12) == expected == cached["numpy"].search(queries, 12)
    # The same key over another pool (the corpus changed): refused once, in get_or_build_index.
    smaller = pool.restrict(pool.doc_order[:10])
    with pytest.raises(
        IndexBuildError, match=f"holds {len(pool):,} chunks that are not the {len(smaller):,} chunks"
    ):
        BM25ChunkRetriever.cached("chunks", smaller, cache_dir=str(tmp_path))
