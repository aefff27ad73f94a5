"""NExtLong's retrievers: ``bm25``, ``dense`` (embedded static model) and ``hybrid`` (reciprocal-rank fusion)
behind one contract, and real rows mined by each."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nextlong_corpora import synthetic_records, write_jsonl

from litelong_hf.corpus import Document
from litelong_hf.index import Hit
from litelong_hf.pipeline import shard_rows
from litelong_hf.presets import make_config, preset_names
from litelong_hf.report import RunReport
from litelong_hf.strategies import make_strategy
from litelong_hf.strategies.negatives import (
    BM25ChunkRetriever,
    ChunkPool,
    NegativeMiner,
    SeedRequest,
    chunk_doc_id,
)
from litelong_hf.strategies.negatives.dense import DenseChunkRetriever
from litelong_hf.strategies.negatives.hybrid import HybridChunkRetriever, fuse, tie_key
from litelong_hf.strategies.nextlong import NExtLongConfig, load_resources
from litelong_hf.tokens import TokenCounter

pytest.importorskip("faiss")


@pytest.fixture(scope="module")
def pool() -> ChunkPool:
    records = synthetic_records(48, newlines=True, seed=3)
    docs = [Document(r["id"], r["text"], {"source": r["source"]}) for r in records]
    return ChunkPool.from_documents(docs, TokenCounter.get(), chunk_chars=400)


@pytest.fixture(scope="module")
def retrievers(
    pool: ChunkPool, tmp_path_factory: pytest.TempPathFactory, shared_artefacts: Path
) -> dict[str, Any]:
    cache = tmp_path_factory.mktemp("embed-cache")
    (cache / "embeddings").symlink_to(shared_artefacts / "embeddings")  # the static model, once a session
    bm25 = BM25ChunkRetriever.build(pool)
    dense = DenseChunkRetriever.build(pool, cache_dir=cache)
    return {"bm25": bm25, "dense": dense, "hybrid": HybridChunkRetriever(bm25, dense, seed=7)}


# ---------------------------------------------------------------------------------------------- fusion


hits_lists = st.lists(
    st.lists(st.sampled_from([f"c{i}" for i in range(12)]), unique=True, max_size=12), min_size=1, max_size=3
)


@settings(max_examples=150, deadline=None)
@given(hits_lists, st.integers(0, 100), st.integers(0, 3))
def test_fuse_is_rrf_sorted_with_seeded_ties(lists: list[list[str]], rrf_k: int, seed: int) -> None:
    ranked = [[Hit(c, 1.0) for c in ids] for ids in lists]
    fused = fuse(ranked, rrf_k, seed)
    assert {h.doc_id for h in fused} == {c for ids in lists for c in ids}
    for hit in fused:
        expected = sum(1 / (rrf_k + ids.index(hit.doc_id) + 1) for ids in lists if hit.doc_id in ids)
        assert hit.score == pytest.approx(expected) and hit.score > 0
    keys = [(-h.score, tie_key(seed, h.doc_id)) for h in fused]
    assert keys == sorted(keys)


def test_tie_key_is_seeded_and_stable() -> None:
    assert tie_key(1, "doc#c0001") == tie_key(1, "doc#c0001") != tie_key(2, "doc#c0001")
    code = "from litelong_hf.strategies.negatives.hybrid import tie_key; print(tie_key(5, 'a#c0000'))"
    out = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert out == {f"{tie_key(5, 'a#c0000')}\n"}  # not Python's per-process string hash


# ---------------------------------------------------------------------------------------------- contract


@pytest.mark.parametrize("kind", ["bm25", "dense", "hybrid"])
def test_every_retriever_keeps_the_search_contract(
    kind: str, pool: ChunkPool, retrievers: dict[str, Any]
) -> None:
    retriever = retrievers[kind]
    queries = [pool.texts[i] for i in (0, 5, 9)]
    exclude = [[pool.chunk_ids[i] for i in pool.chunk_range(pool.owners[i])] for i in (0, 5, 9)]
    hits = retriever.search(queries, [5, 7, 3], exclude)
    assert [len(h) for h in hits] == [5, 7, 3]
    for found, dropped in zip(hits, exclude, strict=True):
        assert all(h.score > 0 for h in found)
        assert [h.score for h in found] == sorted((h.score for h in found), reverse=True)
        assert not {h.doc_id for h in found} & set(dropped)  # never the meta-document's own chunks
    allow = set(pool.chunk_ids[::3])
    limited = retriever.search(queries, 4, exclude, allow=allow)
    assert all(h.doc_id in allow for found in limited for h in found)
    with pytest.raises(ValueError, match="k must be"):
        retriever.search(queries, 0)


def test_hybrid_is_deterministic_across_batches_and_instances(
    pool: ChunkPool, retrievers: dict[str, Any]
) -> None:
    hybrid = retrievers["hybrid"]
    queries = [pool.texts[i] for i in range(0, len(pool), 4)]
    together = hybrid.search(queries, 12)
    alone = [hybrid.search([q], 12)[0] for q in queries]
    again = HybridChunkRetriever(retrievers["bm25"], retrievers["dense"], seed=7).search(queries, 12)
    assert together == alone == again
    other_seed = HybridChunkRetriever(retrievers["bm25"], retrievers["dense"], seed=8).search(queries, 12)
    assert [[h.score for h in r] for r in other_seed] == [[h.score for h in r] for r in together]
    fused = hybrid.score(queries[:2], [[h.doc_id for h in together[0]], [h.doc_id for h in together[1]]])
    assert fused[0] == pytest.approx([h.score for h in together[0]])


def test_hybrid_fuses_what_both_backends_rank(pool: ChunkPool, retrievers: dict[str, Any]) -> None:
    query = [pool.texts[2]]
    lexical = {h.doc_id for h in retrievers["bm25"].search(query, 100)[0]}
    dense = {h.doc_id for h in retrievers["dense"].search(query, 100)[0]}
    fused = retrievers["hybrid"].search(query, 10)[0]
    assert {h.doc_id for h in fused} <= lexical | dense
    top = fused[0].doc_id
    assert top in lexical and top in dense  # a chunk both rank high beats one only one of them ranks


@pytest.mark.parametrize("kind", ["dense", "hybrid"])
def test_miner_with_dense_and_hybrid_plans_full_rows(
    kind: str, pool: ChunkPool, retrievers: dict[str, Any]
) -> None:
    miner = NegativeMiner(pool, retrievers[kind], sep_tokens=1)
    seeds = [SeedRequest(d, 2_048) for d in pool.doc_order[:6]]
    for seed, row in zip(seeds, miner.mine(seeds), strict=True):
        assert not isinstance(row, type(None))
        assert getattr(row, "planned_tokens", 0) >= seed.target_tokens
        negatives = [h.doc_id for g in row.groups for h in g.negatives]  # type: ignore[union-attr]
        assert len(negatives) == len(set(negatives))
        assert all(chunk_doc_id(n) != seed.doc_id for n in negatives)


# ---------------------------------------------------------------------------------------------- real rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, shared_artefacts: Path) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("retriever-corpus")
    path = write_jsonl(folder / "docs.jsonl", synthetic_records(80, newlines=True, seed=11))
    (folder / "cache").mkdir()
    (folder / "cache" / "embeddings").symlink_to(shared_artefacts / "embeddings")
    return str(path), str(folder / "cache")


def _rows(
    name: str, corpus: tuple[str, str], **overrides: Any
) -> tuple[NExtLongConfig, list[dict[str, Any]], RunReport]:
    path, cache = corpus
    config = make_config(
        name, corpus=path, id_column="id", cache_dir=cache, target_tokens=4096, chunk_chars=500, **overrides
    )
    assert isinstance(config, NExtLongConfig)
    report = RunReport()
    strategy = make_strategy(config)
    rows = list(shard_rows(strategy, 0, 1, report, 3))
    report.extra.update(strategy.summarize(report))
    return config, rows, report


@pytest.mark.parametrize(
    ("name", "overrides"), [("nextlong-dense-64k", {}), ("nextlong-64k", {"retriever": "hybrid"})]
)
def test_dense_and_hybrid_rows_are_exact_and_exclude_their_meta_document(
    name: str, overrides: dict[str, Any], corpus: tuple[str, str]
) -> None:
    config, rows, report = _rows(name, corpus, **overrides)
    assert len(rows) == 3
    pool = load_resources(config).pool
    for row in rows:
        assert len(row["input_ids"]) == sum(row["piece_lengths"]) == row["n_tokens"] == 4096
        sources = row["sources"]
        meta_doc = chunk_doc_id(sources[0]["doc_id"])
        assert [s["doc_id"] for s in sources if s["role"] == "meta"] == [
            pool.chunk_ids[i] for i in pool.chunk_range(meta_doc)
        ]
        ids = [s["doc_id"] for s in sources]
        assert len(ids) == len(set(ids))
        groups: dict[str, list[float]] = defaultdict(list)
        head = ""
        for s in sources:
            if s["role"] == "meta":
                head = s["doc_id"]
            else:
                assert chunk_doc_id(s["doc_id"]) != meta_doc
                groups[head].append(s["score"])
        assert all(scores == sorted(scores, reverse=True) for scores in groups.values())
    hardness = report.extra["hardness"]
    assert hardness["retriever"] == config.retriever
    assert hardness["negative_mean_cosine"] > hardness["random_mean_cosine"]
    assert hardness["negative_mean_score"] is not None and hardness["random_mean_score"] is not None
    assert hardness["near_copy_share"] is not None


def test_bm25_rows_report_cosines_when_asked(corpus: tuple[str, str]) -> None:
    _, _, plain = _rows("nextlong-64k", corpus)
    _, rows, asked = _rows("nextlong-64k", corpus, hardness_cosine=True)
    assert plain.extra["hardness"]["negative_mean_cosine"] is None
    cosine = asked.extra["hardness"]
    assert cosine["negative_mean_cosine"] > cosine["random_mean_cosine"]
    assert cosine["negative_mean_score"] == plain.extra["hardness"]["negative_mean_score"]
    assert len(rows) == 3


def test_dense_presets_and_their_cli_options() -> None:
    names = set(preset_names())
    assert {"nextlong-dense-64k", "nextlong-dense-128k", "litelong-nextlong-dense-128k"} <= names
    assert make_config("nextlong-dense-128k").retriever == "dense"  # type: ignore[attr-defined]
    combined = make_config("litelong-nextlong-dense-128k")
    assert combined.nextlong_config().retriever == "dense"  # type: ignore[attr-defined]
    assert make_config("litelong-nextlong-128k").retriever == "bm25"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="retriever must be one of"):
        make_config("nextlong-64k", retriever="colbert")
    from typer.testing import CliRunner

    from litelong_hf.cli import app

    result = CliRunner().invoke(app, ["generate", "nextlong-dense-64k", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    help_text = result.output
    for flag in ("--retriever", "--embedding-model", "--embedding-endpoint", "--near-copy-jaccard"):
        assert flag in help_text, flag
