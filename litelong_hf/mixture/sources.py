"""Where a mixture's rows come from: finished rows (a run directory or a generated preset) and short-data
corpora packed to the row length. Each source yields *units*: row dicts of exactly ``row_tokens`` tokens,
in a deterministic order, one at a time (a 512K-token row is ~5 MB: nothing is held whole).

A unit made of several shorter rows (8 rows of 64K in a 512K row) concatenates their ``input_ids`` and
``text``; its ``piece_lengths`` are one span per packed row (``boundaries="rows"``: document masking between
the rows, full attention inside each, as NExtLong's 512K recipe trains) or every packed row's own pieces
(``"pieces"``). A short-data unit is a row packed by :class:`~litelong_hf.packing.RowPacker` from whole
documents, one piece each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..packing import Leftover, PackingConfig, Piece, RowPacker, summarize_leftovers
from ..report import RunReport
from ..rows import pretraining_row
from .config import ComponentSpec, config_hash
from .errors import MixtureError
from .plan import pack_factor, units_available

SHORT_STRATEGY = "short"
"""The ``strategy`` (and source ``role``) of rows packed from a short-data corpus."""

BATCH_ROWS = 8


@dataclass
class RowFiles:
    """Finished pretraining rows: parquet files (or a memory-mapped table) and what they say about themselves."""

    label: str
    files: list[str] = field(default_factory=list)
    table: pa.Table | None = None

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        if self.table is not None:
            table = self.table.select(list(columns)) if columns else self.table
            yield from table.to_batches(max_chunksize=BATCH_ROWS)
            return
        import fsspec

        for path in self.files:
            with fsspec.open(path, "rb") as handle:
                parquet = pq.ParquetFile(handle)
                yield from parquet.iter_batches(
                    batch_size=BATCH_ROWS, columns=list(columns) if columns else None
                )

    def column(self, name: str) -> list[Any]:
        """Every value of one light column, in row order."""
        return [v for batch in self.batches([name]) for v in batch.column(0).to_pylist()]

    def rows(self) -> Iterator[dict[str, Any]]:
        """The rows in order, ``input_ids`` as an int32 array."""
        for batch in self.batches():
            ids = batch.column("input_ids")
            names = [n for n in batch.schema.names if n != "input_ids"]
            light = batch.select(names).to_pylist()
            for i, row in enumerate(light):
                row["input_ids"] = np.asarray(ids[i].values.to_numpy(zero_copy_only=False), dtype=np.int32)
                yield row


@dataclass
class Component:
    """One resolved component: its rows (or corpus), its provenance and how many units it can give."""

    spec: ComponentSpec
    config_hash: str
    strategy: str
    tokenizer: str
    rows: RowFiles | None = None
    """Finished rows (``run`` and ``config`` components)."""
    row_lengths: Counter[int] = field(default_factory=Counter)
    corpus: Any = None
    """The :class:`~litelong_hf.corpus.CorpusConfig` of a ``short`` component."""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.spec.label

    def available(self, row_tokens: int) -> int | None:
        """Units the finished rows can fill; ``None`` for a corpus (known only once packed)."""
        if self.rows is None:
            return None
        return units_available(self.row_lengths.elements(), row_tokens, self.label)


def _one(values: Sequence[Any], what: str, label: str) -> str:
    names = sorted({str(v) for v in values if v})
    if len(names) > 1:
        raise MixtureError(f"Component {label!r} mixes rows of several {what}s {names}; give one run each.")
    return names[0] if names else ""


def finished_component(spec: ComponentSpec, rows: RowFiles, report: dict[str, Any]) -> Component:
    """A component of finished pretraining rows, with the provenance its rows and report give."""
    lengths = rows.column("n_tokens")
    if not lengths:
        raise MixtureError(f"Component {spec.label!r} holds no rows; generate it first.")
    hashes = rows.column("config_hash")
    return Component(
        spec=spec,
        config_hash=str(report.get("config_hash") or _one(hashes, "config hash", spec.label)),
        strategy=_one(rows.column("strategy"), "strategy", spec.label),
        tokenizer=_one(rows.column("tokenizer"), "tokenizer", spec.label),
        rows=rows,
        row_lengths=Counter(int(n) for n in lengths),
        detail={"source_rows": len(lengths)},
    )


def open_run(spec: ComponentSpec) -> Component:
    """A ``run`` component: the rows of a run directory (or ``save_to_disk`` folder), read-only."""
    from ..export.errors import ExportError
    from ..export.source import open_rows

    try:
        source = open_rows(spec.source)
    except ExportError as err:
        raise MixtureError(f"Component {spec.label!r}: {err}") from None
    if source.kind != "pretraining":
        raise MixtureError(
            f"Component {spec.label!r} holds instruction rows (hierarchical QA); a mixture takes pretraining "
            "rows (litelong, nextlong, random-concat, mixtures)."
        )
    rows = RowFiles(spec.label, files=[str(f) for f in source.files], table=source.table)
    return finished_component(spec, rows, source.report)


def _merge_packed(parts: list[dict[str, Any]], boundaries: str) -> dict[str, Any]:
    """One unit from ``parts`` (rows of one length in order): ids and text concatenated, spans kept."""
    if len(parts) == 1:
        return dict(parts[0])
    if boundaries == "rows":
        pieces = [int(p["n_tokens"]) for p in parts]
    else:
        pieces = [int(n) for p in parts for n in p["piece_lengths"]]
    first = parts[0]
    return {
        "text": "".join(p["text"] for p in parts),
        "input_ids": np.concatenate([p["input_ids"] for p in parts]),
        "n_tokens": sum(int(p["n_tokens"]) for p in parts),
        "piece_lengths": pieces,
        "sources": [s for p in parts for s in (p.get("sources") or [])],
        "topic": None,
        "tokenizer": first["tokenizer"],
        "strategy": first["strategy"],
        "config_hash": first["config_hash"],
        "packed_ids": [p["id"] for p in parts],
    }


def finished_units(component: Component, row_tokens: int, boundaries: str) -> Iterator[dict[str, Any]]:
    """Units of finished rows, in row order: a row of ``row_tokens`` alone, shorter rows of one length
    packed ``row_tokens / length`` at a time as soon as that many have been read."""
    assert component.rows is not None
    pending: dict[int, list[dict[str, Any]]] = {}
    for row in component.rows.rows():
        length = int(row["n_tokens"])
        group = pending.setdefault(length, [])
        group.append(row)
        if len(group) == pack_factor(length, row_tokens, component.label):
            yield _merge_packed(group, boundaries)
            pending[length] = []


def short_component(
    spec: ComponentSpec, corpus: Any, tokenizer: str, row_tokens: int, seed: int
) -> Component:
    """A ``short`` component: the corpus ``corpus`` (a :class:`CorpusConfig`), packed when written."""
    payload = {
        "corpus": corpus.fingerprint(),
        "tokenizer": tokenizer,
        "row_tokens": row_tokens,
        "separator": PackingConfig(row_tokens).separator,
        "seed": seed,
    }
    return Component(
        spec=spec,
        config_hash=config_hash(payload),
        strategy=SHORT_STRATEGY,
        tokenizer=tokenizer,
        corpus=corpus,
    )


def short_units(
    component: Component,
    row_tokens: int,
    seed: int,
    report: RunReport,
    *,
    cache_dir: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows of ``row_tokens`` packed from whole documents of the corpus in a seeded order; the last
    document of a row is cut at the token boundary (its tokens counted in ``report``)."""
    from ..corpus import CorpusError, open_store
    from ..tokens import TokenCounter

    try:
        store = open_store(component.corpus, cache_dir=cache_dir, show_progress=False)
    except CorpusError as err:
        raise MixtureError(f"Short data {component.spec.source!r}: {err}") from None
    order = np.random.default_rng(seed).permutation(len(store))
    counter = TokenCounter.get(component.tokenizer, cache_dir=cache_dir)
    packer = RowPacker(counter, PackingConfig(target_tokens=row_tokens))
    pieces = (Piece(store.text(int(i)), store.doc_id(int(i)), role=SHORT_STRATEGY) for i in order)
    leftovers: list[Leftover] = []
    try:
        for packed in packer.pack(pieces, leftovers):
            report.count(f"{component.label}: tokens cut from the last document", packed.cut_tokens)
            yield pretraining_row(
                packed,
                id="",
                tokenizer=component.tokenizer,
                strategy=SHORT_STRATEGY,
                config_hash=component.config_hash,
            )
    finally:
        for reason, n in summarize_leftovers(leftovers).items():
            report.skip(f"{component.label} document", reason, n)


def check_tokenizers(components: Sequence[Component]) -> str:
    """The one tokenizer of the finished components' rows (``""`` if none has rows yet)."""
    named = {c.label: c.tokenizer for c in components if c.rows is not None and c.tokenizer}
    if len(set(named.values())) > 1:
        shown = ", ".join(f"{label}: {tok}" for label, tok in named.items())
        raise MixtureError(
            f"The components' rows are in different tokenizers ({shown}); regenerate them with one "
            "--tokenizer (a row's ids only mean something in its own tokenizer)."
        )
    return next(iter(named.values()), "")


def run_files(paths: Sequence[str]) -> list[str]:
    """Existing shard files (a generated preset's), in order."""
    return [p for p in paths if "://" in p or Path(p).is_file()]
