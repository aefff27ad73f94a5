"""``export(run_dir, out, format=...)``: a run's rows as trainer shards, whole or not at all.

Everything is checked before the first record (format, size, compression, rows, chat template, ``out``);
the shards are written into a hidden staging folder beside ``out`` (local) or a local temporary folder
(any other fsspec URL), and only a complete export is moved into place: locally by one rename, remotely by
uploading the shards first and the files that make the folder readable (``index.json``, ``export.json``)
last. A failure removes the staging folder and leaves ``out`` as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import layout
from ..progress import progress_bar
from .errors import ExportError
from .records import columns, instruction_records, pretraining_records
from .source import RowSource, open_rows
from .writers import FORMATS, Format, check_compression, make_writer

DEFAULT_SIZE_LIMIT = "64MB"
"""Largest shard before the next starts (MDSWriter's own default is 64 MiB)."""

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


def _check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise ExportError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    return fmt


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


@contextmanager
def _staging(out: str) -> Iterator[Path]:
    """A fresh folder to write into; removed unless :func:`_publish` moved it."""
    if _remote(out):
        with tempfile.TemporaryDirectory(prefix="litelong-hf-export-") as folder:
            yield Path(folder) / "out"
        return
    target = Path(out.removeprefix("file://")).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.export-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        yield staging
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _publish(staging: Path, out: str, last: list[str]) -> None:
    """Move a complete export to ``out``: one rename locally; remotely ``last`` files go up last."""
    if _remote(out):
        import fsspec

        fs, path = fsspec.core.url_to_fs(out)
        if fs.exists(path):
            fs.rm(path, recursive=True)
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        files.sort(key=lambda p: p.name in last)
        for local in files:
            fs.put_file(str(local), f"{path.rstrip('/')}/{local.relative_to(staging).as_posix()}")
        return
    target = Path(out.removeprefix("file://")).expanduser()
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.replaced-{os.getpid()}-{secrets.token_hex(3)}"
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old)


def export(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: str = "mds",
    size_limit: int | str = DEFAULT_SIZE_LIMIT,
    compression: str | None = None,
    text: bool = False,
    chat_template: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> ExportResult:
    """Write the rows of ``run_dir`` (``litelong-hf generate --out DIR``) as ``mds``, ``parquet`` or ``jsonl``.

    Args:
        run_dir: a run directory or a ``Dataset.save_to_disk`` folder.
        out: the folder to create (local path or any fsspec URL, e.g. ``s3://bucket/prefix``).
        format: ``mds`` (mosaicml-streaming's ``MDSWriter``), ``parquet`` or ``jsonl``.
        size_limit: largest shard, bytes or ``64MB``-style.
        compression: MDS: ``zstd``, ``zstd:N``, ``gz``, ``br``, ``bz2``, ``snappy``...; parquet: ``snappy``
            (default), ``zstd``, ``gzip``, ``brotli``, ``lz4``; jsonl: ``gzip``. ``None``: the default.
        text: also export the row text (instruction rows: the rendered conversation and ``messages``).
        chat_template: instruction rows: the template to render (default: the run's, else ``auto``).
        overwrite: replace an ``out`` that already holds files.

    Example::

        result = export("runs/nextlong", "shards/nextlong-mds", format="mds", compression="zstd")
        # streaming.StreamingDataset(local="shards/nextlong-mds")[0]["indices"] -> [[0, 812], [812, 2048], ...]
    """
    fmt = _check_format(format)
    limit = parse_size(size_limit)
    codec = check_compression(fmt, compression)
    target = os.fspath(out)
    source = open_rows(os.fspath(run_dir))
    _check_out(target, overwrite, source)
    tokenizer = source.tokenizer()
    template = None
    chat = None
    if source.kind == "instruction":
        from ..chat import chat_format

        template = chat_template or source.chat_template()
        chat = chat_format(tokenizer, template)
    cols = columns(source.schema, source.kind, text=text)
    rows = tokens = 0
    with _staging(target) as staging:
        if fmt != "mds":
            staging.mkdir(parents=True)
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
        _publish(staging, target, last=["index.json", MANIFEST])
    return result
