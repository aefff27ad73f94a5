"""Records: ProLong spans from piece lengths, chat-rendered ids and the loss mask of instruction rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from export_fixtures import instruction_row
from hypothesis import given
from hypothesis import strategies as st

from litelong_hf.chat import LLAMA3_EOT, chat_format
from litelong_hf.corpus import Document
from litelong_hf.export import ExportError, document_spans
from litelong_hf.export.records import chat_ids_and_mask, instruction_records, pretraining_records

# Meta's Llama-3 Instruct template, as a Jinja string: it must give what the built-in format gives.
LLAMA3_JINJA = (
    "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def test_spans_follow_the_pieces() -> None:
    spans = document_spans([3, 2, 4])
    assert spans.dtype == np.uint32
    assert spans.tolist() == [[0, 3], [3, 5], [5, 9]]
    assert document_spans([], 7).tolist() == [[0, 7]]
    with pytest.raises(ExportError, match="negative"):
        document_spans([3, -1])


@given(st.lists(st.integers(min_value=0, max_value=100_000), min_size=1, max_size=50))
def test_spans_tile_the_row(lengths: list[int]) -> None:
    spans = document_spans(lengths)
    assert spans.shape == (len(lengths), 2)
    assert spans[0, 0] == 0 and spans[-1, 1] == sum(lengths)
    assert (spans[1:, 0] == spans[:-1, 1]).all()
    assert ((spans[:, 1] - spans[:, 0]) == np.asarray(lengths)).all()


def _batch(rows: list[dict[str, object]]) -> pa.RecordBatch:
    return pa.Table.from_pylist(rows).to_batches()[0]


def test_pretraining_records_keep_ids_and_provenance() -> None:
    rows = [
        {
            "id": "a",
            "text": "x",
            "input_ids": [5, 6, 7],
            "n_tokens": 3,
            "piece_lengths": [1, 2],
            "strategy": "s",
        },
        {"id": "b", "text": "y", "input_ids": [8, 9], "n_tokens": 2, "piece_lengths": [2], "strategy": "s"},
    ]
    records = list(pretraining_records(_batch(rows), text=False))
    assert [r["input_ids"].tolist() for r in records] == [[5, 6, 7], [8, 9]]
    assert [r["indices"].tolist() for r in records] == [[[0, 1], [1, 3]], [[0, 2]]]
    assert [(r["id"], r["n_tokens"], r["strategy"]) for r in records] == [("a", 3, "s"), ("b", 2, "s")]
    assert "text" not in records[0] and "piece_lengths" not in records[0]
    assert [r["text"] for r in pretraining_records(_batch(rows), text=True)] == ["x", "y"]


def test_pieces_that_miss_the_row_length_are_refused() -> None:
    rows = [{"id": "bad", "input_ids": [1, 2, 3], "piece_lengths": [1, 1]}]
    with pytest.raises(ExportError, match=r"'bad'.*sum to 2.*3 tokens"):
        list(pretraining_records(_batch(rows), text=False))


def _masked_runs(ids: np.ndarray, mask: np.ndarray) -> list[list[int]]:
    runs: list[list[int]] = []
    for token, flag, previous in zip(ids.tolist(), mask.tolist(), [0, *mask.tolist()[:-1]], strict=True):
        if flag and not previous:
            runs.append([])
        if flag:
            runs[-1].append(token)
    return runs


def test_the_mask_covers_exactly_the_answers(demo_documents: list[Document]) -> None:
    row = instruction_row(0, demo_documents)
    fmt = chat_format("llama-3")
    rendered, ids, mask = chat_ids_and_mask(fmt, row["messages"])  # type: ignore[arg-type]
    assert ids.tolist() == fmt.encode(row["messages"])  # type: ignore[arg-type]
    assert len(ids) == row["n_tokens"] and rendered == fmt.render(row["messages"])  # type: ignore[arg-type]
    answers = [m["content"].strip() + LLAMA3_EOT for m in row["messages"] if m["role"] == "assistant"]  # type: ignore[attr-defined]
    decoded = [fmt.counter.decode(run) for run in _masked_runs(ids, mask)]
    assert decoded == answers
    assert 0 < mask.sum() < len(mask) and mask[0] == 0


def test_a_jinja_template_masks_like_the_built_in_format(demo_documents: list[Document]) -> None:
    messages = instruction_row(1, demo_documents)["messages"]
    _, built_in_ids, built_in_mask = chat_ids_and_mask(chat_format("llama-3"), messages)  # type: ignore[arg-type]
    _, jinja_ids, jinja_mask = chat_ids_and_mask(chat_format("llama-3", LLAMA3_JINJA), messages)  # type: ignore[arg-type]
    assert jinja_ids.tolist() == built_in_ids.tolist()
    assert jinja_mask.tolist() == built_in_mask.tolist()


def test_instruction_rows_counted_with_another_template_are_refused(demo_documents: list[Document]) -> None:
    row = instruction_row(0, demo_documents)
    row["n_tokens"] = int(row["n_tokens"]) + 5  # type: ignore[call-overload]
    with pytest.raises(ExportError, match=r"counted at .*--chat-template"):
        list(instruction_records(_batch([row]), chat_format("llama-3"), text=False))
