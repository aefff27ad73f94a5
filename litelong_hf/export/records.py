"""Rows in, trainer records out: pure functions, no files.

A record is what one exported sample holds:

- pretraining rows: ``input_ids`` (uint32), ``indices`` (ProLong's per-document ``(start, end)`` token
  spans, from the row's ``piece_lengths``), optional ``text``, and every provenance column of the row
  (``id``, ``n_tokens``, ``sources``, ``topic``, ``tokenizer``, ``strategy``, ``config_hash``...);
- instruction rows (hierarchical QA): ``input_ids`` of the chat-template rendering (the ids ``n_tokens``
  counts), ``mask`` (uint8, 1 on the tokens a trainer computes loss on: the assistant turns, end-of-turn
  token included), ``indices`` = one span (the conversation), optional ``text`` (the rendered
  conversation) and ``messages``, and the provenance columns (``documents``, ``questions``...).

Example::

    spans = document_spans([3, 2])            # array([[0, 3], [3, 5]], dtype=uint32)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from ..chat import ChatFormat, JinjaChatFormat, Llama3ChatFormat, encode_with_special_tokens
from .errors import ExportError

RowKind = Literal["pretraining", "instruction"]

TOKEN_DTYPE = np.uint32
"""Token ids and spans: Llama-3's 128,256 ids need more than 16 bits."""

_DERIVED = {"pretraining": ("input_ids", "piece_lengths", "text"), "instruction": ("messages", "text")}
"""Source columns a record replaces with its own (ids, spans, mask, text)."""


@dataclass(frozen=True)
class Column:
    """One exported column: its MDS encoding and its Arrow type (parquet)."""

    name: str
    mds: str
    arrow: pa.DataType


def row_kind(column_names: Sequence[str]) -> RowKind:
    """``pretraining`` (rows with ``input_ids``) or ``instruction`` (rows with ``messages``)."""
    names = set(column_names)
    if "input_ids" in names:
        return "pretraining"
    if "messages" in names:
        return "instruction"
    raise ExportError(
        f"The rows have columns {sorted(names)}; expected litelong-hf rows (input_ids for pretraining rows, "
        "messages for instruction rows). Export a folder written by `litelong-hf generate --out DIR`."
    )


def _mds_encoding(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "str"
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "int"
    if pa.types.is_floating(kind):
        return "float64"
    return "json"  # lists, structs, nulls: MDS keeps them as JSON


def columns(schema: pa.Schema, kind: RowKind, *, text: bool) -> list[Column]:
    """The exported columns of rows with ``schema``: the record's own, then the row's provenance."""
    ids = pa.list_(pa.uint32())
    spans = pa.list_(pa.list_(pa.uint32(), 2))
    out = [Column("input_ids", "ndarray:uint32", ids), Column("indices", "ndarray:uint32", spans)]
    if kind == "instruction":
        out.append(Column("mask", "ndarray:uint8", pa.list_(pa.uint8())))
    if text:
        out.append(Column("text", "str", pa.string()))
        if kind == "instruction":
            out.append(Column("messages", "json", schema.field("messages").type))
    for field in schema:
        if field.name not in _DERIVED[kind]:
            out.append(Column(field.name, _mds_encoding(field.type), field.type))
    return out


# ------------------------------------------------------------------------------------------ pretraining


def document_spans(piece_lengths: Sequence[int] | np.ndarray, n_tokens: int | None = None) -> np.ndarray:
    """ProLong's ``indices``: the ``(start, end)`` token span of every piece, shape ``(pieces, 2)``.

    No piece lengths (a row without boundaries) give one span over the whole row (``n_tokens``).
    """
    lengths = np.asarray(piece_lengths, dtype=np.int64)
    if lengths.size == 0:
        return np.asarray([[0, n_tokens or 0]], dtype=TOKEN_DTYPE)
    if (lengths < 0).any():
        raise ExportError(f"piece_lengths {lengths.tolist()[:8]} hold a negative length.")
    ends = np.cumsum(lengths)
    starts = ends - lengths
    return np.stack([starts, ends], axis=1).astype(TOKEN_DTYPE)


def _list_slices(array: pa.Array) -> Iterator[np.ndarray]:
    """The rows of a list<int> Arrow array as numpy views (no Python lists in between)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    values = array.values.to_numpy(zero_copy_only=False)
    offsets = array.offsets.to_numpy()
    for i in range(len(array)):
        yield values[offsets[i] : offsets[i + 1]]


def _row_name(columns: Mapping[str, list[Any]], index: int) -> str:
    """How an error names a row: its ``id``, else its position in the batch."""
    ids = columns.get("id")
    return repr(ids[index]) if ids is not None else f"#{index} of its batch"


def pretraining_records(batch: pa.RecordBatch, *, text: bool) -> Iterator[dict[str, Any]]:
    """Records of a batch of pretraining rows, checked: the spans cover every token exactly once."""
    names = batch.schema.names
    passthrough = [n for n in names if n not in _DERIVED["pretraining"]]
    others = {n: batch.column(n).to_pylist() for n in passthrough}
    texts = batch.column("text").to_pylist() if text and "text" in names else None
    pieces = _list_slices(batch.column("piece_lengths")) if "piece_lengths" in names else None
    for i, ids in enumerate(_list_slices(batch.column("input_ids"))):
        spans = document_spans(next(pieces) if pieces is not None else (), len(ids))
        if int(spans[-1, 1]) != len(ids):
            raise ExportError(
                f"Row {_row_name(others, i)}: piece_lengths sum to {int(spans[-1, 1])} but the row has "
                f"{len(ids)} tokens, so its document spans would be wrong; regenerate the run."
            )
        record: dict[str, Any] = {"input_ids": ids.astype(TOKEN_DTYPE, copy=False), "indices": spans}
        if text:
            record["text"] = texts[i] if texts is not None else ""
        for name in passthrough:
            record[name] = others[name][i]
        yield record


# ------------------------------------------------------------------------------------------ instruction

_LLAMA3_ASSISTANT_HEADER = "<|start_header_id|>assistant<|end_header_id|>\n\n"


def _prompt_render(fmt: ChatFormat, messages: Sequence[Mapping[str, str]]) -> str:
    """``messages`` rendered with the generation prompt: where the next assistant answer's text starts."""
    if isinstance(fmt, Llama3ChatFormat):
        return fmt.render(messages) + _LLAMA3_ASSISTANT_HEADER
    if isinstance(fmt, JinjaChatFormat):
        return fmt.render(messages, generation_prompt=True)
    return fmt.render(messages)  # an unknown format: the answer's span starts at its role header


def chat_ids_and_mask(
    fmt: ChatFormat, messages: Sequence[Mapping[str, str]]
) -> tuple[str, np.ndarray, np.ndarray]:
    """``(rendered text, input_ids, mask)`` of one conversation; mask is 1 on the assistant answers.

    The answer of turn ``i`` spans from the end of the rendering of turns ``< i`` with the generation prompt
    to the end of the rendering of turns ``<= i`` (the end-of-turn token is learned), the same rule as
    :func:`litelong_hf.finetune.data.assistant_labels`. The text is encoded piecewise at those cuts and must
    give exactly :meth:`ChatFormat.encode`'s ids (the ids the row's ``n_tokens`` counts).
    """
    full = fmt.render(messages)
    cuts: list[tuple[int, int]] = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt, upto = _prompt_render(fmt, messages[:i]), fmt.render(messages[: i + 1])
        start, end = len(prompt), len(upto)
        previous = cuts[-1][1] if cuts else 0
        if not (full.startswith(prompt) and full.startswith(upto) and previous <= start <= end):
            raise ExportError(
                f"The chat template {fmt.name!r} does not render conversations as prefixes of each other, so "
                "assistant turns cannot be located for the loss mask; export with another --chat-template."
            )
        cuts.append((start, end))
    ids: list[int] = []
    mask: list[int] = []
    position = 0
    for start, end in cuts:
        for piece, flag in ((full[position:start], 0), (full[start:end], 1)):
            encoded = encode_with_special_tokens(fmt.counter, piece, fmt.specials) if piece else []
            ids.extend(encoded)
            mask.extend([flag] * len(encoded))
        position = end
    tail = (
        encode_with_special_tokens(fmt.counter, full[position:], fmt.specials) if position < len(full) else []
    )
    ids.extend(tail)
    mask.extend([0] * len(tail))
    if ids != fmt.encode(messages):
        raise ExportError(
            f"The chat template {fmt.name!r} tokenizes differently across turn boundaries, so the loss mask "
            "cannot be aligned with the row's tokens; export with another --chat-template."
        )
    return full, np.asarray(ids, dtype=TOKEN_DTYPE), np.asarray(mask, dtype=np.uint8)


def instruction_records(batch: pa.RecordBatch, fmt: ChatFormat, *, text: bool) -> Iterator[dict[str, Any]]:
    """Records of a batch of instruction rows: chat-rendered ids, loss mask, provenance."""
    names = batch.schema.names
    passthrough = [n for n in names if n not in _DERIVED["instruction"]]
    others = {n: batch.column(n).to_pylist() for n in passthrough}
    conversations = batch.column("messages").to_pylist()
    for i, messages in enumerate(conversations):
        rendered, ids, mask = chat_ids_and_mask(fmt, messages)
        recorded = others.get("n_tokens", [None] * len(conversations))[i]
        if recorded is not None and int(recorded) != len(ids):
            raise ExportError(
                f"Row {_row_name(others, i)}: the chat template {fmt.name!r} gives "
                f"{len(ids)} tokens but the row was counted at {recorded}; pass --chat-template with the "
                "template the run used (its config.yaml's chat_template)."
            )
        if not mask.any():
            raise ExportError(f"Row {_row_name(others, i)} has no assistant turn.")
        record: dict[str, Any] = {
            "input_ids": ids,
            "indices": np.asarray([[0, len(ids)]], dtype=TOKEN_DTYPE),
            "mask": mask,
        }
        if text:
            record["text"] = rendered
            record["messages"] = messages
        for name in passthrough:
            record[name] = others[name][i]
        yield record
