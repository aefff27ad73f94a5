"""What a mixture is made of: :class:`MixtureConfig` (every field is a ``litelong-hf mixture`` flag) and the
``NAME=SHARE`` component specs it holds, plus the presets in ``configs/mixtures/``.

A component is one of:

- ``run``: a finished run directory (``litelong-hf generate --out DIR``, or an earlier mixture);
- ``config``: a preset name (``nextlong-64k``), generated (or reused from the cache) with the mixture's
  tokenizer, corpus and endpoint, and its ``component_overrides``;
- ``short``: any corpus (``demo``, files, a Hub id) whose documents are packed to the row length with
  their boundaries kept in ``piece_lengths``.

Shares are token shares: ``0.4``, ``40%`` or ``1/3``; together they must make 1.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from ..fields import check_field_metadata
from .errors import MixtureError

ComponentKind = Literal["run", "config", "short"]
Boundaries = Literal["rows", "pieces"]

PRESET_PACKAGE = "litelong_hf.presets"
PRESET_FOLDER = "mixtures"
SHARE_SUM_SLACK = Fraction(1, 1000)
"""How far the shares may sum from 1 (``0.333 + 0.667`` is fine; ``0.4 + 0.4`` is not)."""


def parse_share(text: str, spec: str) -> Fraction:
    """``"0.4"``, ``"40%"`` or ``"1/3"`` as an exact fraction in (0, 1]; ``spec`` names the flag in errors."""
    raw = text.strip()
    try:
        value = Fraction(raw[:-1]) / 100 if raw.endswith("%") else Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise MixtureError(
            f"{spec!r}: share {text!r} is not a number; write NAME=0.4, NAME=40% or NAME=1/3."
        ) from None
    if not 0 < value <= 1:
        raise MixtureError(f"{spec!r}: share {text!r} must be above 0 and at most 1.")
    return value


@dataclass(frozen=True)
class ComponentSpec:
    """One part of a mixture: where its rows come from and its token share."""

    kind: ComponentKind
    source: str
    """Run directory, preset name or corpus source."""
    share: Fraction

    @property
    def label(self) -> str:
        """How the card and the report name the component (the folder name of a run directory)."""
        if self.kind == "run":
            return Path(self.source).expanduser().resolve().name or self.source
        if self.kind == "short":
            return f"short:{self.source}"
        return self.source


def parse_component(spec: str, *, short: bool = False) -> ComponentSpec:
    """``nextlong-64k=0.4`` / ``runs/a=1/3`` (a preset or a run directory) or, with ``short``,
    ``data/*.parquet=0.3`` (a corpus). The share follows the last ``=``."""
    flag = "--short" if short else "--component"
    source, sep, share = spec.rpartition("=")
    source = source.strip()
    if not sep or not source:
        raise MixtureError(f"{flag} {spec!r}: write SOURCE=SHARE, e.g. {flag} nextlong-64k=0.4.")
    value = parse_share(share, spec)
    if short:
        return ComponentSpec("short", source, value)
    from ..presets import preset_names

    if Path(source).expanduser().is_dir():
        return ComponentSpec("run", source, value)
    if source in preset_names():
        return ComponentSpec("config", source, value)
    raise MixtureError(
        f"--component {spec!r}: {source!r} is neither a run directory nor a preset; give a folder written by "
        f"`litelong-hf generate --out DIR` or one of {', '.join(preset_names())} (short data: --short)."
    )


@dataclass
class MixtureConfig:
    """A training mixture: components with token shares, interleaved into rows of ``row_tokens`` tokens."""

    out: str = field(metadata={"help": "Run directory to write (parquet/, report.json, config.yaml)."})
    components: list[str] = field(
        default_factory=list,
        metadata={
            "help": "NAME=SHARE (repeatable): a preset (generated, or reused from the cache) or a run "
            "directory, and its token share (0.4, 40% or 1/3)."
        },
    )
    short: list[str] = field(
        default_factory=list,
        metadata={
            "help": "CORPUS=SHARE (repeatable): short documents ('demo', files such as 'data/*.parquet', a Hub "
            "id) packed to the row length, document boundaries kept in piece_lengths."
        },
    )
    name: str | None = field(
        default=None,
        metadata={"help": "Config name of the mixture (card section, push): default mixture-<length>."},
    )
    row_tokens: int | None = field(
        default=None,
        metadata={
            "help": "Tokens per mixture row; shorter component rows are packed (e.g. 8 x 64K in a 512K "
            "row). Default: the longest component row.",
            "min": 1,
        },
    )
    num_rows: int | None = field(
        default=None,
        metadata={"help": "Rows of the mixture. Default: as many as the run directories allow.", "min": 1},
    )
    seed: int = field(default=0, metadata={"help": "Seed of the interleaving and of the short-data order."})
    tolerance: float = field(
        default=0.01,
        metadata={"help": "Largest allowed gap between a component's token share and its asked share."},
    )
    boundaries: str = field(
        default="rows",
        metadata={
            "help": "piece_lengths of a row packed from shorter rows: 'rows' (one span per packed row: "
            "document masking between them) or 'pieces' (every packed row's own pieces).",
            "choices": ("rows", "pieces"),
        },
    )
    tokenizer: str | None = field(
        default=None,
        metadata={"help": "Tokenizer of every component. Default: the run directories' rows', else llama-3."},
    )
    corpus: str | None = field(
        default=None, metadata={"help": "Base corpus of preset components. Default: each preset's."}
    )
    endpoint: str | None = field(
        default=None,
        metadata={"help": "LLM endpoint of preset components. Default: the embedded model."},
    )
    component_overrides: dict[str, dict[str, Any]] = field(
        default_factory=dict,
        metadata={
            "help": 'Per-preset config fields as JSON, e.g. {"nextlong-512k": {"mix_short_ratio": 0}}.'
        },
    )
    text_column: str = field(default="text", metadata={"help": "Short data: the text column."})
    id_column: str | None = field(
        default=None, metadata={"help": "Short data: the document id column. Default: the position."}
    )
    min_chars: int = field(
        default=20, metadata={"help": "Short data: skip documents shorter than this.", "min": 0}
    )
    cache_dir: str | None = field(
        default=None, metadata={"help": "Cache root (presets' shards, corpus stores). Default: the usual."}
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace an --out folder that holds files."})

    def __post_init__(self) -> None:
        check_field_metadata(self, MixtureError)
        if not 0 < self.tolerance < 1:
            raise MixtureError(f"tolerance must be between 0 and 1, got {self.tolerance!r}.")
        specs = self.specs()
        if not specs:
            raise MixtureError(
                "A mixture needs components: pass --component NAME=SHARE and/or --short CORPUS=SHARE "
                "(or --preset NAME)."
            )
        total = sum((s.share for s in specs), Fraction(0))
        if abs(total - 1) > SHARE_SUM_SLACK:
            shown = ", ".join(f"{s.label}={float(s.share):g}" for s in specs)
            raise MixtureError(f"The shares sum to {float(total):g} ({shown}); make them sum to 1.")
        labels = [s.label for s in specs]
        repeated = sorted({x for x in labels if labels.count(x) > 1})
        if repeated:
            raise MixtureError(f"Component(s) {repeated} given twice; give each once with its whole share.")
        unknown = sorted(set(self.component_overrides) - {s.source for s in specs if s.kind == "config"})
        if unknown:
            raise MixtureError(
                f"component_overrides names {unknown}, which are not preset components of this mixture."
            )

    def specs(self) -> list[ComponentSpec]:
        """The components in order: ``components`` first, then ``short``."""
        return [parse_component(c) for c in self.components] + [
            parse_component(c, short=True) for c in self.short
        ]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def config_hash(payload: Any) -> str:
    """12 hex characters of the SHA-256 of ``payload`` as sorted JSON (the project's hash length)."""
    blob = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def mixture_preset_names() -> list[str]:
    """Names of the mixture presets shipped in ``configs/mixtures/``."""
    folder = resources.files(PRESET_PACKAGE).joinpath(PRESET_FOLDER)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_mixture_preset(name: str) -> dict[str, Any]:
    """The fields of mixture preset ``name`` (a shipped name or a YAML path)."""
    path = Path(name).expanduser()
    if name.endswith((".yaml", ".yml")) and path.is_file():
        text = path.read_text(encoding="utf-8")
    elif name in mixture_preset_names():
        folder = resources.files(PRESET_PACKAGE).joinpath(PRESET_FOLDER)
        text = folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    else:
        raise MixtureError(
            f"Unknown mixture preset {name!r}; use one of {', '.join(mixture_preset_names())} or a YAML path."
        )
    data = yaml.safe_load(text) or {}
    known = {f.name for f in dataclasses.fields(MixtureConfig)} - {"out", "overwrite"}
    if not isinstance(data, dict) or set(data) - known:
        extra = sorted(set(data) - known) if isinstance(data, dict) else []
        raise MixtureError(f"Mixture preset {name!r}: unknown field(s) {extra}; known: {sorted(known)}.")
    return data


def make_mixture_config(out: str, *, preset: str | None = None, **fields: Any) -> MixtureConfig:
    """A :class:`MixtureConfig` of preset ``preset`` (if any) with ``fields`` on top."""
    data = load_mixture_preset(preset) if preset else {}
    data.update(fields)
    known = {f.name for f in dataclasses.fields(MixtureConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise MixtureError(f"Unknown mixture field(s) {unknown}; known: {sorted(known)}.")
    return MixtureConfig(out=out, **data)
