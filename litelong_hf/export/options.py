"""How an export is written: :class:`ExportOptions`, whose fields are also the flags of ``litelong-hf export``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .errors import ExportError

Format = Literal["mds", "parquet", "jsonl"]
FORMATS: tuple[Format, ...] = ("mds", "parquet", "jsonl")
"""The formats :func:`~litelong_hf.export.export` writes."""

DEFAULT_SIZE_LIMIT = "64MB"
"""Largest shard before the next starts (MDSWriter's own default is 64 MiB)."""


@dataclass(frozen=True)
class ExportOptions:
    """How :func:`~litelong_hf.export.export` writes a run's rows (the CLI flags' help is each field's)."""

    format: str = field(
        default="mds",
        metadata={"help": "mds (mosaicml-streaming's MDSWriter: what ProLong trains on), parquet or jsonl."},
    )
    size_limit: int | str = field(
        default=DEFAULT_SIZE_LIMIT,
        metadata={"help": "Largest shard before the next starts: bytes, or e.g. 64MB or 1GiB."},
    )
    compression: str | None = field(
        default=None,
        metadata={
            "help": "mds: zstd, zstd:N, gz, br, bz2, snappy...; parquet: snappy (the default), zstd, gzip, "
            "brotli, lz4; jsonl: gzip. None: the format's default (none; parquet: snappy)."
        },
    )
    text: bool = field(
        default=False,
        metadata={
            "help": "Also write each row's text (instruction rows: the rendered conversation and messages)."
        },
    )
    chat_template: str | None = field(
        default=None,
        metadata={
            "help": "Instruction rows: the chat template to render ('auto', 'llama-3', a Jinja file); None: the "
            "run's."
        },
    )
    overwrite: bool = field(
        default=False, metadata={"help": "Replace an --out folder that already holds files."}
    )

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ExportError(f"Unknown format {self.format!r}; use one of {', '.join(FORMATS)}.")
