"""``mixture(out, ...)``: finished runs, presets and short-data corpora interleaved by token share into one
run directory that ``export``, ``push``, ``train`` and :func:`litelong_hf.rowstore.read_rows` read like any
other.

Everything that can be checked is checked before a row is written (shares, components, tokenizers, row
length, rows available); presets are generated (or reused from the cache) with exactly the rows they must
give; then the rows are written in the seeded interleaving into a temporary sibling of ``out`` that
replaces it whole, or not at all.

The run directory::

    OUT/parquet/train-XXXXX-of-YYYYY.parquet   the rows (the pretraining row schema of DESIGN.md)
    OUT/report.json                            counts, and extra.mixture: each component's config hash,
                                               rows, tokens and token share (the card shows them)
    OUT/config.yaml                            the resolved mixture config
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from .. import layout
from ..config import ConfigError
from ..layout import RunDir
from ..progress import stage
from ..report import RunReport
from ..rows import PRETRAINING_SCHEMA, pretraining_table, row_id
from .config import ComponentSpec, MixtureConfig, config_hash, make_mixture_config
from .errors import MixtureError
from .plan import allocate, check_shares, interleave, length_name, pack_factor, rows_supported, share_gaps
from .sources import (
    Component,
    RowFiles,
    check_tokenizers,
    finished_component,
    finished_units,
    open_run,
    short_component,
    short_units,
)

DEFAULT_TOKENIZER = "llama-3"
FILE_BYTES = 1 << 28
"""Rows per parquet file: about this many bytes of ids (a 64K row is ~0.5 MB with its text)."""
MIXTURE_STRATEGY = "mixture"


@dataclass
class MixtureResult:
    """What :func:`mixture` wrote."""

    out: Path
    name: str
    config_hash: str
    rows: int
    tokens: int
    row_tokens: int
    components: list[dict[str, Any]]
    report: RunReport = field(repr=False, default_factory=RunReport)


def _check_out(config: MixtureConfig, specs: list[ComponentSpec]) -> Path:
    out = Path(config.out).expanduser()
    if "://" in config.out:
        raise MixtureError(f"--out {config.out}: a mixture is written to a local folder; give a path.")
    if out.exists() and not out.is_dir():
        raise MixtureError(f"--out {config.out} is a file; give a folder.")
    if out.is_dir() and any(out.iterdir()) and not config.overwrite:
        raise MixtureError(f"{config.out} exists and is not empty; pass --overwrite or choose another --out.")
    for spec in specs:
        if spec.kind == "run" and Path(spec.source).expanduser().resolve() == out.resolve():
            raise MixtureError(
                f"--out {config.out} is the component {spec.label!r} itself; choose another folder."
            )
    return out


def _generate_kwargs(config: MixtureConfig, source: str, tokenizer: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"tokenizer": tokenizer, **config.component_overrides.get(source, {})}
    if config.corpus is not None:
        kwargs.setdefault("corpus", config.corpus)
    if config.endpoint is not None:
        kwargs.setdefault("endpoint", config.endpoint)
    return kwargs


def _preset_target(config: MixtureConfig, source: str, tokenizer: str) -> int:
    """The ``target_tokens`` preset ``source`` would generate with the mixture's overrides."""
    from ..run import prepare

    try:
        builder = prepare(
            source, cache_dir=config.cache_dir, check=False, **_generate_kwargs(config, source, tokenizer)
        )
    except ConfigError as err:
        raise MixtureError(f"Component {source!r}: {err}") from None
    return int(builder.resolved.target_tokens)


def _generate(config: MixtureConfig, spec: ComponentSpec, tokenizer: str, rows: int) -> Component:
    """Generate (or reuse) ``rows`` rows of preset ``spec.source``: a ``config`` component."""
    from ..run import generate

    run = generate(
        spec.source,
        cache_dir=config.cache_dir,
        num_rows=rows,
        **_generate_kwargs(config, spec.source, tokenizer),
    )
    files = RowFiles(spec.label, files=list(run.shard_files))
    component = finished_component(spec, files, {"config_hash": run.config.config_hash()})
    component.detail["generated_rows"] = run.report.stats.get("rows", 0)
    return component


def _units(
    component: Component, config: MixtureConfig, row_tokens: int, report: RunReport
) -> Iterator[dict[str, Any]]:
    if component.rows is not None:
        return finished_units(component, row_tokens, config.boundaries)
    return short_units(component, row_tokens, config.seed, report, cache_dir=config.cache_dir)


def _rows_per_file(row_tokens: int) -> int:
    return max(1, FILE_BYTES // (row_tokens * 8))


def _component_record(
    component: Component, asked: Fraction, rows: int, total_rows: int, row_tokens: int
) -> dict[str, Any]:
    record = {
        "component": component.label,
        "kind": component.spec.kind,
        "source": component.spec.source,
        "config_hash": component.config_hash,
        "strategy": component.strategy,
        "share": float(asked),
        "rows": rows,
        "tokens": rows * row_tokens,
        "token_share": rows / total_rows,
    }
    if component.rows is not None:
        lengths = sorted(component.row_lengths)
        record["source_row_tokens"] = lengths
        record["rows_per_mixture_row"] = {
            str(n): pack_factor(n, row_tokens, component.label) for n in lengths
        }
    return record


def _write(
    out: Path,
    config: MixtureConfig,
    components: list[Component],
    counts: list[int],
    row_tokens: int,
    mix_hash: str,
    report: RunReport,
) -> None:
    order = interleave(counts, config.seed)
    streams = [_units(c, config, row_tokens, report) for c in components]
    made = [0] * len(components)
    per_file = _rows_per_file(row_tokens)
    num_files = math.ceil(len(order) / per_file)
    from ..rowstore import rows_file_name

    with layout.atomic_folder(out) as folder, stage("mixture", len(order), unit="rows") as bar:
        run = RunDir(folder)
        run.parquet.mkdir()
        for index in range(num_files):
            path = run.parquet / rows_file_name(index, num_files)
            with pq.ParquetWriter(path, PRETRAINING_SCHEMA, compression="zstd") as writer:
                for which in order[index * per_file : (index + 1) * per_file]:
                    component = components[which]
                    unit = next(streams[which], None)
                    if unit is None:
                        raise MixtureError(
                            f"{component.label!r} filled only {made[which]} of its {counts[which]} rows of "
                            f"{row_tokens:,} tokens (its documents ran out); lower its share or --num-rows, or "
                            "give it more documents."
                        )
                    unit["id"] = row_id(mix_hash, which, made[which])
                    writer.write_table(pretraining_table(unit), row_group_size=1)
                    made[which] += 1
                    bar.advance(1)
        report.count("rows", len(order))
        report.count("tokens", len(order) * row_tokens)
        report.count(f"rows_{row_tokens}_tokens", len(order))
        for stream in streams:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        layout.atomic_write_json(run.report, report.to_dict())
        import yaml

        resolved = {"strategy": MIXTURE_STRATEGY, **config.to_dict()}
        resolved.pop("overwrite", None)
        layout.atomic_write_text(run.config, yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))


def build_mixture(config: MixtureConfig) -> MixtureResult:
    """Make the mixture ``config`` describes (see the module docstring); raise :class:`MixtureError` for bad input."""
    specs = config.specs()
    out = _check_out(config, specs)
    finished = {i: open_run(s) for i, s in enumerate(specs) if s.kind == "run"}
    tokenizer = config.tokenizer or check_tokenizers(list(finished.values())) or DEFAULT_TOKENIZER
    for component in finished.values():
        if component.tokenizer and component.tokenizer != tokenizer:
            raise MixtureError(
                f"Component {component.label!r} has rows in tokenizer {component.tokenizer!r}, not "
                f"{tokenizer!r}; regenerate it with --tokenizer {tokenizer}."
            )
    lengths = [max(c.row_lengths) for c in finished.values()]
    lengths += [_preset_target(config, s.source, tokenizer) for s in specs if s.kind == "config"]
    row_tokens = config.row_tokens or (max(lengths) if lengths else 0)
    if not row_tokens:
        raise MixtureError("Only short data given: pass --row-tokens (the tokens of every mixture row).")
    shares = [s.share for s in specs]
    available = [finished[i].available(row_tokens) if i in finished else None for i in range(len(specs))]
    num_rows = config.num_rows or rows_supported(shares, available)
    counts = allocate(shares, num_rows)
    labels = [s.label for s in specs]
    check_shares(labels, shares, counts, config.tolerance)
    for i, component in finished.items():
        if counts[i] > (available[i] or 0):
            raise MixtureError(
                f"Component {component.label!r} can fill {available[i]} rows of {row_tokens:,} tokens, but "
                f"{num_rows} mixture rows give it {counts[i]}; lower --num-rows or its share, or generate more."
            )
    components: list[Component] = []
    for i, spec in enumerate(specs):
        if spec.kind == "run":
            components.append(finished[i])
        elif spec.kind == "config":
            target = _preset_target(config, spec.source, tokenizer)
            rows = counts[i] * pack_factor(target, row_tokens, spec.label)
            component = _generate(config, spec, tokenizer, rows)
            have = component.available(row_tokens) or 0
            if have < counts[i]:
                raise MixtureError(
                    f"Preset {spec.source!r} gave rows for {have} of its {counts[i]} mixture rows (see its run "
                    "report's skipped inputs); use a larger corpus, or lower its share or --num-rows."
                )
            components.append(component)
        else:
            from ..corpus import CorpusConfig, CorpusError

            try:
                corpus = CorpusConfig(
                    source=spec.source,
                    text_column=config.text_column,
                    id_column=config.id_column,
                    min_chars=config.min_chars,
                )
            except CorpusError as err:
                raise MixtureError(f"Short data {spec.source!r}: {err}") from None
            components.append(short_component(spec, corpus, tokenizer, row_tokens, config.seed))
    name = config.name or f"mixture-{length_name(row_tokens)}"
    resolved = dataclasses.replace(
        config, name=name, row_tokens=row_tokens, num_rows=num_rows, tokenizer=tokenizer
    )
    mix_hash = config_hash(
        {
            "row_tokens": row_tokens,
            "rows": num_rows,
            "seed": config.seed,
            "boundaries": config.boundaries,
            "tokenizer": tokenizer,
            "components": [[c.spec.kind, c.label, c.config_hash, str(c.spec.share)] for c in components],
        }
    )
    records = [
        _component_record(c, s, n, num_rows, row_tokens)
        for c, s, n in zip(components, shares, counts, strict=True)
    ]
    report = RunReport(config_name=name, config_hash=mix_hash)
    for record in records:
        report.count(f"rows from {record['component']}", record["rows"])
    report.extra.update(
        {
            "strategy": MIXTURE_STRATEGY,
            "tokenizer": tokenizer,
            "target_tokens": row_tokens,
            "config": {"strategy": MIXTURE_STRATEGY, **resolved.to_dict()},
            "mixture": {
                "row_tokens": row_tokens,
                "rows": num_rows,
                "tokens": num_rows * row_tokens,
                "seed": config.seed,
                "boundaries": config.boundaries,
                "tolerance": config.tolerance,
                "max_share_gap": max(share_gaps(shares, counts)),
                "components": records,
            },
        }
    )
    report.extra["config"].pop("overwrite", None)
    _write(out, resolved, components, counts, row_tokens, mix_hash, report)
    return MixtureResult(out, name, mix_hash, num_rows, num_rows * row_tokens, row_tokens, records, report)


def mixture(out: str | Path, *, preset: str | None = None, **fields: Any) -> MixtureResult:
    """Make a training mixture in run directory ``out``; ``fields`` are :class:`MixtureConfig`'s.

    Example::

        import litelong_hf
        litelong_hf.mixture("mix/", components=["runs/nextlong=0.4", "litelong-64k=0.3"],
                            short=["data/*.parquet=0.3"], num_rows=1000)
        litelong_hf.mixture("mix-512k/", preset="nextlong-512k", num_rows=300)
    """
    return build_mixture(make_mixture_config(str(out), preset=preset, **fields))
