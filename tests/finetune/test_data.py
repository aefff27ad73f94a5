"""Rows to training examples: tokenizer agreement, assistant-only labels, document-masking positions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import pytest
import torch
from finetune_helpers import make_instruction_rows, make_pretraining_rows

from litelong_hf.corpus import Document
from litelong_hf.finetune.data import (
    IGNORE_INDEX,
    RowCollator,
    assistant_labels,
    check_tokenizer,
    document_position_ids,
    load_rows,
    training_examples,
)
from litelong_hf.finetune.errors import TrainError
from litelong_hf.tokens import TokenCounter


def test_smollm2_alias_gives_canonical_rows_in_the_model_tokens(
    smollm2_rows: datasets.Dataset, smollm2_hf_tokenizer: Any
) -> None:
    counter = TokenCounter.get("smollm2")
    assert counter.backend_name == "tokenizers"
    assert counter.chat_template and "<|im_start|>" in counter.chat_template
    for row in smollm2_rows:
        assert len(row["input_ids"]) == 128 == row["n_tokens"]
        assert counter.encode(row["text"]) == row["input_ids"]
        assert smollm2_hf_tokenizer(row["text"], add_special_tokens=False)["input_ids"] == row["input_ids"]
    check_tokenizer(load_rows(smollm2_rows), smollm2_hf_tokenizer, "smollm2")


def test_rows_in_another_tokenizer_are_refused_with_the_fix(
    demo_documents: list[Document], smollm2_hf_tokenizer: Any
) -> None:
    llama_rows = load_rows(make_pretraining_rows(demo_documents, "llama-3", target_tokens=64, num_rows=2))
    with pytest.raises(TrainError, match=r"'llama-3'.*--tokenizer smollm2"):
        check_tokenizer(llama_rows, smollm2_hf_tokenizer, "smollm2")


def test_instruction_labels_are_ignored_everywhere_but_assistant_turns(smollm2_hf_tokenizer: Any) -> None:
    tok = smollm2_hf_tokenizer
    row = make_instruction_rows(tok, "smollm2", num_rows=1)[0]
    ids, labels = assistant_labels(tok, row["messages"])
    assert len(ids) == len(labels) == row["n_tokens"]
    trained = [i for i, lab in enumerate(labels) if lab != IGNORE_INDEX]
    assert all(labels[i] == ids[i] for i in trained)
    # the trained tokens are exactly the two answers, each with its end-of-turn token
    spans: list[list[int]] = []
    for i in trained:
        if spans and spans[-1][-1] == i - 1:
            spans[-1].append(i)
        else:
            spans.append([i])
    texts = [tok.decode([ids[i] for i in span]) for span in spans]
    assert [t.strip() for t in texts] == ["North, answer 0.<|im_end|>", "Blue.<|im_end|>"]
    # nothing of the user turns, the system prompt or the role headers is trained
    untrained = tok.decode([ids[i] for i in range(len(ids)) if labels[i] == IGNORE_INDEX])
    assert "Read the document" in untrained and "colour of the sky" in untrained
    assert "North" not in untrained and "Blue" not in untrained


def test_instruction_rows_counted_in_another_tokenizer_are_refused(smollm2_hf_tokenizer: Any) -> None:
    rows = make_instruction_rows(smollm2_hf_tokenizer, "llama-3", num_rows=1)
    rows = rows.map(lambda r: {"n_tokens": r["n_tokens"] + 9})
    with pytest.raises(TrainError, match="chat template gives"):
        check_tokenizer(load_rows(rows), smollm2_hf_tokenizer, "smollm2")


def test_document_position_ids_restart_per_piece() -> None:
    assert document_position_ids([3, 2, 1]) == [0, 1, 2, 0, 1, 0]


def test_collator_document_masking_positions_and_labels(smollm2_rows: datasets.Dataset) -> None:
    rows = load_rows(smollm2_rows)
    examples = training_examples(rows, None, document_masking=True)
    assert examples.column_names == ["input_ids", "seq_lengths"]
    batch = RowCollator(pad_token_id=0)([examples[0]])
    lengths = smollm2_rows[0]["piece_lengths"]
    assert len(lengths) >= 2
    positions = batch["position_ids"][0].tolist()
    starts = [sum(lengths[:k]) for k in range(len(lengths))]
    assert [i for i, p in enumerate(positions) if p == 0] == starts
    assert positions[starts[1] - 1] == lengths[0] - 1
    labels = batch["labels"][0]
    assert all(labels[s] == IGNORE_INDEX for s in starts)
    assert labels[1] == batch["input_ids"][0][1]


def test_collator_default_is_one_full_sequence_per_row(smollm2_rows: datasets.Dataset) -> None:
    examples = training_examples(load_rows(smollm2_rows), None)
    assert examples.column_names == ["input_ids"]
    batch = RowCollator(pad_token_id=0)([examples[0], examples[1]])
    # no position restarts, nothing masked: attention across the documents of a row
    assert set(batch) == {"input_ids", "labels", "attention_mask"}
    assert bool(batch["attention_mask"].all())
    assert batch["input_ids"].shape == (2, 128)
    assert torch.equal(batch["input_ids"][1], torch.tensor(smollm2_rows[1]["input_ids"]))


def test_collator_pads_ragged_batches() -> None:
    batch = RowCollator(pad_token_id=7)([{"input_ids": [1, 2, 3]}, {"input_ids": [4]}])
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 7, 7]]
    assert batch["labels"].tolist() == [[1, 2, 3], [4, IGNORE_INDEX, IGNORE_INDEX]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_load_rows_from_run_dir_and_errors(tmp_path: Path, smollm2_rows: datasets.Dataset) -> None:
    run = tmp_path / "run"
    smollm2_rows.save_to_disk(str(run / "dataset"))
    (run / "report.json").write_text('{"config_name": "nextlong-64k"}')
    rows = load_rows(str(run))
    assert rows.kind == "pretraining" and rows.num_rows == 8 and rows.tokenizer == "smollm2"
    assert rows.config_name == "nextlong-64k" and rows.config_hashes == ["testhash"]
    with pytest.raises(TrainError, match="does not exist"):
        load_rows(str(tmp_path / "missing" / "run"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TrainError, match="no saved rows"):
        load_rows(str(empty))
    with pytest.raises(TrainError, match="expected litelong-hf rows"):
        load_rows(datasets.Dataset.from_dict({"text": ["a"]}))
