"""Row factories for the fine-tuning tests (imported by the tests and by conftest.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import datasets
import pytest

from litelong_hf.corpus import Document
from litelong_hf.packing import PackingConfig, Piece, RowPacker
from litelong_hf.rows import INSTRUCTION_FEATURES, PRETRAINING_FEATURES, pretraining_row
from litelong_hf.tokens import TokenCounter


def make_pretraining_rows(
    documents: list[Document], tokenizer: str, *, target_tokens: int, num_rows: int, seed: int = 0
) -> datasets.Dataset:
    """Exact, canonical pretraining rows (the project's own packer) in ``tokenizer``."""
    rng = random.Random(seed)
    picked = rng.sample(documents, min(len(documents), num_rows * 8))
    counter = TokenCounter.get(tokenizer)
    packer = RowPacker(counter, PackingConfig(target_tokens=target_tokens))
    # short pieces (the first ~target/3 tokens of each document), so every row holds several documents
    pieces = [Piece(text=d.text[: target_tokens * 2].rsplit(" ", 1)[0], doc_id=str(d.id)) for d in picked]
    rows: list[dict[str, Any]] = []
    for i, packed in enumerate(packer.pack(pieces)):
        row = pretraining_row(
            packed, id=f"test/{i:05d}", tokenizer=tokenizer, strategy="test", config_hash="testhash"
        )
        row["input_ids"] = [int(x) for x in row["input_ids"]]
        rows.append(row)
        if len(rows) == num_rows:
            break
    assert len(rows) == num_rows
    return datasets.Dataset.from_list(rows, features=PRETRAINING_FEATURES)


def make_instruction_rows(tokenizer: Any, tokenizer_name: str, num_rows: int = 3) -> datasets.Dataset:
    """Small conversations (document + two QA turns), ``n_tokens`` counted with ``tokenizer``'s template."""
    rows = []
    for i in range(num_rows):
        messages = [
            {
                "role": "user",
                "content": f"Read the document.\n\nDocument {i}: The river flows north.\n\nWhere?",
            },
            {"role": "assistant", "content": f"North, answer {i}."},
            {"role": "user", "content": "And the colour of the sky?"},
            {"role": "assistant", "content": "Blue."},
        ]
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        n_tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        rows.append(
            {
                "id": f"inst/{i}",
                "messages": messages,
                "n_tokens": n_tokens,
                "documents": [{"doc_id": str(i), "n_tokens": 8}],
                "questions": [{"level": "global", "kind": "detail", "doc_index": 0}],
                "tokenizer": tokenizer_name,
                "strategy": "hierarchical",
                "config_hash": "insthash",
            }
        )
    return datasets.Dataset.from_list(rows, features=INSTRUCTION_FEATURES)


@contextmanager
def cache_env(cache: Path) -> Iterator[None]:
    """Point litelong-hf's cache at ``cache`` (session fixtures run before the per-test environment)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LITELONG_HF_CACHE", str(cache))
    try:
        yield
    finally:
        mp.undo()
