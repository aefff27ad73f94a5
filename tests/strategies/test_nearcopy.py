"""Near-copy filter: shingles and Jaccard, the filter itself, and planted near-copies in the demo corpus."""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litelong_hf.corpus import CorpusConfig, Document, iter_documents
from litelong_hf.presets import make_config
from litelong_hf.report import RunReport
from litelong_hf.strategies import make_strategy
from litelong_hf.strategies.negatives import (
    BM25ChunkRetriever,
    ChunkPool,
    MinedRow,
    NegativeMiner,
    SeedRequest,
    fill_round_robin,
)
from litelong_hf.strategies.negatives.nearcopy import NearCopyFilter, NearCopySettings, jaccard, shingles
from litelong_hf.strategies.nextlong import NExtLongConfig, load_resources
from litelong_hf.tokens import TokenCounter

THRESHOLD = 0.5
N_ARTICLES, N_COPIES = 400, 40


@functools.lru_cache(maxsize=20_000)
def grams(text: str, n: int = 8) -> frozenset[tuple[str, ...]]:
    """8-word shingles written out independently of the module under test."""
    words = "".join(c.lower() if c.isalnum() or c == "_" else " " for c in text).split()
    if len(words) <= n:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def brute_jaccard(a: str, b: str) -> float:
    x, y = grams(a), grams(b)
    if not x & y:
        return 0.0
    return len(x & y) / len(x | y)


# ---------------------------------------------------------------------------------------------- pure parts


def test_shingles_and_jaccard() -> None:
    assert sorted(shingles("A b, c d!", 3)) == ["a b c", "b c d"]
    assert shingles("Two words", 8) == frozenset(["two words"])
    assert shingles("  ...  ") == frozenset()
    a = shingles(" ".join(f"w{i}" for i in range(40)))
    b = shingles(" ".join(f"w{i}" if i != 20 else "changed" for i in range(40)))
    assert len(a) == 33 and len(a & b) == 25
    assert jaccard(a, b) == pytest.approx(25 / 41)
    assert jaccard(frozenset(), frozenset()) == 0.0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["sun", "moon", "star", "sky", "sea", "rain", "wind"]), min_size=0, max_size=40),
    st.lists(st.sampled_from(["sun", "moon", "star", "sky", "sea", "rain", "wind"]), min_size=0, max_size=40),
)
def test_jaccard_matches_a_brute_force_count(a: list[str], b: list[str]) -> None:
    x, y = " ".join(a), " ".join(b)
    assert jaccard(shingles(x), shingles(y)) == pytest.approx(brute_jaccard(x, y))


def test_filter_drops_near_copies_of_the_meta_chunk_and_of_admitted_negatives() -> None:
    words = [f"word{i}" for i in range(60)]
    meta = " ".join(words)
    other = " ".join(f"other{i}" for i in range(60))
    keep = NearCopyFilter([meta], NearCopySettings(jaccard=THRESHOLD))
    assert not keep.admit(" ".join([*words[:30], "changed", *words[31:]]))  # near-copy of the meta-chunk
    assert keep.admit(other)
    assert not keep.admit(other.replace("other7 ", "x "))  # near-copy of an admitted negative
    assert keep.admit(" ".join(words[:20]) + " " + " ".join(f"new{i}" for i in range(40)))  # J < 0.5
    assert keep.dropped == 2


def test_filter_cosine_test_and_inactive_settings() -> None:
    keep = NearCopyFilter(["a b c"], NearCopySettings(jaccard=None, cosine=0.9), np.asarray([[1.0, 0.0]]))
    assert not keep.admit("x y z", np.asarray([0.99, 0.141]))
    assert keep.admit("x y z", np.asarray([0.0, 1.0]))
    assert not keep.admit("p q r", np.asarray([0.1, 0.995]))  # near the admitted one
    assert keep.dropped == 2
    assert not NearCopySettings(jaccard=None, cosine=None).active
    with pytest.raises(ValueError, match="in \\(0, 1\\]"):
        NearCopySettings(jaccard=1.5)


def test_fill_round_robin_asks_accept_only_about_candidates_it_would_pick() -> None:
    asked: list[int] = []

    def accept(position: int) -> bool:
        asked.append(position)
        return position != 11

    candidates = [[(10, 0, 5), (11, 1, 5), (12, 0, 5), (13, 2, 5)]]  # 12 repeats content 0: never asked
    picked, total = fill_round_robin([5], candidates, [], 20, 0, accept)
    assert picked == [[0, 3]] and total == 15
    assert asked == [10, 11, 13]


def test_config_near_copy_options() -> None:
    config = make_config("nextlong-64k")
    assert config.near_copy_settings() == NearCopySettings(jaccard=0.5, cosine=None)  # type: ignore[attr-defined]
    dense = make_config("nextlong-64k", retriever="dense", near_copy_jaccard=None, near_copy_cosine=0.99)
    assert dense.near_copy_settings() == NearCopySettings(jaccard=None, cosine=0.99)  # type: ignore[attr-defined]
    bm25 = make_config("nextlong-64k", near_copy_cosine=0.99)  # no vectors: the cosine test does not apply
    assert bm25.near_copy_settings() == NearCopySettings(jaccard=0.5, cosine=None)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="near_copy_jaccard"):
        make_config("nextlong-64k", near_copy_jaccard=0.0)


# ---------------------------------------------------------------------------------------------- planted copies


def one_word_changed(text: str) -> str:
    words = text.split(" ")
    middle = len(words) // 2
    words[middle] = "Xylophone" if words[middle] != "Xylophone" else "Zeppelin"
    return " ".join(words)


@pytest.fixture(scope="module")
def planted() -> tuple[list[Document], list[str]]:
    """400 demo articles plus 40 copies of every tenth one with one word changed (ids ``copy-...``)."""
    docs = list(itertools.islice(iter_documents(CorpusConfig()), N_ARTICLES))
    originals = docs[:: N_ARTICLES // N_COPIES]
    copies = [Document(f"copy-{d.id}", one_word_changed(d.text), dict(d.meta)) for d in originals]
    return docs + copies, [d.id for d in originals]


def near_copy_pairs(row: MinedRow, pool: ChunkPool) -> list[tuple[str, str, float]]:
    """(earlier piece, negative, Jaccard) for every negative at or above the threshold vs a meta-chunk of
    the row or an earlier negative."""
    metas = [pool.texts[g.meta] for g in row.groups]
    seen: list[tuple[str, str]] = [
        (pool.chunk_ids[g.meta], t) for g, t in zip(row.groups, metas, strict=True)
    ]
    found = []
    for group in row.groups:
        for hit in group.negatives:
            text = pool.texts[pool.positions[hit.doc_id]]
            found += [(ref, hit.doc_id, j) for ref, t in seen if (j := brute_jaccard(t, text)) >= THRESHOLD]
    for group in row.groups:  # negatives against each other, whatever their order
        for hit in group.negatives:
            seen.append((hit.doc_id, pool.texts[pool.positions[hit.doc_id]]))
    negatives = seen[len(metas) :]
    for (a, ta), (b, tb) in itertools.combinations(negatives, 2):
        if (j := brute_jaccard(ta, tb)) >= THRESHOLD:
            found.append((a, b, j))
    return found


def test_planted_near_copies_are_kept_without_the_filter_and_dropped_with_it(
    planted: tuple[list[Document], list[str]],
) -> None:
    docs, originals = planted
    pool = ChunkPool.from_documents(docs, TokenCounter.get())
    retriever = BM25ChunkRetriever.build(pool)
    seeds = [SeedRequest(d, 16_384) for d in originals]
    plain = NegativeMiner(pool, retriever, sep_tokens=1).mine(seeds)
    filtered = NegativeMiner(pool, retriever, sep_tokens=1, near_copies=NearCopySettings()).mine(seeds)
    assert all(isinstance(r, MinedRow) for r in plain + filtered)
    kept = [p for r in plain if isinstance(r, MinedRow) for p in near_copy_pairs(r, pool)]
    own = [p for p in kept if p[1].startswith("copy-")]
    assert len(own) >= N_COPIES // 2, "the planted copies should be BM25's top hits of their originals"
    after = [p for r in filtered if isinstance(r, MinedRow) for p in near_copy_pairs(r, pool)]
    assert after == []
    dropped = sum(r.near_copies for r in filtered if isinstance(r, MinedRow))
    assert dropped >= len(own)
    for a, b in zip(plain, filtered, strict=True):  # the rows stay exactly full
        assert isinstance(a, MinedRow) and isinstance(b, MinedRow)
        assert b.planned_tokens >= b.target_tokens


def test_nextlong_rows_on_planted_copies_keep_none_and_report_the_share(
    planted: tuple[list[Document], list[str]], tmp_path: Path
) -> None:
    docs, _ = planted
    path = tmp_path / "planted.jsonl"
    path.write_text(
        "".join(json.dumps({"id": d.id, "text": d.text, **d.meta}) + "\n" for d in docs), encoding="utf-8"
    )
    common: dict[str, Any] = {
        "corpus": str(path),
        "id_column": "id",
        "cache_dir": str(tmp_path / "cache"),
        "target_tokens": 16_384,
    }
    config = make_config("nextlong-64k", **common)
    assert isinstance(config, NExtLongConfig)
    report = RunReport()
    strategy = make_strategy(config)
    bundles = list(itertools.islice(strategy.drafts(0, 1, report), 12))
    resources = load_resources(config)
    pool = resources.pool
    for bundle in bundles:
        metas = [p for p in bundle.pieces if p.role == "meta"]
        negatives = [p for p in bundle.pieces if p.role == "negative"]
        assert negatives
        for i, neg in enumerate(negatives):
            refs = metas + negatives[:i]
            assert max(brute_jaccard(r.text, neg.text) for r in refs) < THRESHOLD, (bundle.key, neg.doc_id)
    hardness = strategy.summarize(report)["hardness"]
    assert hardness["retriever"] == "bm25"
    assert hardness["near_copies"] == report.stats["nextlong_near_copies"]
    assert hardness["near_copy_share"] is not None and 0 <= hardness["near_copy_share"] < 1
    assert hardness["negative_mean_cosine"] is None  # a BM25 run has no embeddings unless asked
    assert len(pool) > 0


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"aZ_09 .,;-'\n\tÉé", "ß", "İ", "K"]), max_size=60))
def test_word_split_equals_the_regular_expression_for_ascii_and_other_text(text: str) -> None:
    import re

    from litelong_hf.strategies.negatives.shingle_index import _words

    assert _words(text) == [w.encode() for w in re.findall(r"\w+", text.lower())]


def test_a_shingle_hashes_alike_in_ascii_and_non_ascii_texts() -> None:
    from litelong_hf.strategies.negatives.shingle_index import ShingleIndex, shingle_hashes

    plain = "The senate passed the climate bill on Tuesday after a long debate"
    accented = plain + " — café"  # not ASCII: the regular-expression path
    index = ShingleIndex()
    index.add(shingle_hashes(plain, 4))
    assert index.max_jaccard(shingle_hashes(accented, 4)) == jaccard(
        shingles(plain, 4), shingles(accented, 4)
    )
    assert index.admit(shingle_hashes(accented, 4), 0.5) is False  # 9 of its 10 shingles shared: a near-copy
    assert len(index) == 1
