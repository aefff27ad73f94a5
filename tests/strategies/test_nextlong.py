"""NExtLong end to end: real rows from the demo corpus and small local corpora, through the pipeline."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from nextlong_corpora import synthetic_records, write_jsonl

from litelong_hf.config import ConfigError
from litelong_hf.pipeline import run_shard, shard_rows
from litelong_hf.presets import make_config
from litelong_hf.report import RunReport
from litelong_hf.strategies import make_strategy
from litelong_hf.strategies.base import shard_slice
from litelong_hf.strategies.negatives import CorpusTooSmallError, MinedRow, SeedRequest, chunk_doc_id
from litelong_hf.strategies.nextlong import (
    NExtLongConfig,
    NExtLongStrategy,
    hardness_summary,
    load_resources,
    seed_order,
)

PRESETS = {
    "nextlong-64k": 65_536,
    "nextlong-128k": 131_072,
    "nextlong-512k": 524_288,
    "nextlong-1m": 1_048_576,
}


def nextlong_config(name: str, **overrides: Any) -> NExtLongConfig:
    config = make_config(name, **overrides)
    assert isinstance(config, NExtLongConfig)
    return config


def generate(config: NExtLongConfig, n_rows: int | None = None) -> tuple[list[dict[str, Any]], RunReport]:
    report = RunReport()
    rows = list(shard_rows(make_strategy(config), 0, 1, report, n_rows))
    return rows, report


def rows_digest(rows: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(row["id"].encode() + row["text"].encode())
        digest.update(np.asarray(row["input_ids"], dtype=np.int32).tobytes())
        digest.update(repr(row["sources"]).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache folder for every demo-corpus test, so the chunk index is built once."""
    return str(tmp_path_factory.mktemp("nextlong-demo-cache"))


@pytest.fixture(scope="module")
def demo_128k(demo_cache: str) -> tuple[NExtLongConfig, list[dict[str, Any]], RunReport]:
    config = nextlong_config("nextlong-128k", cache_dir=demo_cache)
    rows, report = generate(config, 4)
    return config, rows, report


# ---------------------------------------------------------------------------------------------- configs


@pytest.mark.parametrize(("name", "target"), sorted(PRESETS.items()))
def test_presets_load_with_their_target(name: str, target: int) -> None:
    config = nextlong_config(name)
    assert (config.strategy, config.target_tokens, config.chunk_chars) == ("nextlong", target, 2048)
    assert config.mix_short_ratio == (2 if name == "nextlong-512k" else 0)
    assert config.mix_short_tokens == 65_536


def test_every_config_field_has_help_text() -> None:
    # The help text is the CLI's --help and the docs of every knob (field(metadata={"help": ...})).
    for f in dataclasses.fields(NExtLongConfig):
        assert len(f.metadata.get("help", "")) > 10, f.name


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"cut_policy": "drop_row"}, "cut_policy='truncate'"),
        ({"split_long_lines": "words"}, "split_long_lines"),
        ({"chunk_chars": 0}, "chunk_chars"),
        ({"overfetch": 0.5}, "overfetch"),
        ({"mix_short_ratio": -1}, "mix_short_ratio"),
        ({"bm25_backend": "jax"}, "bm25_backend"),
    ],
)
def test_bad_config_values_raise_config_error(override: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        nextlong_config("nextlong-64k", **override)


def test_strategy_needs_its_config() -> None:
    from litelong_hf.config import BaseConfig

    with pytest.raises(ConfigError, match="NExtLongConfig"):
        NExtLongStrategy(BaseConfig(strategy="nextlong"))


def test_mixed_recipe_targets_follow_the_ratio() -> None:
    config = nextlong_config("nextlong-512k")
    assert [config.target_for(i) for i in range(6)] == [524_288, 65_536, 65_536] * 2
    assert {nextlong_config("nextlong-128k").target_for(i) for i in range(5)} == {131_072}


def test_seed_order_is_a_seeded_permutation() -> None:
    order = seed_order(100, 42)
    assert sorted(order) == list(range(100)) and order == seed_order(100, 42) and order != seed_order(100, 43)


# ---------------------------------------------------------------------------------------------- demo rows


def test_rows_have_exactly_target_tokens(
    demo_128k: tuple[NExtLongConfig, list[dict[str, Any]], RunReport],
) -> None:
    config, rows, _ = demo_128k
    assert len(rows) == 4
    for row in rows:
        assert len(row["input_ids"]) == sum(row["piece_lengths"]) == row["n_tokens"] == config.target_tokens
        assert [s["n_tokens"] for s in row["sources"]] == row["piece_lengths"]
        assert (row["strategy"], row["tokenizer"], row["topic"]) == ("nextlong", "llama-3", None)


def test_meta_chunks_in_order_each_followed_by_its_own_negatives(
    demo_128k: tuple[NExtLongConfig, list[dict[str, Any]], RunReport],
) -> None:
    config, rows, _ = demo_128k
    resources = load_resources(config)
    pool, retriever = resources.pool, resources.retriever
    metas_seen: set[str] = set()
    for row in rows:
        sources = row["sources"]
        assert sources[0]["role"] == "meta"
        meta_doc = chunk_doc_id(sources[0]["doc_id"])
        assert meta_doc not in metas_seen  # every row has its own seed
        metas_seen.add(meta_doc)
        own_chunks = [pool.chunk_ids[i] for i in pool.chunk_range(meta_doc)]
        metas = [s["doc_id"] for s in sources if s["role"] == "meta"]
        assert metas == own_chunks  # every meta-chunk, in the original order
        assert row["text"].startswith(pool.texts[pool.positions[metas[0]]])

        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        head = ""
        for source in sources:
            assert source["role"] in ("meta", "negative")
            if source["role"] == "meta":
                head = source["doc_id"]
            else:
                assert chunk_doc_id(source["doc_id"]) != meta_doc  # no negative from the meta-document
                groups[head].append(source)
        assert len(groups) == len(metas)  # every meta-chunk has negatives
        for head, negatives in groups.items():
            ids = [n["doc_id"] for n in negatives]
            # Each negative's score is its BM25 score against the meta-chunk heading its group.
            expected = retriever.score([pool.texts[pool.positions[head]]], [ids])[0]
            assert np.allclose([n["score"] for n in negatives], expected, rtol=1e-4)
            scores = [n["score"] for n in negatives]
            assert scores == sorted(scores, reverse=True)


def test_demo_articles_become_multi_chunk_meta_documents(
    demo_128k: tuple[NExtLongConfig, list[dict[str, Any]], RunReport],
) -> None:
    config, rows, _ = demo_128k
    pool = load_resources(config).pool
    multi = sum(len(pool.chunk_range(d)) > 1 for d in pool.doc_order)
    assert multi > 0.5 * len(pool.doc_order)  # one line per article, yet most have several chunks
    assert max(sum(s["role"] == "meta" for s in row["sources"]) for row in rows) >= 2


def test_no_chunk_appears_twice_in_a_row(
    demo_128k: tuple[NExtLongConfig, list[dict[str, Any]], RunReport],
) -> None:
    config, rows, _ = demo_128k
    pool = load_resources(config).pool
    for row in rows:
        ids = [s["doc_id"] for s in row["sources"]]
        assert len(ids) == len(set(ids))
        texts = [pool.texts[pool.positions[i]] for i in ids]
        assert len(texts) == len(set(texts))  # not even as an exact duplicate from another document


def test_negative_count_follows_the_k_formula(
    demo_128k: tuple[NExtLongConfig, list[dict[str, Any]], RunReport],
) -> None:
    config, rows, report = demo_128k
    k_mean = report.stats["nextlong_k_sum"] / report.stats["nextlong_seeds_mined"]
    negatives_per_meta = report.stats["nextlong_negatives"] / report.stats["nextlong_meta_chunks"]
    # k comes from the mean chunk of the pool; hard negatives are longer than that mean (more shared terms),
    # so fewer of them fill the row, never more than k and never far fewer.
    assert 0.5 * k_mean <= negatives_per_meta <= 1.05 * k_mean
    for row in rows:  # the realised negatives are what the row's budget needs at their real length
        negatives = [s["n_tokens"] for s in row["sources"] if s["role"] == "negative"]
        meta_tokens = sum(s["n_tokens"] for s in row["sources"] if s["role"] == "meta")
        mean_negative = sum(negatives[:-1]) / max(1, len(negatives) - 1)  # the last one may be cut
        needed = (config.target_tokens - meta_tokens) / mean_negative
        assert abs(len(negatives) - needed) <= 0.05 * needed + 2


def test_hardness_report(demo_128k: tuple[NExtLongConfig, list[dict[str, Any]], RunReport]) -> None:
    config, _, report = demo_128k
    pool = load_resources(config).pool
    # Recomputed from the pieces themselves: every negative, its score and its outlet vs the seed's.
    own = RunReport()
    bundles = list(itertools.islice(make_strategy(config).drafts(0, 1, own), 5))
    hardness = own.extra["hardness"]
    negatives = [(b.key, p) for b in bundles for p in b.pieces if p.role == "negative"]
    assert hardness["negatives_scored"] == len(negatives) > 0
    mean = sum(p.score for _, p in negatives) / len(negatives)
    assert hardness["negative_mean_score"] == pytest.approx(mean, abs=1e-4)
    same = labelled = 0
    for seed, piece in negatives:
        seed_label, label = pool.labels.get(seed), pool.labels.get(chunk_doc_id(piece.doc_id))
        if seed_label is not None and label is not None:
            labelled += 1
            same += seed_label == label
    assert hardness["same_label_share"] == pytest.approx(same / labelled, abs=1e-4)
    metas = sum(p.role == "meta" for b in bundles for p in b.pieces)
    assert hardness["random_scored"] == metas * config.hardness_samples
    hardness = report.extra["hardness"]  # the whole run's
    assert hardness["negative_mean_score"] > 1.5 * hardness["random_mean_score"]
    assert hardness["same_label_share"] is not None and hardness["random_same_label_share"] is not None
    assert hardness["same_label_share"] > hardness["random_same_label_share"]
    merged = RunReport()
    merged.merge(report)
    merged.merge(report)
    assert hardness_summary(merged.stats)["negative_mean_score"] == hardness["negative_mean_score"]


def test_chunk_index_is_cached_and_memory_mapped(
    demo_128k: tuple[NExtLongConfig, list[dict[str, Any]], RunReport],
) -> None:
    config, _, report = demo_128k
    resources = load_resources(config)
    fingerprint = config.corpus_config().fingerprint()
    folders = [p.name for p in (Path(config.cache_dir or "") / "indexes").iterdir()]
    assert any(f.startswith(f"nextlong-chunks-{fingerprint}-c2048-sentences-") for f in folders)
    data = resources.retriever.index.shards[0].data
    assert not data.flags.owndata and isinstance(data.base, np.memmap)  # a view of the mapped file
    assert make_strategy(config).num_work_items() == report.stats["documents"] == 3775


def test_a_seed_gives_the_same_pieces_in_any_shard_or_batch(demo_cache: str) -> None:
    config = nextlong_config("nextlong-128k", cache_dir=demo_cache, num_shards=3)
    strategy = make_strategy(config)
    pool = load_resources(config).pool
    order = seed_order(len(pool.doc_order), config.seed)
    bundle = next(iter(strategy.drafts(2, 3, RunReport())))
    position = shard_slice(len(order), 2, 3).start
    assert bundle.key == pool.doc_order[order[position]] and bundle.kind == "seed" and bundle.max_rows == 1
    [alone] = strategy.miner().mine([SeedRequest(bundle.key, config.target_for(position))])
    assert isinstance(alone, MinedRow)
    assert list(bundle.pieces) == alone.pieces(pool)


def test_one_million_token_row(demo_cache: str) -> None:
    config = nextlong_config("nextlong-1m", cache_dir=demo_cache, num_rows=1)
    rows, report = generate(config, 1)
    assert len(rows) == 1
    row = rows[0]
    assert len(row["input_ids"]) == sum(row["piece_lengths"]) == row["n_tokens"] == 1_048_576
    assert report.stats["rows_1048576_tokens"] == 1


def test_512k_recipe_mixes_long_and_short_rows(demo_cache: str) -> None:
    config = nextlong_config("nextlong-512k", cache_dir=demo_cache)
    rows, report = generate(config, 3)
    assert [r["n_tokens"] for r in rows] == [524_288, 65_536, 65_536]
    assert all(len(r["input_ids"]) == r["n_tokens"] for r in rows)
    assert (report.stats["rows_524288_tokens"], report.stats["rows_65536_tokens"]) == (1, 2)


def test_same_seed_same_rows_byte_identical(tmp_path: Path, demo_cache: str) -> None:
    """Two runs in fresh cache folders write identical parquet shards; another seed does not."""
    overrides: dict[str, Any] = {"max_documents": 400, "num_rows": 3}
    first, _ = run_shard(nextlong_config("nextlong-64k", cache_dir=str(tmp_path / "a"), **overrides), 0)
    second, _ = run_shard(nextlong_config("nextlong-64k", cache_dir=str(tmp_path / "b"), **overrides), 0)
    assert Path(first).read_bytes() == Path(second).read_bytes()  # run_shard gives the (fsspec) path as a str
    table: pa.Table = pq.read_table(first)
    assert table.num_rows == 3 and set(table.column("n_tokens").to_pylist()) == {65_536}
    other, _ = run_shard(
        nextlong_config("nextlong-64k", cache_dir=str(tmp_path / "a"), seed=7, **overrides), 0
    )
    assert pq.read_table(other).column("text").to_pylist() != table.column("text").to_pylist()


def test_rows_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """A fresh interpreter with another hash seed produces the same rows (no set-order dependence)."""
    cache = str(tmp_path / "cache")
    overrides: dict[str, Any] = {"max_documents": 300, "cache_dir": cache}
    here = rows_digest(generate(nextlong_config("nextlong-64k", **overrides), 2)[0])
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_nextlong import generate, nextlong_config, rows_digest
        print(rows_digest(generate(nextlong_config("nextlong-64k", **{overrides!r}), 2)[0]))
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "LITELONG_HF_NO_PROGRESS": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip().splitlines()[-1] == here


# ---------------------------------------------------------------------------------------------- edge cases


def test_corpus_too_small_is_a_clear_value_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "tiny.jsonl", synthetic_records(5))
    config = nextlong_config("nextlong-64k", corpus=str(path), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(
        CorpusTooSmallError, match=r"Corpus too small .* hold [\d,]+ tokens .* needs 65,536"
    ) as info:
        run_shard(config, 0)
    assert isinstance(info.value, ValueError)
    assert "larger corpus" in str(info.value)


def test_documents_without_newlines_give_multi_chunk_meta_documents(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "one-line.jsonl", synthetic_records(40, newlines=False))
    common: dict[str, Any] = {"corpus": str(path), "target_tokens": 4096, "chunk_chars": 300}
    sentences, _ = generate(nextlong_config("nextlong-64k", cache_dir=str(tmp_path / "s"), **common), 5)
    literal, _ = generate(
        nextlong_config("nextlong-64k", cache_dir=str(tmp_path / "n"), split_long_lines="none", **common), 5
    )
    for rows, expect_single in ((sentences, False), (literal, True)):
        assert len(rows) == 5
        for row in rows:
            assert len(row["input_ids"]) == 4096
            metas = [s for s in row["sources"] if s["role"] == "meta"]
            assert (len(metas) == 1) is expect_single


def test_empty_documents_are_skipped_and_counted(tmp_path: Path) -> None:
    records = [{"id": f"empty-{i}", "text": t, "source": "x"} for i, t in enumerate(["", "   ", "\n\n\t"])]
    records += synthetic_records(30, newlines=True)
    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    config = nextlong_config(
        "nextlong-64k", corpus=str(path), min_chars=0, target_tokens=2048, cache_dir=str(tmp_path / "cache")
    )
    rows, report = generate(config)
    assert report.skipped["seed"]["empty meta-document (no text to chunk)"] == 3
    assert len(rows) == 30 == report.stats["seeds_with_rows"]
    assert all(len(r["input_ids"]) == 2048 for r in rows)
    assert report.total_skipped("seed") == 3
