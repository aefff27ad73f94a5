"""Dataset cards: statistics of a config's rows, the token-length plot, and the card text itself.

The card is rendered from the Jinja templates in ``cards/`` (package ``litelong_hf.cards``). One repo can
hold several configs; each config owns one section of the card, delimited by markers::

    <!-- litelong-hf:config-start name="litelong-128k" -->
    ...
    <!-- litelong-hf:config-end name="litelong-128k" -->

so re-pushing one config (or pushing another) replaces only that config's section and merges the YAML
``configs:`` / ``dataset_info:`` lists. Everything else in the card (title, overview table, how to load,
references) is regenerated from the merged metadata; text a maintainer writes between
``<!-- litelong-hf:notes-start -->`` and ``<!-- litelong-hf:notes-end -->`` is kept as is.

Provenance comes from the run report (:class:`~litelong_hf.report.RunReport`). The card reads these keys
of ``report.extra`` (all optional):

=====================  =========================================================================
``config``             the full config as a dict (shown as YAML; secrets are redacted)
``models``             ``{role: model}`` of the LLMs, e.g. ``{"debater_a": ..., "judge": ...}``
``prompt_versions``    ``{prompt name: version}``
``tokenizer``          tokenizer name (falls back to the rows' ``tokenizer`` column)
``strategy``           strategy name (falls back to the rows' ``strategy`` column)
``target_tokens``      tokens per row asked for
``corpus``             the source corpus (Hub id or path)
``source_datasets``    Hub ids of the source datasets (YAML ``source_datasets``)
``license``            license id(s) of the sources (YAML ``license``; default ``unknown``)
``language``           language code(s) of the sources (YAML ``language``)
``description``        a free-text paragraph put at the top of the config's section
``litelong_hf_version``  version of the package that generated the rows
=====================  =========================================================================

The statistics are pure functions over plain values (:func:`summarize`, :func:`histogram_counts`,
:func:`source_reuse`, :func:`stats_from_batches`); :func:`compute_stats` is the one place that reads a
``datasets.Dataset`` (light columns only: never ``text`` or ``input_ids``).
"""

from __future__ import annotations

import copy
import html
import importlib.resources
import io
import json
import math
import os
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2
import yaml

if TYPE_CHECKING:
    import datasets

    from litelong_hf.report import RunReport

__all__ = [
    "INSTRUCTION_COLUMNS",
    "PRETRAINING_COLUMNS",
    "REDACTED",
    "CardInputs",
    "ConfigStats",
    "ParsedCard",
    "ReuseStats",
    "RowSchema",
    "Summary",
    "compute_stats",
    "config_summary",
    "detect_row_schema",
    "histogram_counts",
    "known_secrets",
    "merge_card",
    "method_of",
    "parse_card",
    "preview_row",
    "provenance",
    "redact",
    "render_config_section",
    "render_length_histogram",
    "scrub_text",
    "size_category",
    "source_reuse",
    "stats_from_batches",
    "summarize",
]

RowSchema = Literal["pretraining", "instruction"]

PRETRAINING_COLUMNS: tuple[str, ...] = (
    "id",
    "text",
    "input_ids",
    "n_tokens",
    "piece_lengths",
    "sources",
    "tokenizer",
    "strategy",
    "config_hash",
)
"""Columns every pretraining row has (``topic`` is optional: NExtLong rows have none)."""

INSTRUCTION_COLUMNS: tuple[str, ...] = (
    "id",
    "messages",
    "n_tokens",
    "documents",
    "questions",
    "tokenizer",
    "strategy",
    "config_hash",
)
"""Columns every instruction (hierarchical QA) row has."""

_LIGHT_COLUMNS: dict[RowSchema, tuple[str, ...]] = {
    "pretraining": ("n_tokens", "piece_lengths", "sources", "tokenizer", "strategy", "config_hash"),
    "instruction": ("n_tokens", "messages", "documents", "questions", "tokenizer", "strategy", "config_hash"),
}

_SIZE_CATEGORIES: tuple[tuple[float, str], ...] = (
    (1e3, "n<1K"),
    (1e4, "1K<n<10K"),
    (1e5, "10K<n<100K"),
    (1e6, "100K<n<1M"),
    (1e7, "1M<n<10M"),
    (1e8, "10M<n<100M"),
    (1e9, "100M<n<1B"),
    (1e10, "1B<n<10B"),
    (1e11, "10B<n<100B"),
    (1e12, "100B<n<1T"),
)

_REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
# Keys whose values are secrets: "token", "hf_token", "api_key", "password"... but not counts such as
# "n_tokens"/"max_tokens" nor "tokenizer".
_SECRET_KEY_RE = re.compile(
    r"(^|[_-])(token|api[_-]?key|apikey|(secret|access|private)[_-]?key|secret|password|passwd|credentials?"
    r"|authorization|auth|bearer)$",
    re.I,
)
_SECRET_ENV_RE = re.compile(r"(^|_)(TOKEN|API_KEY|APIKEY|KEY|SECRET|PASSWORD)($|_)")
_URL_USERINFO_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)
_URL_SECRET_PARAM_RE = re.compile(
    r"(?P<key>[?&](?:api[_-]?key|key|token|access_token|sig|signature)=)[^&#\s]+", re.I
)
REDACTED = "<redacted>"

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


# ============================================================================ pure statistics


@dataclass(frozen=True)
class Summary:
    """Count, min, max, mean and median of a list of numbers (all zero when it is empty)."""

    count: int
    minimum: float
    maximum: float
    mean: float
    median: float


def summarize(values: Sequence[float] | Sequence[int]) -> Summary:
    """Summarize numbers. ``summarize([1, 2, 6])`` → ``Summary(count=3, minimum=1, maximum=6, mean=3, median=2)``."""
    if len(values) == 0:
        return Summary(0, 0, 0, 0.0, 0.0)
    return Summary(
        count=len(values),
        minimum=min(values),
        maximum=max(values),
        mean=float(statistics.fmean(values)),
        median=float(statistics.median(values)),
    )


def histogram_counts(
    values: Sequence[float] | Sequence[int], bins: int = 20
) -> list[tuple[float, float, int]]:
    """Equal-width histogram as ``(low, high, count)`` triples; the last bin includes its upper edge.

    All-equal values (pretraining rows all have ``target_tokens``) give a single bin.
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if len(values) == 0:
        return []
    low, high = float(min(values)), float(max(values))
    if low == high:
        return [(low, high, len(values))]
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        index = min(int((value - low) / width), bins - 1)
        counts[index] += 1
    edges = [low + i * width for i in range(bins)] + [high]
    return [(edges[i], edges[i + 1], c) for i, c in enumerate(counts)]


@dataclass(frozen=True)
class ReuseStats:
    """How often source documents are reused across rows.

    ``distribution[k]`` is the number of documents that appear in exactly ``k`` rows; ``top`` lists the
    most reused documents as ``(doc_id, rows)``.
    """

    unique_documents: int
    total_uses: int
    mean_rows_per_document: float
    max_rows_per_document: int
    distribution: dict[int, int]
    top: list[tuple[str, int]]

    @property
    def reused_documents(self) -> int:
        """Documents that appear in more than one row."""
        return sum(n for rows, n in self.distribution.items() if rows > 1)


def source_reuse(doc_ids_per_row: Iterable[Iterable[str]], top: int = 5) -> ReuseStats:
    """Count, for each source document, the number of distinct rows it appears in.

    >>> source_reuse([["a", "b"], ["a"], ["a", "a"]]).distribution
    {1: 1, 3: 1}
    """
    rows_per_doc: Counter[str] = Counter()
    for ids in doc_ids_per_row:
        rows_per_doc.update(dict.fromkeys(ids, 1))
    if not rows_per_doc:
        return ReuseStats(0, 0, 0.0, 0, {}, [])
    distribution = Counter(rows_per_doc.values())
    total = sum(rows_per_doc.values())
    ranked = sorted(rows_per_doc.items(), key=lambda item: (-item[1], item[0]))[:top]
    return ReuseStats(
        unique_documents=len(rows_per_doc),
        total_uses=total,
        mean_rows_per_document=total / len(rows_per_doc),
        max_rows_per_document=max(rows_per_doc.values()),
        distribution=dict(sorted(distribution.items())),
        top=ranked,
    )


def size_category(num_rows: int) -> str:
    """The Hub's ``size_categories`` bucket for a number of rows (``1234`` → ``"1K<n<10K"``)."""
    for bound, label in _SIZE_CATEGORIES:
        if num_rows < bound:
            return label
    return "n>1T"


def detect_row_schema(columns: Iterable[str]) -> RowSchema | None:
    """``"instruction"`` if the rows have ``messages``, ``"pretraining"`` if they have ``input_ids``/``text``."""
    names = set(columns)
    if "messages" in names:
        return "instruction"
    if "input_ids" in names or "text" in names:
        return "pretraining"
    return None


@dataclass
class ConfigStats:
    """Statistics of one config's rows, as shown in its card section."""

    config_name: str
    schema: RowSchema
    num_rows: int
    total_tokens: int
    row_tokens: Summary
    piece_tokens: Summary
    docs_per_row: Summary
    reuse: ReuseStats
    roles: dict[str, int] = field(default_factory=dict)
    questions_per_row: Summary | None = None
    turns_per_row: Summary | None = None
    question_levels: dict[str, int] = field(default_factory=dict)
    question_kinds: dict[str, int] = field(default_factory=dict)
    tokenizers: list[str] = field(default_factory=list)
    strategies: list[str] = field(default_factory=list)
    config_hashes: list[str] = field(default_factory=list)
    row_lengths: list[int] = field(default_factory=list, repr=False)
    piece_lengths: list[int] = field(default_factory=list, repr=False)


def stats_from_batches(
    batches: Iterable[Mapping[str, Sequence[Any]]], schema: RowSchema, config_name: str
) -> ConfigStats:
    """Statistics from column batches (``{column: [values]}``) of the light columns of one config.

    Pretraining batches need ``n_tokens``, ``piece_lengths`` and ``sources``; instruction batches need
    ``n_tokens``, ``documents``, ``questions`` and either ``turns`` (messages per row) or ``messages``.
    ``tokenizer``/``strategy``/``config_hash`` are used when present.
    """
    row_lengths: list[int] = []
    piece_lengths: list[int] = []
    docs_per_row: list[int] = []
    questions_per_row: list[int] = []
    turns_per_row: list[int] = []
    doc_ids: list[list[str]] = []
    roles: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    provenance: dict[str, Counter[str]] = {
        "tokenizer": Counter(),
        "strategy": Counter(),
        "config_hash": Counter(),
    }
    for batch in batches:
        row_lengths.extend(int(n) for n in batch["n_tokens"])
        for key, counter in provenance.items():
            counter.update(str(v) for v in batch.get(key, []) if v is not None)
        if schema == "pretraining":
            for pieces in batch["piece_lengths"]:
                piece_lengths.extend(int(p) for p in pieces or [])
            for sources in batch["sources"]:
                sources = sources or []
                docs_per_row.append(len(sources))
                roles.update(str(s.get("role")) for s in sources)
                doc_ids.append([str(s.get("doc_id")) for s in sources])
        else:
            for documents in batch["documents"]:
                documents = documents or []
                docs_per_row.append(len(documents))
                piece_lengths.extend(int(d.get("n_tokens") or 0) for d in documents)
                doc_ids.append([str(d.get("doc_id")) for d in documents])
            for questions in batch["questions"]:
                questions = questions or []
                questions_per_row.append(len(questions))
                levels.update(str(q.get("level")) for q in questions)
                kinds.update(str(q.get("kind")) for q in questions)
            if "turns" in batch:
                turns_per_row.extend(int(t or 0) for t in batch["turns"])
            else:
                turns_per_row.extend(len(messages or []) for messages in batch["messages"])
    instruction = schema == "instruction"
    return ConfigStats(
        config_name=config_name,
        schema=schema,
        num_rows=len(row_lengths),
        total_tokens=sum(row_lengths),
        row_tokens=summarize(row_lengths),
        piece_tokens=summarize(piece_lengths),
        docs_per_row=summarize(docs_per_row),
        reuse=source_reuse(doc_ids),
        roles=dict(sorted(roles.items())),
        questions_per_row=summarize(questions_per_row) if instruction else None,
        turns_per_row=summarize(turns_per_row) if instruction else None,
        question_levels=dict(sorted(levels.items())),
        question_kinds=dict(sorted(kinds.items())),
        tokenizers=sorted(provenance["tokenizer"]),
        strategies=sorted(provenance["strategy"]),
        config_hashes=sorted(provenance["config_hash"]),
        row_lengths=row_lengths,
        piece_lengths=piece_lengths,
    )


def compute_stats(
    dataset: datasets.Dataset, config_name: str, schema: RowSchema, *, batch_size: int = 64
) -> ConfigStats:
    """Statistics of a dataset's rows, reading only light columns (never ``text``, ``input_ids`` or the
    message contents: the number of chat turns comes from the Arrow list lengths)."""
    import pyarrow.compute as pc

    wanted = [c for c in _LIGHT_COLUMNS[schema] if c in dataset.column_names]
    light = dataset.select_columns(wanted).with_format("arrow")

    def batches() -> Iterator[Mapping[str, Sequence[Any]]]:
        for table in light.iter(batch_size=batch_size):
            batch: dict[str, Sequence[Any]] = {}
            for name in table.column_names:
                if name == "messages":
                    batch["turns"] = pc.list_value_length(table[name]).to_pylist()
                else:
                    batch[name] = table[name].to_pylist()
            yield batch

    return stats_from_batches(batches(), schema, config_name)


# ============================================================================ secrets


def known_secrets(extra: Iterable[str | None] = ()) -> list[str]:
    """Secret strings to keep out of cards and messages: the given ones plus secret-looking env vars."""
    found = [s for s in extra if s]
    for name, value in os.environ.items():
        if _SECRET_ENV_RE.search(name.upper()) and len(value) >= 8:
            found.append(value)
    return sorted(set(found), key=len, reverse=True)


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret string, URL credentials and secret URL parameters in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _URL_USERINFO_RE.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    return _URL_SECRET_PARAM_RE.sub(lambda m: f"{m.group('key')}{REDACTED}", text)


def redact(value: Any, secrets: Iterable[str] = (), *, by_key: bool = True) -> Any:
    """Deep copy of ``value`` with secret strings redacted, and (``by_key``) the values of secret-named keys
    (``api_key``, ``token``, ``password``...; not ``n_tokens`` or ``tokenizer``)."""
    secrets = list(secrets)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if by_key and _SECRET_KEY_RE.search(str(key)) and item not in (None, "", False):
                out[str(key)] = REDACTED
            else:
                out[str(key)] = redact(item, secrets, by_key=by_key)
        return out
    if isinstance(value, list | tuple):
        return [redact(item, secrets, by_key=by_key) for item in value]
    if isinstance(value, str):
        return scrub_text(value, secrets)
    return copy.deepcopy(value)


# ============================================================================ plot


def render_length_histogram(
    row_lengths: Sequence[int],
    piece_lengths: Sequence[int],
    *,
    title: str,
    piece_label: str = "tokens per piece",
    bins: int = 30,
) -> bytes:
    """PNG with two histograms: tokens per row and tokens per piece (document) of the rows.

    Byte-identical for identical inputs (no timestamp or software version in the file), so a re-push
    does not upload a new plot.
    """
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(
            "The dataset card's token-length plot needs matplotlib: pip install 'matplotlib>=3.8'"
        ) from err

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(9, 3.4), dpi=100)
    panels = figure.subplots(1, 2)
    for axis, values, label in (
        (panels[0], row_lengths, "tokens per row"),
        (panels[1], piece_lengths, piece_label),
    ):
        if len(values):
            low, high = min(values), max(values)
            pad = max(1.0, abs(low) * 0.05)
            value_range = (low - pad, high + pad) if low == high else None
            axis.hist(values, bins=bins, range=value_range, color="#4c72b0", edgecolor="white")
        else:
            axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes)
        axis.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel(label)
        axis.set_ylabel("count")
        axis.ticklabel_format(axis="x", style="plain", useOffset=False)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# ============================================================================ card inputs


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


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def method_of(config_name: str, strategy: str | None = None) -> str:
    """The method family of a config: ``litelong-nextlong``, ``litelong``, ``nextlong`` or ``hierarchical``."""
    for family in ("litelong-nextlong", "litelong", "nextlong", "hierarchical"):
        if config_name.startswith(family + "-") or config_name == family:
            return family
    return strategy or "unknown"


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


# ============================================================================ templates


def _templates_dir() -> Path | None:
    try:
        root = importlib.resources.files("litelong_hf.cards")
    except ModuleNotFoundError:
        # Running from a source checkout that is not installed: `cards/` sits next to `litelong_hf/`.
        fallback = Path(__file__).resolve().parent.parent / "cards"
        return fallback if fallback.is_dir() else None
    return Path(str(root))


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    directory = _templates_dir()
    if directory is None or not (directory / "dataset_card.md.j2").is_file():
        raise FileNotFoundError(
            "The dataset-card templates (package `litelong_hf.cards`) are missing; reinstall litelong-hf."
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, not HTML; user strings are fenced or escaped with `md` below
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _format_number
    env.filters["md"] = _escape_markdown
    env.filters["to_yaml"] = lambda value: yaml.safe_dump(value, sort_keys=False, allow_unicode=True).rstrip()
    env.filters["fence"] = _fence
    env.filters["tojson_pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return env


def _format_number(value: Any, digits: int = 1) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.{digits}f}"
    return str(value)


def _escape_markdown(value: Any) -> str:
    """Escape text put in a Markdown table cell or sentence (no HTML, no table breaks)."""
    text = html.escape(str(value), quote=False)
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "\\`")


def _fence(text: str, language: str = "") -> str:
    """A fenced code block longer than any backtick run inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text}\n{ticks}"


_CITATIONS: tuple[dict[str, str], ...] = (
    {
        "key": "litelong",
        "name": "LiteLong",
        "arxiv": "2509.15568",
        "what": "BISAC-taxonomy topics from a multi-agent debate, BM25 retrieval of documents per topic",
    },
    {
        "key": "nextlong",
        "name": "NExtLong",
        "arxiv": "2501.12766",
        "what": "meta-document chunks interleaved with retrieved hard negative chunks",
    },
    {
        "key": "hierarchical",
        "name": "Hierarchical QA (He et al.)",
        "arxiv": "2504.12637",
        "what": "Scaling Instruction-Tuned LLMs to Million-Token Contexts via Hierarchical Synthetic Data Generation",
    },
)


def render_config_section(inputs: CardInputs) -> str:
    """The Markdown section of one config, markers and summary comment included."""
    report = inputs.report
    extra: Mapping[str, Any] = report.extra if report is not None else {}
    info = provenance(inputs)
    stats = inputs.stats
    config_yaml = None
    if isinstance(info["config"], Mapping) and info["config"]:
        config_yaml = yaml.safe_dump(info["config"], sort_keys=False, allow_unicode=True).rstrip()
    skipped: list[tuple[str, str, int]] = []
    run_stats: list[tuple[str, Any]] = []
    llm: list[tuple[str, Any]] = []
    if report is not None:
        clean = redact(report.to_dict(), inputs.secrets)
        for kind, reasons in clean["skipped"].items():
            skipped.extend((kind, reason, count) for reason, count in reasons.items())
        run_stats = list(clean["stats"].items())
        llm = [(k, v) for k, v in clean["llm"].items() if not isinstance(v, Mapping | list)]
        llm += [
            (f"{k}.{kk}", vv)
            for k, v in clean["llm"].items()
            if isinstance(v, Mapping)
            for kk, vv in v.items()
        ]
    # The preview is data (its keys are the row schema): only secret strings are scrubbed from it.
    preview_json = scrub_text(
        json.dumps(inputs.preview, indent=2, ensure_ascii=False, default=str), inputs.secrets
    )
    summary = json.dumps(config_summary(inputs), sort_keys=True, ensure_ascii=True)
    text = (
        _environment()
        .get_template("config_section.md.j2")
        .render(
            repo_id=inputs.repo_id,
            config_name=inputs.config_name,
            method=method_of(inputs.config_name, info["strategy"]),
            info=info,
            config_yaml=config_yaml,
            stats=stats,
            reuse_rows=_reuse_rows(stats.reuse.distribution),
            report_given=report is not None,
            skipped=skipped,
            skipped_total=sum(c for _, _, c in skipped),
            run_stats=run_stats,
            llm=llm,
            preview_json=preview_json,
            summary_json=summary,
            histogram_path=inputs.histogram_path,
            data_files=inputs.data_files,
            num_shards=inputs.num_shards,
            row_group_size=inputs.row_group_size,
            debates=redact(list(extra.get("debates") or []), inputs.secrets),
            debates_total=int(extra.get("debates_total") or 0),
        )
    )
    return scrub_text(text, inputs.secrets)


def _reuse_rows(distribution: Mapping[int, int]) -> list[tuple[str, int]]:
    """Reuse distribution bucketed for display: 1, 2, 3, 4, 5–9, 10–99, 100+ rows."""
    buckets: list[tuple[str, int, int]] = [
        ("1", 1, 1),
        ("2", 2, 2),
        ("3", 3, 3),
        ("4", 4, 4),
        ("5–9", 5, 9),
        ("10–99", 10, 99),
        ("100+", 100, 10**18),
    ]
    rows = []
    for label, low, high in buckets:
        count = sum(n for k, n in distribution.items() if low <= k <= high)
        if count:
            rows.append((label, count))
    return rows


# ============================================================================ parse and merge


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
        _environment()
        .get_template("dataset_card.md.j2")
        .render(
            yaml_text=yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True).rstrip(),
            pretty_name=ordered["pretty_name"],
            repo_id=inputs.repo_id,
            summaries=[summaries[n] for n in order],
            sections=[sections[n] for n in order],
            first_config=order[0],
            methods=sorted({s.get("method", "") for s in summaries.values()}),
            citations=_CITATIONS,
            notes=parsed.notes,
        )
    )
    return scrub_text(body, inputs.secrets)


def _pretty_name(repo_id: str) -> str:
    name = repo_id.split("/")[-1]
    return re.sub(r"[-_]+", " ", name).strip().title() or repo_id
