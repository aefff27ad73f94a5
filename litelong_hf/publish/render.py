"""One config's section of the dataset card: its inputs, provenance, preview row and rendered Markdown.

Provenance comes from the run report (:class:`~litelong_hf.report.RunReport`). These keys of
``report.extra`` are read (all optional):

=======================  ==========================================================================
``config``               the full config as a dict (shown as YAML; secrets are redacted)
``models``               ``{role: model}`` of the LLMs, e.g. ``{"debater_a": ..., "judge": ...}``
``prompt_versions``      ``{prompt name: version}``
``tokenizer``            tokenizer name (falls back to the rows' ``tokenizer`` column)
``strategy``             strategy name (falls back to the rows' ``strategy`` column)
``target_tokens``        tokens per row asked for
``corpus``               the source corpus (Hub id or path)
``source_datasets``      Hub ids of the source datasets (YAML ``source_datasets``)
``license``              license id(s) of the sources (YAML ``license``; default ``unknown``)
``language``             language code(s) of the sources (YAML ``language``)
``description``          a free-text paragraph put at the top of the config's section
``litelong_hf_version``  version of the package that generated the rows
``debates``              LiteLong's per-subcategory debate summaries (``debates_total``: how many)
``quality``              data-quality scores vs the ``random-concat`` baseline (:mod:`.tables`)
``qa_gates``             hierarchical QA gate pass rates (:mod:`.tables`)
``hardness``             NExtLong negative hardness (:mod:`.tables`)
``contamination``        13-gram overlap with evaluation data (:mod:`litelong_hf.evaluation.contamination`)
``mixture``              a mixture's components: config hash, rows, tokens, token share (:mod:`litelong_hf.mixture`)
=======================  ==========================================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from litelong_hf.publish.names import method_of
from litelong_hf.publish.stats import INSTRUCTION_COLUMNS, PRETRAINING_COLUMNS, ConfigStats, RowSchema
from litelong_hf.publish.tables import (
    gate_rows,
    hardness_rows,
    llm_rows,
    quality_rows,
    reuse_buckets,
    skipped_rows,
)
from litelong_hf.publish.templates import environment
from litelong_hf.secrets import redact, scrub_text

if TYPE_CHECKING:
    from litelong_hf.report import RunReport

__all__ = ["CardInputs", "config_summary", "preview_row", "provenance", "render_config_section"]


@dataclass
class CardInputs:
    """Everything a config's card section shows.

    Args:
        repo_id: the repo the card belongs to (used in the "how to load" snippet).
        config_name: the config (section) name.
        stats: statistics of the rows (:func:`compute_stats`).
        data_files: the YAML ``data_files`` pattern of the config (``<config>/train-*``).
        histogram_path: path in the repo of the token-length plot.
        preview: one truncated row (:func:`preview_row`).
        report: the run report, if any.
        num_shards: number of parquet files.
        row_group_size: rows per parquet row group.
        secrets: strings that must never appear in the card (the token...).
    """

    repo_id: str
    config_name: str
    stats: ConfigStats
    data_files: str
    histogram_path: str
    preview: Mapping[str, Any]
    report: RunReport | None = None
    num_shards: int = 1
    row_group_size: int = 1
    secrets: Sequence[str] = field(default=(), repr=False)


def _first(values: Sequence[str]) -> str | None:
    return values[0] if values else None


def provenance(inputs: CardInputs) -> dict[str, Any]:
    """Provenance of a config: ``report.extra`` keys first, the rows' columns as fallback (redacted)."""
    extra: Mapping[str, Any] = inputs.report.extra if inputs.report is not None else {}
    stats = inputs.stats
    config_hash = (
        (inputs.report.config_hash if inputs.report is not None else "")
        or _first(stats.config_hashes)
        or None
    )
    info = {
        "strategy": extra.get("strategy") or ", ".join(stats.strategies) or None,
        "tokenizer": extra.get("tokenizer") or ", ".join(stats.tokenizers) or None,
        "config_hash": config_hash,
        "target_tokens": extra.get("target_tokens"),
        "corpus": extra.get("corpus"),
        "models": dict(extra.get("models") or {}),
        "prompt_versions": dict(extra.get("prompt_versions") or {}),
        "config": extra.get("config"),
        "description": extra.get("description"),
        "litelong_hf_version": extra.get("litelong_hf_version") or _package_version(),
    }
    return redact(info, inputs.secrets)


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("litelong-hf")
    except PackageNotFoundError:
        import litelong_hf

        return str(getattr(litelong_hf, "__version__", "unreleased"))


def preview_row(
    row: Mapping[str, Any], schema: RowSchema, *, max_chars: int = 600, max_items: int = 8
) -> dict[str, Any]:
    """A truncated copy of one row for the card: long strings cut, long lists cut with a count."""

    def cut_text(text: str, limit: int) -> str:
        if len(text) <= limit:
            return text
        head = text[: limit * 2 // 3]
        tail = text[-limit // 3 :]
        return f"{head} […{len(text) - len(head) - len(tail):,} characters…] {tail}"

    def cut(value: Any, limit: int) -> Any:
        if isinstance(value, str):
            return cut_text(value, limit)
        if isinstance(value, Mapping):
            return {k: cut(v, limit) for k, v in value.items()}
        if isinstance(value, list | tuple):
            items = [cut(v, limit) for v in value[:max_items]]
            if len(value) > max_items:
                items.append(f"… {len(value) - max_items:,} more")
            return items
        return value

    order = (*PRETRAINING_COLUMNS, "topic") if schema == "pretraining" else INSTRUCTION_COLUMNS
    out: dict[str, Any] = {}
    for key in [*order, *(k for k in row if k not in order)]:
        if key not in row:
            continue
        value = row[key]
        if key == "input_ids" and isinstance(value, list | tuple):
            shown = list(value[:16])
            out[key] = [*shown, f"… {len(value) - len(shown):,} more"] if len(value) > 16 else shown
        elif key == "messages" and isinstance(value, list | tuple):
            out[key] = [cut(m, max_chars if i == 0 else max_chars // 2) for i, m in enumerate(value[:6])]
            if len(value) > 6:
                out[key].append(f"… {len(value) - 6:,} more turns")
        else:
            out[key] = cut(value, max_chars)
    return out


def config_summary(inputs: CardInputs) -> dict[str, Any]:
    """The one-line summary of a config kept in its section (feeds the card's overview table)."""
    info = provenance(inputs)
    stats = inputs.stats
    return {
        "config": inputs.config_name,
        "method": method_of(inputs.config_name, info["strategy"]),
        "schema": stats.schema,
        "rows": stats.num_rows,
        "tokens": stats.total_tokens,
        "max_row_tokens": int(stats.row_tokens.maximum),
        "tokenizer": info["tokenizer"],
    }


def render_config_section(inputs: CardInputs) -> str:
    """The Markdown section of one config, markers and summary comment included."""
    report = inputs.report
    clean = redact(report.to_dict(), inputs.secrets) if report is not None else {}
    extra: Mapping[str, Any] = clean.get("extra") or {}
    info = provenance(inputs)
    config_yaml = None
    if isinstance(info["config"], Mapping) and info["config"]:
        config_yaml = yaml.safe_dump(info["config"], sort_keys=False, allow_unicode=True).rstrip()
    skipped = skipped_rows(clean.get("skipped"))
    quality, quality_notes = quality_rows(extra.get("quality"))
    gates, gate_counters = gate_rows(extra.get("qa_gates", extra.get("gates")))
    # The preview is data (its keys are the row schema): only secret strings are scrubbed from it.
    preview_json = scrub_text(
        json.dumps(inputs.preview, indent=2, ensure_ascii=False, default=str), inputs.secrets
    )
    text = (
        environment()
        .get_template("config_section.md.j2")
        .render(
            repo_id=inputs.repo_id,
            config_name=inputs.config_name,
            method=method_of(inputs.config_name, info["strategy"]),
            info=info,
            config_yaml=config_yaml,
            stats=inputs.stats,
            reuse_rows=reuse_buckets(inputs.stats.reuse.distribution),
            report_given=report is not None,
            skipped=skipped,
            skipped_total=sum(c for _, _, c in skipped),
            run_stats=list((clean.get("stats") or {}).items()),
            llm=llm_rows(clean.get("llm")),
            quality=quality,
            quality_notes=quality_notes,
            gates=gates,
            gates_counted=any(g.total is not None for g in gates),
            gate_counters=gate_counters,
            hardness=hardness_rows(extra.get("hardness")),
            contamination=extra.get("contamination") or None,
            mixture=extra.get("mixture") or None,
            preview_json=preview_json,
            summary_json=json.dumps(config_summary(inputs), sort_keys=True, ensure_ascii=True),
            histogram_path=inputs.histogram_path,
            data_files=inputs.data_files,
            num_shards=inputs.num_shards,
            row_group_size=inputs.row_group_size,
            debates=list(extra.get("debates") or []),
            debates_total=int(extra.get("debates_total") or 0),
        )
    )
    return scrub_text(text, inputs.secrets)
