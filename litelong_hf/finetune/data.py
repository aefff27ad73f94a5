"""Rows in, training examples out: loading, tokenizer agreement, assistant-only labels, document masking.

Everything here is a pure transform of rows (no model, no trainer), so it is checked before any weights
load and unit-tested on its own.

- Pretraining rows train as one sequence each on their own ``input_ids``: no re-tokenization, no packing
  across rows, and (by default) no position restarts inside a row, because attention across the
  concatenated documents is what LiteLong and NExtLong rows exist to train. ``document_masking`` keeps each
  row's ``piece_lengths`` as ``seq_lengths`` so the collator restarts positions per piece (ProLong's
  ``indices``); transformers then masks attention per document (sdpa) or runs varlen (flash-attention).
- Instruction rows (hierarchical) are rendered with the model's chat template and carry ``labels`` that are
  -100 everywhere but the assistant turns (the answers), with the end-of-turn token kept so the model learns
  to stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import datasets

from ..layout import RunDir
from .errors import TrainError

RowKind = Literal["pretraining", "instruction"]
IGNORE_INDEX = -100


@dataclass
class Rows:
    """One training source: its rows and what the report says about them."""

    dataset: datasets.Dataset
    kind: RowKind
    source: str
    tokenizer: str
    config_hashes: list[str] = field(default_factory=list)
    strategies: list[str] = field(default_factory=list)
    config_name: str | None = None

    @property
    def num_rows(self) -> int:
        return len(self.dataset)

    def lengths(self) -> list[int]:
        return [int(n) for n in self.dataset["n_tokens"]]

    def describe(self) -> dict[str, Any]:
        lengths = self.lengths()
        return {
            "source": self.source,
            "config_name": self.config_name,
            "kind": self.kind,
            "rows": self.num_rows,
            "tokens": sum(lengths),
            "longest_row": max(lengths, default=0),
            "tokenizer": self.tokenizer,
            "strategies": self.strategies,
            "config_hashes": self.config_hashes,
        }


def _looks_like_path(text: str) -> bool:
    return text.startswith((".", "/", "~")) or text.count("/") > 1 or Path(text).exists()


def _load_source(source: str, data_config: str | None, split: str) -> tuple[datasets.Dataset, str | None]:
    path = Path(source).expanduser()
    if path.is_dir():
        from ..rowstore import RowsNotFound, read_rows

        run = RunDir(path)
        try:
            loaded = read_rows(path, split=split)
        except RowsNotFound as exc:
            if "split" in str(exc):
                raise TrainError(f"{exc} Pass --split.") from None
            raise TrainError(
                f"{path} holds no saved rows: give the folder written by `litelong-hf generate --out DIR` or by "
                "Dataset.save_to_disk."
            ) from None
        name = run.load_report().get("config_name") if run.report.is_file() else None
        return loaded, name if isinstance(name, str) else None
    if _looks_like_path(source):
        raise TrainError(f"Data folder {source} does not exist; give a `litelong-hf generate --out` folder.")
    try:
        loaded = datasets.load_dataset(source, data_config, split=split)
    except Exception as exc:  # the Hub client and datasets raise many types; all mean "cannot load"
        raise TrainError(
            f"Cannot load rows from Hub repo {source!r} (config {data_config!r}, split {split!r}): "
            f"{type(exc).__name__}: {str(exc)[:300]}. Check the repo id and --data-config."
        ) from None
    if not isinstance(loaded, datasets.Dataset):
        raise TrainError(f"{source} did not load as one split; pass --split.")
    return loaded, data_config


def load_rows(
    source: str | datasets.Dataset, *, data_config: str | None = None, split: str = "train"
) -> Rows:
    """Rows from a run folder, a saved dataset folder, a Hub repo (+ config) or a ``datasets.Dataset``."""
    if isinstance(source, datasets.Dataset):
        dataset, name, label = source, None, f"Dataset({len(source)} rows)"
    else:
        dataset, name = _load_source(source, data_config, split)
        label = source
    columns = set(dataset.column_names)
    if "input_ids" in columns and "n_tokens" in columns:
        kind: RowKind = "pretraining"
    elif "messages" in columns and "n_tokens" in columns:
        kind = "instruction"
    else:
        raise TrainError(
            f"{label} has columns {sorted(columns)}; expected litelong-hf rows (input_ids + n_tokens for "
            "pretraining, messages + n_tokens for instruction rows)."
        )
    if len(dataset) == 0:
        raise TrainError(f"{label} holds no rows.")
    tokenizers = sorted(set(dataset["tokenizer"])) if "tokenizer" in columns else []
    if len(tokenizers) > 1:
        raise TrainError(f"{label} mixes rows of several tokenizers {tokenizers}; train on one at a time.")
    return Rows(
        dataset=dataset,
        kind=kind,
        source=label,
        tokenizer=tokenizers[0] if tokenizers else "unknown",
        config_hashes=sorted(set(dataset["config_hash"])) if "config_hash" in columns else [],
        strategies=sorted(set(dataset["strategy"])) if "strategy" in columns else [],
        config_name=name,
    )


# ------------------------------------------------------------------------------------ tokenizer agreement


def _fix_hint(model: str) -> str:
    return (
        f"Regenerate the rows in the model's own tokens: `litelong-hf generate CONFIG --tokenizer {model} ...` "
        "(or pass --model with a model whose tokenizer made these rows)."
    )


def check_tokenizer(rows: Rows, tokenizer: Any, model_name: str, sample: int = 2) -> None:
    """Raise :class:`TrainError` unless ``tokenizer`` (the model's) reproduces the rows' tokens.

    Pretraining rows are canonical (``encode(text) == input_ids``), so the model's tokenizer must give the
    same ids for the start of each sampled row's text. Instruction rows hold text only; their recorded
    ``n_tokens`` must equal the model's chat-template count.
    """
    hint = _fix_hint(model_name)
    vocab = len(tokenizer)
    for row in rows.dataset.select(range(min(sample, rows.num_rows))):
        if rows.kind == "pretraining":
            ids = list(row["input_ids"][:512])
            if ids and max(ids) >= vocab:
                raise TrainError(
                    f"Rows of {rows.source} were made with tokenizer {rows.tokenizer!r} (ids up to {max(ids)}), "
                    f"but {model_name}'s vocabulary has {vocab} tokens. {hint}"
                )
            text = _text_prefix(row["text"], tokenizer, ids)
            mine = tokenizer(text, add_special_tokens=False)["input_ids"]
            agree = min(len(ids), len(mine)) - 2  # the last token of a cut prefix may merge differently
            if agree <= 0 or mine[:agree] != ids[:agree]:
                first = next((i for i, (a, b) in enumerate(zip(mine, ids, strict=False)) if a != b), agree)
                raise TrainError(
                    f"Rows of {rows.source} were made with tokenizer {rows.tokenizer!r}; {model_name}'s tokenizer "
                    f"splits their text differently (first difference at token {first}). {hint}"
                )
        else:
            counted = len(render_ids(tokenizer, row["messages"]))
            if counted != int(row["n_tokens"]):
                raise TrainError(
                    f"Instruction rows of {rows.source} were counted with tokenizer {rows.tokenizer!r} "
                    f"({row['n_tokens']} tokens) but {model_name}'s chat template gives {counted}. {hint}"
                )


def _text_prefix(text: str, tokenizer: Any, ids: Sequence[int]) -> str:
    """The start of ``text`` that the first ``len(ids)`` row tokens cover (decoded length, plus slack)."""
    covered = len(tokenizer.decode(list(ids), skip_special_tokens=False)) if ids else 0
    return text[: max(covered, 1) + 16]


# ----------------------------------------------------------------------------------- instruction labels


def require_chat_template(tokenizer: Any, model_name: str) -> None:
    if not getattr(tokenizer, "chat_template", None):
        raise TrainError(
            f"Instruction rows need a chat template, and {model_name}'s tokenizer has none. Use an instruct "
            "model (e.g. --model smollm2) or add a chat_template to its tokenizer_config.json."
        )


def _render(tokenizer: Any, messages: Sequence[dict[str, str]], generation_prompt: bool = False) -> str:
    return str(
        tokenizer.apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=generation_prompt
        )
    )


def render_ids(tokenizer: Any, messages: Sequence[dict[str, str]]) -> list[int]:
    """Token ids of the chat-template rendering (special tokens in the template text are single tokens)."""
    return list(tokenizer(_render(tokenizer, messages), add_special_tokens=False)["input_ids"])


def assistant_labels(tokenizer: Any, messages: Sequence[dict[str, str]]) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of one conversation: labels are -100 except on assistant turns.

    Template-agnostic: the assistant span of turn ``i`` runs from the end of the rendering of turns ``< i``
    with the generation prompt to the end of the rendering of turns ``<= i`` (so the end-of-turn token is
    learned). The full text is tokenized once with character offsets; spans map to tokens by offset. TRL's
    ``assistant_only_loss`` needs ``{% generation %}`` markers in the template, which most templates
    (SmolLM2's included) lack.
    """
    full = _render(tokenizer, messages)
    spans: list[tuple[int, int]] = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start_text = _render(tokenizer, messages[:i], generation_prompt=True)
        end_text = _render(tokenizer, messages[: i + 1])
        if not full.startswith(start_text) or not full.startswith(end_text):
            raise TrainError(
                "The chat template does not render conversations as prefixes of each other, so assistant "
                "turns cannot be located; use a model whose template appends turns."
            )
        spans.append((len(start_text), len(end_text)))
    if not spans:
        raise TrainError("An instruction row has no assistant turn to train on.")
    encoded = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    labels = [IGNORE_INDEX] * len(ids)
    span = 0
    for t, (begin, _end) in enumerate(encoded["offset_mapping"]):
        while span < len(spans) and begin >= spans[span][1]:
            span += 1
        if span < len(spans) and spans[span][0] <= begin < spans[span][1]:
            labels[t] = ids[t]
    return ids, labels


# ---------------------------------------------------------------------------------- training examples


def document_position_ids(piece_lengths: Sequence[int]) -> list[int]:
    """Position ids restarting at 0 at every piece: ``[2, 3] -> [0, 1, 0, 1, 2]``."""
    return [p for length in piece_lengths for p in range(int(length))]


def training_examples(
    rows: Rows, tokenizer: Any, *, document_masking: bool = False, num_proc: int | None = None
) -> datasets.Dataset:
    """The trainer's dataset: ``input_ids`` (+ ``labels`` for instruction rows, ``seq_lengths`` when masking)."""
    dataset = rows.dataset
    if rows.kind == "pretraining":
        keep = ["input_ids"] + (["piece_lengths"] if document_masking else [])
        dataset = dataset.select_columns(keep)
        if document_masking:
            bad = [i for i, row in enumerate(dataset) if sum(row["piece_lengths"]) != len(row["input_ids"])]
            if bad:
                raise TrainError(
                    f"Row {bad[0]} of {rows.source}: piece_lengths do not sum to its length, so documents cannot "
                    "be masked; train without --document-masking."
                )
            dataset = dataset.rename_column("piece_lengths", "seq_lengths")
        return dataset
    if document_masking:
        raise TrainError(
            "--document-masking applies to pretraining rows; instruction rows are one conversation."
        )

    def encode(row: dict[str, Any]) -> dict[str, list[int]]:
        ids, labels = assistant_labels(tokenizer, row["messages"])
        return {"input_ids": ids, "labels": labels}

    return dataset.map(encode, remove_columns=dataset.column_names, num_proc=num_proc, desc="chat template")


@dataclass
class RowCollator:
    """Batches of whole rows, never cut or packed across rows.

    TRL's own collator cannot restart positions inside a row without its padding-free mode, which needs a
    flash-attention model and refuses ``max_length`` without packing; this one does both things our rows
    need on any attention backend:

    - equal-length rows are stacked as they are (an all-ones mask: full causal attention over the row);
      ragged batches are right-padded with an attention mask and -100 labels;
    - ``seq_lengths`` present (document masking): the batch is flattened into one sequence whose
      ``position_ids`` restart per piece, with no attention mask; transformers turns the restarts into
      per-document attention (sdpa) or varlen kernels (flash-attention). The first token of every piece gets
      label -100: it cannot be predicted from a document it cannot see.
    """

    pad_token_id: int

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        ids = [torch.as_tensor(e["input_ids"], dtype=torch.long) for e in examples]
        labels = [
            torch.as_tensor(e["labels"], dtype=torch.long) if "labels" in e else t.clone()
            for e, t in zip(examples, ids, strict=True)
        ]
        if "seq_lengths" in examples[0]:
            positions = [torch.as_tensor(document_position_ids(e["seq_lengths"])) for e in examples]
            flat_labels = torch.cat(labels)
            flat_positions = torch.cat(positions)
            flat_labels[flat_positions == 0] = IGNORE_INDEX
            return {
                "input_ids": torch.cat(ids)[None],
                "labels": flat_labels[None],
                "position_ids": flat_positions[None],
            }
        if len({len(t) for t in ids}) == 1:
            stacked = torch.stack(ids)
            return {
                "input_ids": stacked,
                "labels": torch.stack(labels),
                "attention_mask": torch.ones_like(stacked),
            }
        longest = max(len(t) for t in ids)
        batch = torch.full((len(ids), longest), self.pad_token_id, dtype=torch.long)
        batch_labels = torch.full((len(ids), longest), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(ids), longest), dtype=torch.long)
        for i, (t, lab) in enumerate(zip(ids, labels, strict=True)):
            batch[i, : len(t)] = t
            batch_labels[i, : len(t)] = lab
            mask[i, : len(t)] = 1
        return {"input_ids": batch, "labels": batch_labels, "attention_mask": mask}
