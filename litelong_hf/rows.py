"""Row schemas (DESIGN.md) as ``datasets`` features, and the functions that fill them.

Pretraining rows (litelong, nextlong, litelong-nextlong) and instruction rows (hierarchical-*) have
fixed columns so every config of a repo loads with the same code.
"""

from __future__ import annotations

from typing import Any

import datasets
import numpy as np
import pyarrow as pa

from .packing import PackedRow

SOURCE_FEATURE = {
    "doc_id": datasets.Value("string"),
    "role": datasets.Value("string"),
    "n_tokens": datasets.Value("int32"),
    "score": datasets.Value("float32"),
}
TOPIC_FEATURE = {
    "top": datasets.Value("string"),
    "sub": datasets.Value("string"),
    "title": datasets.Value("string"),
}

PRETRAINING_FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "text": datasets.Value("string"),
        "input_ids": datasets.List(datasets.Value("int32")),
        "n_tokens": datasets.Value("int32"),
        "piece_lengths": datasets.List(datasets.Value("int32")),
        "sources": datasets.List(SOURCE_FEATURE),
        "topic": TOPIC_FEATURE,
        "tokenizer": datasets.Value("string"),
        "strategy": datasets.Value("string"),
        "config_hash": datasets.Value("string"),
    }
)

INSTRUCTION_FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "messages": datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")}),
        "n_tokens": datasets.Value("int32"),
        "documents": datasets.List({"doc_id": datasets.Value("string"), "n_tokens": datasets.Value("int32")}),
        "questions": datasets.List(
            {
                "level": datasets.Value("string"),
                "kind": datasets.Value("string"),
                "doc_index": datasets.Value("int32"),
            }
        ),
        "tokenizer": datasets.Value("string"),
        "strategy": datasets.Value("string"),
        "config_hash": datasets.Value("string"),
    }
)

PRETRAINING_SCHEMA: pa.Schema = PRETRAINING_FEATURES.arrow_schema
INSTRUCTION_SCHEMA: pa.Schema = INSTRUCTION_FEATURES.arrow_schema


def row_id(config_hash: str, shard: int, index: int) -> str:
    """Stable row key: ``config-hash/shard/index``."""
    return f"{config_hash}/{shard:05d}/{index:06d}"


def pretraining_row(
    packed: PackedRow,
    *,
    id: str,
    tokenizer: str,
    strategy: str,
    config_hash: str,
    topic: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The row dict of DESIGN.md for one packed row (``input_ids`` stays an int32 array)."""
    return {
        "id": id,
        "text": packed.text,
        "input_ids": packed.input_ids,
        "n_tokens": packed.n_tokens,
        "piece_lengths": packed.piece_lengths,
        "sources": packed.sources,
        "topic": topic,
        "tokenizer": tokenizer,
        "strategy": strategy,
        "config_hash": config_hash,
    }


def pretraining_table(row: dict[str, Any]) -> pa.Table:
    """A one-row Arrow table; the id array is wrapped without a Python-list round trip."""
    ids = np.asarray(row["input_ids"], dtype=np.int32)
    input_ids = pa.ListArray.from_arrays(pa.array([0, len(ids)], type=pa.int32()), pa.array(ids))
    columns = {
        "id": pa.array([row["id"]], pa.string()),
        "text": pa.array([row["text"]], pa.string()),
        "input_ids": input_ids,
        "n_tokens": pa.array([row["n_tokens"]], pa.int32()),
        "piece_lengths": pa.array([row["piece_lengths"]], pa.list_(pa.int32())),
        "sources": pa.array([row["sources"]], PRETRAINING_SCHEMA.field("sources").type),
        "topic": pa.array([row["topic"]], PRETRAINING_SCHEMA.field("topic").type),
        "tokenizer": pa.array([row["tokenizer"]], pa.string()),
        "strategy": pa.array([row["strategy"]], pa.string()),
        "config_hash": pa.array([row["config_hash"]], pa.string()),
    }
    return pa.table(columns, schema=PRETRAINING_SCHEMA)


def instruction_table(row: dict[str, Any]) -> pa.Table:
    """A one-row Arrow table of an instruction row."""
    return pa.Table.from_pylist([row], schema=INSTRUCTION_SCHEMA)
