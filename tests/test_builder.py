"""The datasets builder, `litelong_hf.load`, shards and checkpoints (NExtLong rows: no LLM needed)."""

from __future__ import annotations

from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import litelong_hf
from litelong_hf.builders import LongContextBuilder
from litelong_hf.config import ConfigError
from litelong_hf.pipeline import NoRowsError, require_rows, run_shard, shard_files, shard_quota
from litelong_hf.presets import make_config, preset_names
from litelong_hf.report import RunReport

SMALL = {"max_documents": 400}


def test_every_preset_is_a_builder_config() -> None:
    names = set(LongContextBuilder.builder_configs)
    assert names == set(preset_names())
    assert {"litelong-128k", "nextlong-512k", "litelong-nextlong-128k"} <= names


def test_builder_class_directly(tmp_path: Path) -> None:
    builder = LongContextBuilder(config_name="nextlong-64k", cache_dir=str(tmp_path), num_rows=2, **SMALL)
    assert builder.resolved.target_tokens == 65_536 and builder.resolved.max_documents == 400
    with pytest.raises(FileNotFoundError, match="download_and_prepare"):
        builder.as_dataset("train")
    builder.download_and_prepare()
    ds = builder.as_dataset("train")
    assert isinstance(ds, datasets.Dataset) and len(ds) == 2
    # A thin reader over the shard parquet: datasets' cache holds no copy of the rows.
    assert not [p for p in Path(builder.cache_dir).parent.rglob("*") if p.is_file() and p.stat().st_size]
    assert ds.info.features == builder.info.features and ds.info.config_name == "nextlong-64k"
    files = [shard_files(builder.resolved, s).rows for s in range(builder.resolved.num_shards)]
    assert ds.to_list() == pq.read_table(files).to_pylist()
    assert list(builder.as_dataset()) == ["train"]  # no split: a DatasetDict, like datasets' builders
    assert all(len(ids) == 65_536 for ids in ds["input_ids"])
    streamed = list(builder.as_streaming_dataset("train"))
    assert [r["id"] for r in streamed] == list(ds["id"])


def test_cache_key_follows_the_config(tmp_path: Path) -> None:
    a = LongContextBuilder(config_name="nextlong-64k", cache_dir=str(tmp_path), **SMALL)
    b = LongContextBuilder(config_name="nextlong-64k", cache_dir=str(tmp_path), chunk_chars=1024, **SMALL)
    assert a.hash == a.resolved.config_hash() != b.hash
    assert a.cache_dir != b.cache_dir


def test_load_streaming_and_num_proc(tmp_path: Path) -> None:
    streamed = litelong_hf.load("nextlong-64k", streaming=True, num_rows=2, cache_dir=str(tmp_path), **SMALL)
    assert isinstance(streamed, datasets.IterableDataset)
    rows = list(streamed)
    assert len(rows) == 2 and all(r["n_tokens"] == 65_536 for r in rows)
    ds = litelong_hf.load(
        "nextlong-64k", num_proc=2, num_rows=4, num_shards=2, cache_dir=str(tmp_path / "np"), **SMALL
    )
    assert len(ds) == 4
    assert sorted({row_id.split("/")[1] for row_id in ds["id"]}) == ["00000", "00001"]  # two shards


def test_load_errors() -> None:
    with pytest.raises(ConfigError, match="single 'train' split"):
        litelong_hf.load("nextlong-64k", split="test")
    with pytest.raises(ConfigError, match="Valid fields"):
        LongContextBuilder(config_name="nextlong-64k", rows_per_topic=2)


def test_completed_shard_is_reused(tmp_path: Path) -> None:
    config = make_config("nextlong-64k", num_rows=1, cache_dir=str(tmp_path), **SMALL)
    path, report = run_shard(config, 0)
    stamp = Path(path).stat().st_mtime_ns
    again, report_again = run_shard(config, 0)
    assert again == path == shard_files(config, 0).rows and Path(again).stat().st_mtime_ns == stamp
    assert report_again.to_dict() == report.to_dict()
    assert not list(Path(path).parent.glob(".*.tmp"))  # nothing half-written left behind


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=64))
def test_shard_quotas_add_up(num_rows: int, num_shards: int) -> None:
    quotas = [shard_quota(num_rows, num_shards, s) for s in range(num_shards)]
    assert sum(q or 0 for q in quotas) == num_rows
    assert max(q or 0 for q in quotas) - min(q or 0 for q in quotas) <= 1
    assert shard_quota(None, num_shards, 0) is None


def test_no_rows_error_lists_reasons() -> None:
    report = RunReport(config_name="litelong-128k")
    report.skip("topic", "zero BM25 hits", 3)
    with pytest.raises(NoRowsError, match=r"zero BM25 hits \(3\)"):
        require_rows(report)


def test_report_merge_adds_counts_and_lists() -> None:
    a, b = RunReport(), RunReport()
    a.count("rows", 2)
    b.count("rows", 3)
    a.skip("topic", "zero BM25 hits")
    b.skip("topic", "zero BM25 hits", 2)
    a.llm["requests"], b.llm["requests"] = 4, 5
    a.extra["llm_failures"], b.extra["llm_failures"] = ["x"], ["y"]
    b.extra["models"] = {"judge": "m"}
    a.merge(b)
    assert a.stats["rows"] == 5 and a.skipped["topic"]["zero BM25 hits"] == 3 and a.llm["requests"] == 9
    assert a.extra == {"llm_failures": ["x", "y"], "models": {"judge": "m"}}
    assert RunReport.from_dict(a.to_dict()).to_dict() == a.to_dict()
