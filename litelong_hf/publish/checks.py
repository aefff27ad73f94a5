"""What a push checks before the network: the rows, their token counts, sizes, the report and the token.

Every function raises :class:`~litelong_hf.publish.errors.PushValidationError` with one sentence that
names the fix; none of them sends a request.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from litelong_hf.publish.errors import PushValidationError
from litelong_hf.publish.names import expected_schema, parse_config_name
from litelong_hf.publish.stats import INSTRUCTION_COLUMNS, PRETRAINING_COLUMNS, RowSchema, detect_row_schema
from litelong_hf.report import RunReport

if TYPE_CHECKING:
    import datasets

__all__ = [
    "DEFAULT_MAX_SHARD_SIZE",
    "arrow_nbytes",
    "check_dataset",
    "check_report",
    "check_row_group_size",
    "choose_row_group_size",
    "parse_size",
    "plan_num_shards",
    "resolve_token",
]

DEFAULT_MAX_SHARD_SIZE = "100MB"
"""Largest shard, measured on the in-memory Arrow size of its rows (parquet files come out smaller)."""

_TARGET_ROW_GROUP_BYTES = 32 * 1024 * 1024
_MAX_ROW_GROUP_ROWS = 8
_SIZE_RE = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[KMGT]i?B|B)?\s*$", re.I)
_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def parse_size(size: int | str) -> int:
    """Bytes in ``size``: an int, or a string like ``"100MB"``, ``"1.5GB"``, ``"512MiB"``."""
    if isinstance(size, bool):
        raise PushValidationError(f"Invalid size {size!r}")
    if isinstance(size, int):
        value = size
    else:
        match = _SIZE_RE.match(str(size))
        if match is None:
            raise PushValidationError(f"Invalid size {size!r}: use bytes or a string like '100MB' or '1GB'.")
        value = int(float(match.group("number")) * _UNITS[(match.group("unit") or "B").upper()])
    if value <= 0:
        raise PushValidationError(f"Invalid size {size!r}: it must be positive.")
    return value


def plan_num_shards(num_rows: int, num_bytes: int, max_shard_bytes: int) -> int:
    """Number of shards so that none exceeds ``max_shard_bytes`` (at least 1, at most one per row)."""
    if num_rows <= 0:
        return 0
    return max(1, min(num_rows, math.ceil(num_bytes / max_shard_bytes)))


def choose_row_group_size(num_rows: int, num_bytes: int) -> int:
    """Rows per parquet row group: ~32 MB of Arrow data, between 1 and 8 rows (a 1M-token row is ~9 MB)."""
    if num_rows <= 0:
        return 1
    bytes_per_row = max(1, num_bytes // num_rows)
    return max(1, min(_MAX_ROW_GROUP_ROWS, _TARGET_ROW_GROUP_BYTES // bytes_per_row))


def check_row_group_size(row_group_size: int | None, num_rows: int, num_bytes: int) -> int:
    """The given rows per row group if it is a positive int, else the automatic choice for ``None``."""
    if row_group_size is None:
        return choose_row_group_size(num_rows, num_bytes)
    if isinstance(row_group_size, bool) or not isinstance(row_group_size, int) or row_group_size < 1:
        raise PushValidationError(
            f"row_group_size must be a positive number of rows, got {row_group_size!r}."
        )
    return row_group_size


def arrow_nbytes(dataset: datasets.Dataset) -> int:
    """In-memory Arrow size of the dataset's rows (its selected rows, after ``select``/``shuffle``)."""
    table = dataset.data
    if len(table) == 0:
        return 0
    # With an indices mapping (after select/shuffle) the table holds more rows than the dataset.
    return int(table.nbytes * len(dataset) / len(table))


def check_dataset(dataset: Any, config_name: str) -> tuple[datasets.Dataset, RowSchema]:
    """The rows of one config, checked against the config's row schema; returns them and the schema."""
    import datasets

    if isinstance(dataset, datasets.DatasetDict):
        if list(dataset) != ["train"]:
            raise PushValidationError(
                f"Pass a Dataset (the rows of one config), not a DatasetDict with splits {list(dataset)}."
            )
        dataset = dataset["train"]
    if isinstance(dataset, datasets.IterableDataset):
        raise PushValidationError(
            "push_to_hub needs a materialized datasets.Dataset (the shard count and the card statistics need "
            "every row): write the rows with `litelong-hf generate --out DIR` and push DIR, or build the "
            "Dataset with datasets.Dataset.from_generator."
        )
    if not isinstance(dataset, datasets.Dataset):
        raise PushValidationError(f"Expected a datasets.Dataset, got {type(dataset).__name__}.")
    if len(dataset) == 0:
        raise PushValidationError(
            f"The dataset for config {config_name!r} has no rows: nothing to publish. Check the run report "
            "for skipped inputs, and generate again."
        )
    schema = expected_schema(config_name)
    required = PRETRAINING_COLUMNS if schema == "pretraining" else INSTRUCTION_COLUMNS
    missing = [c for c in required if c not in dataset.column_names]
    if missing:
        found = detect_row_schema(dataset.column_names)
        hint = ""
        if found is not None and found != schema:
            which = (
                "hierarchical-* configs hold instruction rows"
                if schema == "instruction"
                else "only hierarchical-* configs hold instruction rows"
            )
            hint = f" These look like {found} rows, but {config_name!r} is a {schema} config ({which})."
        raise PushValidationError(
            f"The dataset is missing column(s) {missing} of the {schema} row schema for {config_name!r} "
            f"(it has {dataset.column_names}).{hint}"
        )
    _check_token_counts(dataset, schema)
    return dataset, schema


def _check_token_counts(dataset: datasets.Dataset, schema: RowSchema) -> None:
    """``n_tokens`` must equal ``len(input_ids)`` and ``sum(piece_lengths)`` (pretraining rows)."""
    if schema != "pretraining":
        return
    import pyarrow.compute as pc

    table = dataset.select_columns(["id", "n_tokens", "input_ids", "piece_lengths"]).with_format("arrow")
    for batch in table.iter(batch_size=64):
        n_tokens = batch["n_tokens"]
        lengths = pc.list_value_length(batch["input_ids"])
        sums = [sum(p or []) for p in batch["piece_lengths"].to_pylist()]
        for i, (n, ids_len) in enumerate(zip(n_tokens.to_pylist(), lengths.to_pylist(), strict=True)):
            if n != ids_len:
                raise PushValidationError(
                    f"Row {batch['id'][i].as_py()!r}: n_tokens is {n} but input_ids has {ids_len} ids. "
                    "Rows must hold exactly n_tokens ids; regenerate them."
                )
            if sums[i] != n:
                raise PushValidationError(
                    f"Row {batch['id'][i].as_py()!r}: piece_lengths sum to {sums[i]}, not n_tokens={n}."
                )


def check_report(report: Any, config_name: str) -> RunReport | None:
    """The run report, if it belongs to ``config_name``.

    A report of ``litelong-64k`` may be pushed as ``litelong-64k`` or ``litelong-64k-<suffix>``; pushing it
    as another method or length is almost always the wrong ``--config``.
    """
    if report is None:
        return None
    if not isinstance(report, RunReport):
        raise PushValidationError(f"report must be a RunReport, got {type(report).__name__}.")
    generated = report.config_name
    known = bool(generated) and parse_config_name(generated) is not None
    if known and config_name != generated and not config_name.startswith(generated + "-"):
        raise PushValidationError(
            f"These rows were generated as {generated!r} (run report), not {config_name!r}: push them "
            f"with --config {generated} (or {generated}-<suffix> to tell several runs apart)."
        )
    return report


def resolve_token(token: str | None) -> str:
    """The token to push with: ``token``, else ``HF_TOKEN``, else the saved login."""
    if token is not None:
        if not isinstance(token, str) or not token.strip():
            raise PushValidationError("token is empty; pass a Hugging Face token with write access.")
        return token.strip()
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise PushValidationError(
            "No Hugging Face token found: pass token=..., set the HF_TOKEN environment variable, or log in "
            "with `hf auth login`. The token needs write access to the target namespace."
        )
    return found
