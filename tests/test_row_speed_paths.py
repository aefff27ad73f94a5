"""The fast paths of row making (issue 21) give exactly what the plain computations give."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from litelong_hf.strategies.negatives.nearcopy import NearCopyFilter, NearCopySettings, jaccard, shingles
from litelong_hf.strategies.negatives.shingle_index import ShingleIndex, shingle_hashes

WORDS = ["alpha", "Beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=30).map(" ".join)


def _reference_admits(metas: list[str], candidates: list[str], threshold: float, size: int) -> list[bool]:
    """The filter's rule with string shingles and plain set arithmetic."""
    refs = [shingles(t, size) for t in metas]
    out = []
    for text in candidates:
        found = shingles(text, size)
        best = max((jaccard(found, r) for r in refs if found and (found & r)), default=0.0)
        ok = best < threshold
        if ok:
            refs.append(found)
        out.append(ok)
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(texts, min_size=1, max_size=3),
    st.lists(texts, min_size=0, max_size=25),
    st.sampled_from([0.2, 0.5, 0.9, 1.0]),
    st.integers(1, 8),
)
def test_near_copy_filter_equals_string_shingles(
    metas: list[str], candidates: list[str], threshold: float, size: int
) -> None:
    keep = NearCopyFilter(metas, NearCopySettings(jaccard=threshold, shingle_words=size))
    got = [keep.admit(t) for t in candidates]
    assert got == _reference_admits(metas, candidates, threshold, size)
    assert keep.dropped == got.count(False)


@settings(max_examples=40, deadline=None)
@given(st.lists(texts, min_size=1, max_size=2), st.lists(texts, max_size=20), st.integers(1, 4))
def test_near_copy_filter_equals_string_shingles_over_many_references(
    metas: list[str], candidates: list[str], size: int
) -> None:
    # Up to 22 references, most of them sharing shingles: the index's rare-collision lists are exercised.
    keep = NearCopyFilter(metas, NearCopySettings(jaccard=0.5, shingle_words=size))
    got = [keep.admit(t) for t in candidates]
    assert got == _reference_admits(metas, candidates, 0.5, size)


@settings(max_examples=60, deadline=None)
@given(texts, texts, st.integers(1, 8))
def test_shingle_hashes_share_exactly_the_shared_shingles(a: str, b: str, size: int) -> None:
    ha, hb = shingle_hashes(a, size), shingle_hashes(b, size)
    assert len(ha) == len(shingles(a, size))
    assert len(np.intersect1d(ha, hb)) == len(shingles(a, size) & shingles(b, size))
    index = ShingleIndex()
    index.add(hb)
    expected = jaccard(shingles(a, size), shingles(b, size)) if shingles(a, size) else 0.0
    assert index.max_jaccard(ha) == expected


def test_a_short_text_shares_its_shingle_with_the_same_words_in_a_longer_text() -> None:
    short = shingle_hashes("a b c", 3)
    longer = shingle_hashes("x a b c y", 3)
    assert len(short) == 1 and short[0] in longer


_VOCAB = ["solar", "eclipse", "moon", "vote", "senate", "bill", "coal", "climate", "river", "storm"]
documents = st.lists(
    st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=12).map(" ".join), min_size=2, max_size=25
)


@settings(max_examples=25, deadline=None)
@given(documents, st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=6).map(" ".join), st.data())
def test_score_of_some_documents_equals_scoring_the_shard(
    docs: list[str], query: str, data: st.DataObject
) -> None:
    import tempfile

    from litelong_hf.index import BM25Index, IndexConfig
    from litelong_hf.index.backends import shard_scores
    from litelong_hf.index.scoring import scores_at

    method = data.draw(st.sampled_from(["lucene", "bm25+"]))
    ids = [f"d{i}" for i in range(len(docs))]
    index = BM25Index.build(ids, docs, IndexConfig(method=method), show_progress=False, shard_docs=7)
    with tempfile.TemporaryDirectory() as folder:
        index.save(folder)
        loaded = BM25Index.load(folder)
        terms = np.asarray(index.query_terms([query])[0], dtype=np.int64)
        for each in (index, loaded):
            for shard in each.shards:
                local = np.asarray(
                    data.draw(st.lists(st.integers(0, shard.n_docs - 1), max_size=6)), dtype=np.int64
                )
                if len(terms):
                    full = shard_scores(shard, terms, "numpy")[local]
                    assert scores_at(shard, terms, local).tobytes() == full.tobytes()
        wanted = [data.draw(st.lists(st.sampled_from(ids), max_size=5))]
        hits = {h.doc_id: h.score for h in index.search([query], k=len(ids))[0]}
        for score, doc in zip(loaded.score([query], wanted)[0], wanted[0], strict=True):
            assert score == hits.get(doc, score if score <= 0 else None)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=6), min_size=1, max_size=9000), st.data())
def test_string_column_take_equals_reading_one_by_one(values: list[str], data: st.DataObject) -> None:
    import tempfile
    from pathlib import Path

    from litelong_hf.idmap import StringColumn

    positions = data.draw(st.lists(st.integers(0, len(values) - 1), max_size=50))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "values.arrow"
        StringColumn.write(path, values)
        column = StringColumn(path)
        assert column.take(positions) == [column[p] for p in positions] == [values[p] for p in positions]


def test_the_shared_token_cache_is_one_per_counter_and_gives_the_counter_ids() -> None:
    from litelong_hf.tokens import TokenCache, TokenCounter

    counter = TokenCounter.get()
    cache = TokenCache.shared(counter)
    assert TokenCache.shared(counter) is cache
    texts = ["Long context, exactly counted.", "end.\n\nThe start", ""]
    before = cache.hits
    assert [a.tolist() for a in cache.encode_batch(texts)] == [counter.encode(t) for t in texts]
    assert [a.tolist() for a in cache.encode_batch(texts)] == [counter.encode(t) for t in texts]
    assert cache.hits - before >= len(texts)
