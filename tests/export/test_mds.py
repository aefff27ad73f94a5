"""MDS export read back by mosaicml-streaming's own reader and data loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from export_fixtures import ROW_TOKENS, saved_rows

from litelong_hf.chat import chat_format
from litelong_hf.export import export
from litelong_hf.export.streaming_import import import_streaming

streaming = import_streaming()


def read_back(folder: Path) -> list[dict[str, Any]]:
    dataset = streaming.StreamingDataset(local=str(folder), shuffle=False, batch_size=1)
    return [dataset[i] for i in range(dataset.num_samples)]


def test_the_reader_gets_back_our_ids_spans_and_provenance(pretraining_run: Path, tmp_path: Path) -> None:
    result = export(pretraining_run, tmp_path / "mds", format="mds")
    rows = saved_rows(pretraining_run)
    samples = read_back(tmp_path / "mds")
    assert result.rows == len(samples) == len(rows) == 3
    assert result.tokens == 3 * ROW_TOKENS
    for row, sample in zip(rows, samples, strict=True):
        assert sample["input_ids"].dtype == np.uint32
        assert sample["input_ids"].tolist() == row["input_ids"]
        ends = np.cumsum(row["piece_lengths"]).tolist()
        assert sample["indices"].tolist() == [[a, b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        assert len(sample["indices"]) > 1  # random-concat rows hold several documents
        for name in ("id", "n_tokens", "tokenizer", "strategy", "config_hash", "sources", "topic"):
            assert sample[name] == row[name], name
        assert "text" not in sample
    manifest = json.loads((tmp_path / "mds" / "export.json").read_text())
    assert manifest["rows"] == 3 and manifest["columns"]["input_ids"] == "ndarray:uint32"


def test_a_data_loader_batch_has_the_row_length(pretraining_run: Path, tmp_path: Path) -> None:
    export(pretraining_run, tmp_path / "mds", format="mds", text=True)
    dataset = streaming.StreamingDataset(local=str(tmp_path / "mds"), shuffle=False, batch_size=2)
    loader = streaming.StreamingDataLoader(
        dataset,
        batch_size=2,
        collate_fn=lambda items: {"input_ids": np.stack([i["input_ids"] for i in items])},
    )
    batch = next(iter(loader))
    assert batch["input_ids"].shape == (2, ROW_TOKENS)
    assert read_back(tmp_path / "mds")[0]["text"] == saved_rows(pretraining_run)[0]["text"]


def test_size_limit_and_compression_make_several_readable_shards(
    pretraining_run: Path, tmp_path: Path
) -> None:
    one_and_a_half_rows = ROW_TOKENS * 4 * 3 // 2  # bytes: one row fits a shard, two do not
    result = export(
        pretraining_run, tmp_path / "mds", format="mds", size_limit=one_and_a_half_rows, compression="zstd"
    )
    index = json.loads((tmp_path / "mds" / "index.json").read_text())
    assert [shard["samples"] for shard in index["shards"]] == [1, 1, 1]
    assert all(shard["compression"] == "zstd" for shard in index["shards"])
    assert all(name.endswith(".mds.zstd") for name in result.shards[1:])
    samples = read_back(tmp_path / "mds")
    assert [s["input_ids"].tolist() for s in samples] == [r["input_ids"] for r in saved_rows(pretraining_run)]


def test_instruction_rows_export_chat_ids_and_a_loss_mask(instruction_run: Path, tmp_path: Path) -> None:
    result = export(instruction_run, tmp_path / "mds", format="mds", text=True)
    assert result.kind == "instruction" and result.chat_template == "auto"
    samples = read_back(tmp_path / "mds")
    fmt = chat_format("llama-3")
    rows = saved_rows(instruction_run)  # the saved rows (any schema)
    for row, sample in zip(rows, samples, strict=True):
        assert sample["input_ids"].tolist() == fmt.encode(row["messages"])
        assert len(sample["input_ids"]) == row["n_tokens"] == len(sample["mask"])
        assert sample["mask"].dtype == np.uint8 and 0 < sample["mask"].sum() < row["n_tokens"]
        assert sample["indices"].tolist() == [[0, row["n_tokens"]]]
        assert sample["messages"] == row["messages"] and sample["text"] == fmt.render(row["messages"])
        assert sample["questions"] == row["questions"] and sample["documents"] == row["documents"]


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_a_second_export_over_the_first_needs_overwrite(
    pretraining_run: Path, tmp_path: Path, compression: str | None
) -> None:
    export(pretraining_run, tmp_path / "mds", format="mds", compression=compression)
    again = export(pretraining_run, tmp_path / "mds", format="mds", overwrite=True, size_limit=ROW_TOKENS * 6)
    assert len(json.loads((tmp_path / "mds" / "index.json").read_text())["shards"]) == len(again.shards) - 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mds"]  # no staging or replaced folder left
