"""Row schemas (DESIGN.md) as ``datasets`` features, and the functions that fill them.

Pretraining rows (litelong, nextlong, litelong-nextlong) and instruction rows (hierarchical-*) have
fixed columns so every config of a repo loads with the same code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import pyarrow as pa

from .packing import PackedRow, RowPacker, summarize_leftovers
from .report import RunReport
from .tokens import TokenCache, TokenCounter

if TYPE_CHECKING:
    from .config import BaseConfig
    from .strategies.base import Bundle, ConversationDraft, Draft

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


def instruction_row(
    draft: ConversationDraft, *, id: str, tokenizer: str, strategy: str, config_hash: str
) -> dict[str, Any]:
    """The instruction row dict of DESIGN.md for one conversation draft."""
    return {
        "id": id,
        "messages": [{"role": m["role"], "content": m["content"]} for m in draft.messages],
        "n_tokens": draft.n_tokens,
        "documents": [{"doc_id": str(d["doc_id"]), "n_tokens": int(d["n_tokens"])} for d in draft.documents],
        "questions": [
            {"level": q["level"], "kind": q["kind"], "doc_index": int(q["doc_index"])}
            for q in draft.questions
        ],
        "tokenizer": tokenizer,
        "strategy": strategy,
        "config_hash": config_hash,
    }


class RowMaker:
    """The one place rows are made: drafts of one shard in, finished row dicts out, in order.

    Pretraining bundles are packed into rows of exactly ``target_tokens`` (``packing.py``); conversation
    drafts become instruction rows as they are. Everything a draft leaves unused is counted in ``report``.
    """

    def __init__(self, config: BaseConfig, shard: int, report: RunReport) -> None:
        self.config = config
        self.shard = shard
        self.report = report
        self.config_hash = config.config_hash()
        self.made = 0
        self._counter: TokenCounter | None = None
        self._cache: TokenCache | None = None

    def _next_id(self) -> str:
        rid = row_id(self.config_hash, self.shard, self.made)
        self.made += 1
        return rid

    def rows(self, draft: Draft, quota: int | None = None) -> Iterator[dict[str, Any]]:
        """The rows of one draft; stops early once the shard has ``quota`` rows in all."""
        from .strategies.base import ConversationDraft

        if isinstance(draft, ConversationDraft):
            yield self._instruction(draft)
        else:
            yield from self._pretraining(draft, quota)

    def _instruction(self, draft: ConversationDraft) -> dict[str, Any]:
        c = self.config
        row = instruction_row(
            draft,
            id=self._next_id(),
            tokenizer=c.tokenizer,
            strategy=c.strategy,
            config_hash=self.config_hash,
        )
        report = self.report
        report.count("rows")
        report.count("row_tokens", draft.n_tokens)
        report.count("documents_in_rows", len(draft.documents))
        for question in draft.questions:
            report.count(f"questions_{question['level']}")
        return row

    def _pretraining(self, bundle: Bundle, quota: int | None) -> Iterator[dict[str, Any]]:
        c, report = self.config, self.report
        if self._counter is None:
            self._counter = TokenCounter.get(c.tokenizer)
            self._cache = TokenCache.shared(self._counter)  # documents shared by bundles: tokenized once
        target = bundle.target_tokens or c.target_tokens
        packer = RowPacker(self._counter, c.packing_config(target), cache=self._cache)
        leftovers: list[Any] = []
        made = 0
        for packed in packer.pack(bundle.pieces, leftovers):
            yield pretraining_row(
                packed,
                id=self._next_id(),
                tokenizer=c.tokenizer,
                strategy=c.strategy,
                config_hash=self.config_hash,
                topic=bundle.topic,
            )
            made += 1
            report.count("rows")
            report.count("tokens", packed.n_tokens)
            report.count(f"rows_{target}_tokens")
            report.count("tokens_cut_from_last_piece", packed.cut_tokens)
            if packed.filler:  # drop_row: the row ends with a cut filler piece (its yield, in the report)
                report.count("rows_with_filler_piece")
            if (bundle.max_rows is not None and made >= bundle.max_rows) or (
                quota is not None and self.made >= quota
            ):
                break
        if made == 0:
            report.skip(bundle.kind, f"not enough text to fill one {target}-token row")
        else:
            report.count(f"{bundle.kind}s_with_rows")
        for reason, n in summarize_leftovers(leftovers).items():
            report.skip("piece", reason, n)
