"""Export a run's rows for the trainers long-context teams use: MDS (mosaicml-streaming), parquet, JSONL.

Example::

    from litelong_hf.export import export

    export("runs/nextlong-64k", "shards/nextlong-64k", format="mds", compression="zstd")

    from streaming import StreamingDataset   # ProLong's loader reads the same columns
    sample = StreamingDataset(local="shards/nextlong-64k")[0]
    sample["input_ids"], sample["indices"]    # uint32 ids; (start, end) token span of every document

Modules: :mod:`.source` reads the rows, :mod:`.records` turns rows into records (pure),
:mod:`.writers` writes shards, :mod:`.exporter` checks inputs and moves a finished export into place.
"""

from __future__ import annotations

from .errors import ExportError
from .exporter import ExportResult, export
from .options import DEFAULT_SIZE_LIMIT, FORMATS, ExportOptions
from .records import document_spans

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "FORMATS",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "document_spans",
    "export",
]
