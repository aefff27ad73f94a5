"""Parquet and JSONL exports round-trip the same records; any fsspec URL works as --out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest
from export_fixtures import saved_rows

from litelong_hf.export import ExportError, export


def _expected(run: Path) -> list[dict[str, object]]:
    out = []
    for row in saved_rows(run):
        ends, start, spans = [], 0, []
        for length in row["piece_lengths"]:
            spans.append([start, start + length])
            start += length
            ends.append(start)
        out.append(
            {"input_ids": row["input_ids"], "indices": spans, "id": row["id"], "sources": row["sources"]}
        )
    return out


def test_parquet_round_trip(pretraining_run: Path, tmp_path: Path) -> None:
    result = export(pretraining_run, tmp_path / "pq", format="parquet", text=True, compression="zstd")
    table = pq.read_table(tmp_path / "pq" / result.shards[0])
    assert str(table.schema.field("input_ids").type) == "list<element: uint32>"
    rows = table.to_pylist()
    assert [{k: r[k] for k in ("input_ids", "indices", "id", "sources")} for r in rows] == _expected(
        pretraining_run
    )
    assert [r["text"] for r in rows] == [r["text"] for r in saved_rows(pretraining_run)]
    assert (
        pq.ParquetFile(tmp_path / "pq" / result.shards[0]).metadata.row_group(0).column(0).compression
        == "ZSTD"
    )


def test_jsonl_round_trip_and_size_limit(pretraining_run: Path, tmp_path: Path) -> None:
    result = export(pretraining_run, tmp_path / "jl", format="jsonl", size_limit=1, compression="gzip")
    assert result.shards == ["part-00000.jsonl.gz", "part-00001.jsonl.gz", "part-00002.jsonl.gz"]
    lines = [json.loads(gzip.decompress((tmp_path / "jl" / name).read_bytes())) for name in result.shards]
    assert [{k: r[k] for k in ("input_ids", "indices", "id", "sources")} for r in lines] == _expected(
        pretraining_run
    )
    assert "text" not in lines[0]


def test_instruction_rows_in_parquet_keep_the_mask(instruction_run: Path, tmp_path: Path) -> None:
    result = export(instruction_run, tmp_path / "pq", format="parquet")
    rows = pq.read_table(tmp_path / "pq" / result.shards[0]).to_pylist()
    assert [len(r["input_ids"]) for r in rows] == [r["n_tokens"] for r in saved_rows(instruction_run)]
    assert all(len(r["mask"]) == len(r["input_ids"]) and 0 < sum(r["mask"]) < len(r["mask"]) for r in rows)


def test_any_fsspec_url_is_an_output(pretraining_run: Path) -> None:
    url = "memory://exports/run-parquet"
    result = export(pretraining_run, url, format="parquet")
    fs = fsspec.filesystem("memory")
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls("/exports/run-parquet", detail=False)) == [
        "export.json",
        "part-00000.parquet",
    ]
    with fsspec.open(f"{url}/part-00000.parquet", "rb") as handle:
        assert pq.read_table(handle).num_rows == result.rows == 3
    with pytest.raises(ExportError, match="already holds files"):
        export(pretraining_run, url, format="parquet")
    fs.rm("/exports", recursive=True)
