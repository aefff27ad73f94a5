"""``export(run_dir, out, format=...)``: a run's rows as trainer shards, whole or not at all.

Everything is checked before the first record (format, size, compression, rows, chat template, ``out``);
the shards are written into a hidden staging folder beside ``out`` (local) or a local temporary folder
(any other fsspec URL), and only a complete export is moved into place: locally by one rename, remotely by
uploading the shards first and the files that make the folder readable (``index.json``, ``export.json``)
last. A failure removes the staging folder and leaves ``out`` as it was.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from .. import layout
from ..progress import progress_bar
from .errors import ExportError
from .options import ExportOptions, Format
from .records import columns, instruction_records, pretraining_records
from .source import RowSource, open_rows
from .writers import check_compression, make_writer

MANIFEST = "export.json"
"""What was exported, from which run, with which columns: written beside the shards."""


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote."""

    out: str
    format: str
    kind: str
    rows: int
    tokens: int
    shards: list[str]
    columns: dict[str, str]
    """Column name -> MDS encoding (``ndarray:uint32``, ``str``, ``json``...)."""
    compression: str | None
    size_limit: int
    text: bool
    source: str
    config_name: str | None = None
    tokenizer: str | None = None
    chat_template: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_size(size: int | str) -> int:
    """Bytes of ``64MB`` / ``1GiB`` / ``1000`` (the rule of ``push --max-shard-size``)."""
    from datasets.utils.py_utils import convert_file_size_to_int

    if isinstance(size, str) and size.strip().isdigit():
        size = int(size.strip())
    try:
        value = int(convert_file_size_to_int(size))
    except (ValueError, TypeError):
        value = 0
    if value <= 0:
        raise ExportError(f"--size-limit {size!r} is not a size; give bytes or a unit, e.g. 64MB or 1GiB.")
    return value


def _remote(out: str) -> bool:
    return "://" in out and not out.startswith("file://")


def _check_out(out: str, overwrite: bool, source: RowSource) -> None:
    if _remote(out):
        import fsspec

        fs, path = fsspec.core.url_to_fs(out)
        if fs.exists(path) and fs.ls(path) and not overwrite:
            raise ExportError(
                f"{out} already holds files; pass --overwrite to replace them, or another --out."
            )
        return
    target = Path(out.removeprefix("file://")).expanduser().resolve()
    if target == source.root.resolve() or (
        source.root.resolve() in target.parents
        and target.name
        in (
            "dataset",
            "parquet",
        )
    ):
        raise ExportError(f"--out {out} would overwrite the run's own rows; choose another folder.")
    if target.exists() and not target.is_dir():
        raise ExportError(f"--out {out} is a file; give a folder.")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise ExportError(f"{out} already holds files; pass --overwrite to replace them, or another --out.")


def export(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    options: ExportOptions | None = None,
    *,
    progress: bool = True,
    **fields: Any,
) -> ExportResult:
    """Write the rows of ``run_dir`` (``litelong-hf generate --out DIR``) as ``mds``, ``parquet`` or ``jsonl``.

    Args:
        run_dir: a run directory or a ``Dataset.save_to_disk`` folder.
        out: the folder to create (local path or any fsspec URL, e.g. ``s3://bucket/prefix``).
        options: how to write (:class:`ExportOptions`: ``format``, ``size_limit``, ``compression``, ``text``,
            ``chat_template``, ``overwrite``), or its fields as keywords (``format="parquet"``).
        progress: show a progress bar.

    Example::

        result = export("runs/nextlong", "shards/nextlong-mds", format="mds", compression="zstd")
        # streaming.StreamingDataset(local="shards/nextlong-mds")[0]["indices"] -> [[0, 812], [812, 2048], ...]
    """
    if options is not None and fields:
        raise TypeError("pass either options or their fields as keywords, not both")
    o = options if options is not None else ExportOptions(**fields)
    fmt = cast(Format, o.format)  # checked by ExportOptions
    limit = parse_size(o.size_limit)
    codec = check_compression(fmt, o.compression)
    text, chat_template = o.text, o.chat_template
    target = os.fspath(out)
    source = open_rows(os.fspath(run_dir))
    _check_out(target, o.overwrite, source)
    tokenizer = source.tokenizer()
    template = None
    chat = None
    if source.kind == "instruction":
        from ..chat import chat_format

        template = chat_template or source.chat_template()
        chat = chat_format(tokenizer, template)
    cols = columns(source.schema, source.kind, text=text)
    rows = tokens = 0
    with layout.published_folder(target, last=("index.json", MANIFEST)) as staging:
        writer = make_writer(fmt, staging, cols, limit, codec)
        with progress_bar(f"export {fmt}", total=source.num_rows, unit="rows", enabled=progress) as advance:
            for batch in source.batches():
                if chat is not None:
                    records = instruction_records(batch, chat, text=text)
                else:
                    records = pretraining_records(batch, text=text)
                for record in records:
                    writer.write(record)
                    rows += 1
                    tokens += len(record["input_ids"])
                    advance(1)
        shards = writer.finish()
        result = ExportResult(
            out=target,
            format=fmt,
            kind=source.kind,
            rows=rows,
            tokens=tokens,
            shards=shards,
            columns={c.name: c.mds for c in cols},
            compression=codec,
            size_limit=limit,
            text=text,
            source=str(source.root),
            config_name=source.config_name,
            tokenizer=tokenizer,
            chat_template=template,
        )
        layout.atomic_write_json(staging / MANIFEST, result.to_dict())
    return result
