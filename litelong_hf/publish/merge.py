"""Parse an existing dataset card and merge one config into it.

One repo can hold several configs; each config owns one section of the card, delimited by markers::

    <!-- litelong-hf:config-start name="litelong-128k" -->
    ...
    <!-- litelong-hf:config-end name="litelong-128k" -->

so re-pushing one config (or pushing another) replaces only that config's section and merges the YAML
``configs:`` / ``dataset_info:`` lists. Everything else in the card (title, overview table, how to load,
references) is regenerated from the merged metadata; text a maintainer writes between
``<!-- litelong-hf:notes-start -->`` and ``<!-- litelong-hf:notes-end -->`` is kept as is, and so are
YAML keys someone else put in the card.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from litelong_hf.publish.names import method_of
from litelong_hf.publish.render import CardInputs, config_summary, provenance, render_config_section
from litelong_hf.publish.stats import size_category
from litelong_hf.publish.templates import citations, environment
from litelong_hf.secrets import redact, scrub_text

__all__ = ["ParsedCard", "merge_card", "parse_card"]

_REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
_SECTION_RE = re.compile(
    r'<!-- litelong-hf:config-start name="(?P<name>[^"]+)" -->\n(?P<body>.*?)'
    r'<!-- litelong-hf:config-end name="(?P=name)" -->',
    re.DOTALL,
)
_SUMMARY_RE = re.compile(r"<!-- litelong-hf:summary (?P<json>\{.*?\}) -->")
_NOTES_RE = re.compile(
    r"<!-- litelong-hf:notes-start -->\n?(?P<body>.*?)<!-- litelong-hf:notes-end -->", re.DOTALL
)
_FRONT_MATTER_RE = re.compile(r"^---\s*\n(?P<yaml>.*?)\n---\s*(?:\n|$)", re.DOTALL)


@dataclass
class ParsedCard:
    """A card split into its YAML metadata, its per-config sections (in order) and the notes block."""

    metadata: dict[str, Any]
    sections: dict[str, str]
    summaries: dict[str, dict[str, Any]]
    notes: str | None


def parse_card(text: str | None) -> ParsedCard:
    """Split an existing README into metadata, config sections and notes (empty for ``None``)."""
    if not text:
        return ParsedCard({}, {}, {}, None)
    metadata: dict[str, Any] = {}
    match = _FRONT_MATTER_RE.match(text)
    if match is not None:
        loaded = yaml.safe_load(match.group("yaml"))
        if isinstance(loaded, dict):
            metadata = loaded
    sections: dict[str, str] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for section in _SECTION_RE.finditer(text):
        name = section.group("name")
        sections[name] = section.group(0)
        found = _SUMMARY_RE.search(section.group("body"))
        if found is not None:
            try:
                summaries[name] = json.loads(found.group("json"))
            except json.JSONDecodeError:
                summaries[name] = {"config": name}
        else:
            summaries[name] = {"config": name}
    notes_match = _NOTES_RE.search(text)
    notes = notes_match.group("body") if notes_match is not None else None
    return ParsedCard(metadata, sections, summaries, notes)


def _merge_by_name(existing: Any, entry: dict[str, Any]) -> list[dict[str, Any]]:
    items = existing if isinstance(existing, list) else ([existing] if isinstance(existing, dict) else [])
    merged = [
        item for item in items if isinstance(item, dict) and item.get("config_name") != entry["config_name"]
    ]
    position = next(
        (
            i
            for i, item in enumerate(items)
            if isinstance(item, dict) and item.get("config_name") == entry["config_name"]
        ),
        len(merged),
    )
    merged.insert(min(position, len(merged)), entry)
    return merged


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _union(*values: Any) -> list[str]:
    out: list[str] = []
    for value in values:
        for item in _as_list(value):
            if item not in out:
                out.append(item)
    return out


def merge_card(
    existing: str | None,
    inputs: CardInputs,
    *,
    dataset_info: Mapping[str, Any],
    pretty_name: str | None = None,
) -> str:
    """The README after pushing ``inputs.config_name``: metadata merged, that config's section replaced.

    Args:
        existing: the current README (``None`` for a new repo).
        inputs: the config being pushed.
        dataset_info: the YAML ``dataset_info`` entry of this config (features, splits, sizes).
        pretty_name: title of the card (default: from the repo name, or the existing one).
    """
    parsed = parse_card(existing)
    metadata = dict(parsed.metadata)
    extra: Mapping[str, Any] = inputs.report.extra if inputs.report is not None else {}
    name = inputs.config_name

    configs = _merge_by_name(
        metadata.get("configs"),
        {"config_name": name, "data_files": [{"split": "train", "path": inputs.data_files}]},
    )
    infos = _merge_by_name(metadata.get("dataset_info"), {"config_name": name, **dataset_info})
    num_rows = [
        int(split.get("num_examples") or 0)
        for info in infos
        for split in (info.get("splits") or [])
        if isinstance(split, dict)
    ]

    licenses = _union(metadata.get("license"), extra.get("license"))
    if len(licenses) > 1 and "unknown" in licenses:
        licenses.remove("unknown")
    method = method_of(name, provenance(inputs)["strategy"])
    tags = _union(
        metadata.get("tags"),
        ["long-context", "synthetic", "litelong-hf", method],
        ["instruction-tuning"] if inputs.stats.schema == "instruction" else ["pretraining"],
    )
    sources = _union(metadata.get("source_datasets"), extra.get("source_datasets"))
    corpus = extra.get("corpus")
    if isinstance(corpus, str) and _REPO_ID_RE.match(corpus):
        sources = _union(sources, [corpus])

    ordered: dict[str, Any] = {
        "pretty_name": metadata.get("pretty_name") or pretty_name or _pretty_name(inputs.repo_id),
        "license": (licenses[0] if len(licenses) == 1 else licenses) if licenses else "unknown",
    }
    language = _union(metadata.get("language"), extra.get("language"))
    if language:
        ordered["language"] = language
    ordered["task_categories"] = _union(metadata.get("task_categories"), ["text-generation"])
    ordered["size_categories"] = [size_category(max(num_rows, default=0))]
    ordered["tags"] = tags
    if sources:
        ordered["source_datasets"] = sources
    ordered["configs"] = configs
    ordered["dataset_info"] = infos
    for key, value in metadata.items():  # keep keys someone else put in the card
        if key not in ordered:
            ordered[key] = value
    ordered = redact(ordered, inputs.secrets, by_key=False)

    sections = dict(parsed.sections)
    summaries = dict(parsed.summaries)
    sections[name] = render_config_section(inputs).strip("\n")
    summaries[name] = config_summary(inputs)
    order = [c["config_name"] for c in configs if c.get("config_name") in sections]
    order += [n for n in sections if n not in order]

    body = (
        environment()
        .get_template("dataset_card.md.j2")
        .render(
            yaml_text=yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True).rstrip(),
            pretty_name=ordered["pretty_name"],
            repo_id=inputs.repo_id,
            summaries=[summaries[n] for n in order],
            sections=[sections[n] for n in order],
            first_config=order[0],
            methods=sorted({s.get("method", "") for s in summaries.values()}),
            citations=citations(),
            notes=parsed.notes,
        )
    )
    return scrub_text(body, inputs.secrets)


def _pretty_name(repo_id: str) -> str:
    name = repo_id.split("/")[-1]
    return re.sub(r"[-_]+", " ", name).strip().title() or repo_id
