"""The rows to export: a run directory (``litelong-hf generate --out DIR``) or a ``save_to_disk`` folder.

Rows are read as small Arrow record batches, straight from the parquet shards of ``DIR/parquet`` (or the
memory-mapped ``DIR/dataset`` of runs made before the row store), so a run of 1M-token rows never sits in
memory whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..layout import RunDir
from .errors import ExportError
from .records import RowKind, row_kind

BATCH_ROWS = 8
"""Rows per Arrow batch read: a 1M-token row is ~9 MB of ids and text."""

_SAVED_MARKERS = ("state.json", "dataset_info.json")


@dataclass
class RowSource:
    """Rows of one run, read batch by batch, and what the run says about them.

    ``files`` (parquet shards, read lazily) or ``table`` (a memory-mapped ``save_to_disk`` table) holds them.
    """

    root: Path
    schema: pa.Schema
    num_rows: int
    kind: RowKind
    config: dict[str, Any]
    report: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    table: pa.Table | None = None

    @property
    def config_name(self) -> str | None:
        name = self.report.get("config_name") or self.config.get("name")
        return str(name) if name else None

    def tokenizer(self) -> str:
        """The one tokenizer the rows were made with (the config's, else ``llama-3``, when rows do not say)."""
        fallback = str(self.config.get("tokenizer") or "llama-3")
        if "tokenizer" not in self.schema.names:
            return fallback
        if self.table is not None:
            values = self.table.column("tokenizer").unique().to_pylist()
        else:
            values = [
                v
                for f in self.files
                for v in pq.read_table(f, columns=["tokenizer"]).column(0).unique().to_pylist()
            ]
        names = sorted({str(v) for v in values if v})
        if len(names) > 1:
            raise ExportError(
                f"{self.root} mixes rows of several tokenizers {names}; export one run at a time."
            )
        return names[0] if names else fallback

    def chat_template(self) -> str:
        """The chat template the run counted instruction rows with (its config's), else ``auto``."""
        return str(self.config.get("chat_template") or "auto")

    def batches(self, rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        if self.table is not None:
            yield from self.table.to_batches(max_chunksize=rows)
            return
        for path in self.files:
            yield from pq.ParquetFile(path).iter_batches(batch_size=rows)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ExportError(f"{path} is not readable JSON ({type(err).__name__}); fix or remove it.") from None
    return value if isinstance(value, dict) else {}


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ExportError(f"{path} is not readable YAML ({type(err).__name__}); fix or remove it.") from None
    return value if isinstance(value, dict) else {}


def _saved_table(folder: Path) -> pa.Table:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(folder))
    except (OSError, ValueError, KeyError) as err:
        raise ExportError(
            f"The rows in {folder} cannot be read ({type(err).__name__}: {err}); generate them again."
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        if "train" not in loaded:
            raise ExportError(f"{folder} holds splits {list(loaded)} but no 'train' split.")
        loaded = loaded["train"]
    dataset = loaded.flatten_indices() if loaded._indices is not None else loaded
    return dataset.data.table


def _parquet_files(folder: Path) -> tuple[list[Path], pa.Schema, int]:
    files = sorted(folder.glob("*.parquet"))
    try:
        metadata = [pq.ParquetFile(f) for f in files]
        schemas = {m.schema_arrow.remove_metadata() for m in metadata}
    except (OSError, pa.ArrowInvalid) as err:
        raise ExportError(
            f"The parquet shards in {folder} cannot be read ({err}); generate them again."
        ) from None
    if len(schemas) > 1:
        raise ExportError(f"The parquet shards in {folder} have different columns; export one run at a time.")
    return files, metadata[0].schema_arrow, sum(m.metadata.num_rows for m in metadata)


def open_rows(path: str | Path) -> RowSource:
    """The rows of a run directory or ``save_to_disk`` folder; every problem is one :class:`ExportError`."""
    run = RunDir(Path(path).expanduser())
    root = run.root
    hint = "give the folder written by `litelong-hf generate --out DIR`"
    if not root.exists():
        raise ExportError(f"{root} does not exist; {hint}.")
    if not root.is_dir():
        raise ExportError(f"{root} is not a directory; {hint}.")
    files: list[Path] = []
    table: pa.Table | None = None
    if run.parquet.is_dir() and any(run.parquet.glob("*.parquet")):
        files, schema, num_rows = _parquet_files(run.parquet)
    elif run.dataset.is_dir() or any((root / marker).is_file() for marker in _SAVED_MARKERS):
        table = _saved_table(run.dataset if run.dataset.is_dir() else root)
        schema, num_rows = table.schema, table.num_rows
    else:
        raise ExportError(f"No rows in {root}: it has no parquet/ or dataset/ folder; {hint}.")
    if num_rows == 0:
        raise ExportError(
            f"{root} holds no rows: nothing to export. Check its report.json for skipped inputs."
        )
    return RowSource(
        root=root,
        schema=schema.remove_metadata(),
        num_rows=int(num_rows),
        kind=row_kind(schema.names),
        config=_read_yaml(run.config) if run.config.is_file() else {},
        report=_read_json(run.report) if run.report.is_file() else {},
        files=files,
        table=table,
    )
