"""litelong-hf demo Space: generate long-context rows with every method and look inside them.

Runs on a free CPU Space and offline: no CDN fonts, no analytics, the embedded SmolLM2 model and the bundled
demo corpus by default. Generation goes through the public API only (``LongContextBuilder``,
``litelong_hf.pipeline.merged_report`` / ``iter_transcripts``, ``litelong_hf.push_to_hub``), so what the
page shows is what a user of the library gets.

Locally::

    python space/app.py                    # http://127.0.0.1:7860
    LITELONG_HF_SPACE_CACHE=/tmp/c python space/app.py
"""

from __future__ import annotations

import os

# Before gradio / huggingface_hub are imported: no analytics or telemetry requests, ever.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("LITELONG_HF_NO_PROGRESS", "1")  # the page shows progress; keep the logs clean

import hashlib
import html
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import pyarrow.parquet as pq
from matplotlib.figure import Figure

import litelong_hf
from litelong_hf.builders import LongContextBuilder
from litelong_hf.pipeline import iter_transcripts, merged_report, require_rows
from litelong_hf.presets import load_preset, preset_names
from litelong_hf.progress import listen
from litelong_hf.report import RunReport
from litelong_hf.secrets import known_secrets, scrub_text
from litelong_hf.taxonomy import bisac_major_subjects
from litelong_hf.tokens import TokenCounter

TITLE = "litelong-hf: long-context training data from short documents"

METHODS: dict[str, str] = {
    "LiteLong (topic debate + BM25)": "litelong",
    "NExtLong (meta-chunks + hard negatives)": "nextlong",
    "LiteLong + NExtLong": "litelong-nextlong",
    "Hierarchical QA (chat rows)": "hierarchical",
    "Random concatenation (baseline)": "random-concat",
}
"""Method label on the page -> strategy name of the presets in ``configs/``."""

ROLE_COLORS = {"retrieved": "#cfe3ff", "meta": "#c9f2d0", "negative": "#ffd6cc", "random": "#f3e9c6"}
ROLE_LABELS = {
    "retrieved": "retrieved (BM25 hit for the topic)",
    "meta": "meta-chunk (the seed document)",
    "negative": "hard negative (distractor)",
    "random": "random document (baseline)",
}
MIN_TOKENS, MAX_TOKENS = 8192, 32768
HIERARCHICAL_MIN_TOKENS = 16384
UPLOAD_SUFFIXES = (".jsonl", ".parquet", ".txt")
MAX_UPLOAD_BYTES = 50 * 2**20
DEMO_MAX_DOCUMENTS = 1500
"""Documents of an uploaded corpus (and of the demo corpus for NExtLong) read at demo size."""
NO_KEY = "no-key"
"""Sent as the key to a visitor's endpoint when the key field is empty: never the Space's own token."""
CHAT_DOC_CHARS = 600
"""Characters of the long documents shown at each end of a chat turn (the rest is elided)."""

_generate_lock = threading.Lock()


class SpaceInputError(ValueError):
    """A visitor's input cannot be used; the message says what to change."""


# ============================================================================ configs and inputs


def strategy_presets() -> dict[str, list[str]]:
    """Preset names by strategy, e.g. ``{"litelong": ["litelong-128k", ...]}``."""
    out: dict[str, list[str]] = {}
    for name in preset_names():
        out.setdefault(str(load_preset(name).get("strategy", "")), []).append(name)
    return out


def method_choices() -> list[tuple[str, str]]:
    available = strategy_presets()
    return [(label, strategy) for label, strategy in METHODS.items() if strategy in available]


def category_choices() -> list[tuple[str, str]]:
    return [(f"{code} · {name.title()}", code) for code, name in sorted(bisac_major_subjects().items())]


def demo_overrides(
    strategy: str, target_tokens: int, categories: Sequence[str] | None, max_subcategories: int
) -> dict[str, Any]:
    """The config overrides that make ``strategy`` run in well under a minute on 2 CPU cores (pure)."""
    if not MIN_TOKENS <= target_tokens <= MAX_TOKENS:
        raise SpaceInputError(f"Target length must be between {MIN_TOKENS:,} and {MAX_TOKENS:,} tokens.")
    overrides: dict[str, Any] = {"target_tokens": int(target_tokens)}
    if strategy in ("litelong", "litelong-nextlong"):
        if not categories:
            raise SpaceInputError("Pick at least one LiteLong category (e.g. POL · Political Science).")
        overrides.update(
            categories=list(categories),
            max_subcategories=int(max_subcategories),
            expansion_factor=2,
            llm_max_tokens=300,
            rows_per_topic=1,
        )
    if strategy == "hierarchical":
        if target_tokens < HIERARCHICAL_MIN_TOKENS:
            raise SpaceInputError(
                f"Hierarchical rows need at least {HIERARCHICAL_MIN_TOKENS:,} tokens (one document plus "
                "its questions); raise the target length."
            )
        # The LLM reads the whole document once (chunk summaries): its length is the run's main cost
        # (~140 prompt tokens/s for the 135M model on 2 cores), so a quarter of the target (one 4K chunk at
        # 16K, two at 32K).
        document = target_tokens // 4
        overrides.update(
            document_tokens=document,
            min_document_tokens=document // 2,
            small_chunk_tokens=4096,
            medium_chunk_size=2,
            global_questions=1,
            medium_questions=1,
            small_questions=0,
            diverse_questions=1,
            revisit_questions=0,
            max_documents_per_row=1,
            summary_max_tokens=160,
            qa_retries=0,
            # The packaged 135M model fails most QA gates (its answers run to the length limit), so with the
            # gates on a demo row would need most of the corpus; the demo shows the method's raw turns.
            qa_gates=False,
        )
    return overrides


def check_upload(paths: Sequence[str] | None, text_column: str = "text") -> str:
    """Why the uploaded corpus files cannot be used, or ``""`` if they look fine (reads them; no model)."""
    if not paths:
        return "Upload at least one .jsonl, .parquet or .txt file, or choose the demo corpus."
    column = (text_column or "").strip() or "text"
    suffixes = {Path(p).suffix.lower() for p in paths}
    if len(suffixes) > 1:
        return f"The files mix formats ({', '.join(sorted(suffixes))}); upload one format at a time."
    for path in map(Path, paths):
        problem = _check_file(path, column)
        if problem:
            return f"{path.name}: {problem}"
    return ""


def _check_file(path: Path, column: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return f"unsupported file type {suffix or '(none)'!r}; use .jsonl, .parquet or .txt."
    size = path.stat().st_size
    if size == 0:
        return "the file is empty."
    if size > MAX_UPLOAD_BYTES:
        return f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB; the demo takes small corpora."
    if suffix == ".parquet":
        with path.open("rb") as handle:
            if handle.read(4) != b"PAR1":
                return "this is not a parquet file (it lacks the PAR1 signature)."
        try:
            schema = pq.read_schema(path)
            num_rows = pq.ParquetFile(path).metadata.num_rows
        except (OSError, ValueError) as err:  # pyarrow raises ArrowInvalid (a ValueError) or OSError
            return f"the parquet file cannot be read ({err})."
        if column not in schema.names:
            return f"there is no column {column!r} (columns: {', '.join(schema.names)}); set 'Text column'."
        return "" if num_rows else "the file holds no rows."
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        return "this looks like a binary file, not UTF-8 text."
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "the file is not UTF-8 text."
    if suffix == ".txt":
        return "" if text.strip() else "the file holds only whitespace."
    documents = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return f"line {number} is not JSON; .jsonl files hold one JSON object per line."
        if not isinstance(record, dict):
            return f"line {number} is not a JSON object."
        if column not in record:
            return f"line {number} has no {column!r} field (fields: {', '.join(record)}); set 'Text column'."
        if not isinstance(record[column], str):
            return f"line {number}: {column!r} is not a string."
        documents += 1
    return "" if documents else "the file holds no documents."


def stage_upload(paths: Sequence[str], root: Path) -> str:
    """Copy uploaded files into a folder named by their content, so one upload always maps to one corpus
    path (and re-running it reuses the cached index and rows)."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: Path(p).name):
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes())
    folder = root / "uploads" / digest.hexdigest()[:16]
    if not folder.is_dir():
        staging = root / "uploads" / f".{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        for path in paths:
            shutil.copyfile(path, staging / Path(path).name)
        try:
            staging.rename(folder)
        except OSError:  # another visitor staged the same files first
            shutil.rmtree(staging)
    return str(folder)


# ============================================================================ views (pure)


def row_pieces(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The pieces of a pretraining row with their text: ``sources`` zipped with ``piece_lengths`` and the
    decoded token slices of ``input_ids``."""
    counter = TokenCounter.get(row.get("tokenizer") or "llama-3")
    ids = row["input_ids"]
    pieces, start = [], 0
    for source, length in zip(row.get("sources") or [], row.get("piece_lengths") or [], strict=False):
        pieces.append(
            {**source, "start": start, "tokens": length, "text": counter.decode(ids[start : start + length])}
        )
        start += length
    return pieces


def piece_table(pieces: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [
        [i, p.get("role", ""), p.get("doc_id", ""), _score(p.get("score")), p["tokens"], p["start"]]
        for i, p in enumerate(pieces)
    ]


PIECE_HEADERS = ["#", "role", "doc id", "score", "tokens", "first token"]


def _score(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def row_html(row: dict[str, Any], pieces: Sequence[dict[str, Any]]) -> str:
    """The row's text with each piece shaded by role; hovering a piece shows its doc id, score, tokens."""
    topic = row.get("topic") or {}
    head = (
        f"<div class='ll-row-head'><b>{html.escape(str(row.get('id', '')))}</b> · "
        f"{row.get('n_tokens', 0):,} tokens · {len(pieces)} pieces"
        + (
            f" · topic <i>{html.escape(topic.get('top', ''))} / {html.escape(topic.get('sub', ''))} / "
            f"{html.escape(topic.get('title', ''))}</i>"
            if topic
            else ""
        )
        + "</div>"
    )
    roles = sorted({p.get("role", "") for p in pieces})
    legend = " ".join(
        f"<span class='ll-legend' style='background:{ROLE_COLORS.get(r, '#eee')}'>"
        f"{html.escape(ROLE_LABELS.get(r, r))}</span>"
        for r in roles
    )
    spans = []
    for i, p in enumerate(pieces):
        tip = f"#{i} · {p.get('role')} · doc {p.get('doc_id')} · score {_score(p.get('score'))} · {p['tokens']:,} tokens"
        spans.append(
            f"<span class='ll-piece' data-role='{html.escape(str(p.get('role', '')))}' "
            f"data-doc='{html.escape(str(p.get('doc_id', '')))}' title='{html.escape(tip)}' "
            f"style='background:{ROLE_COLORS.get(p.get('role', ''), '#eee')}'>{html.escape(p['text'])}</span>"
        )
    body = "".join(spans)
    return (
        f"<div class='ll-row'>{head}<div class='ll-legends'>{legend}</div>"
        f"<div class='ll-text' style='white-space:pre-wrap;max-height:520px;overflow-y:auto;"
        f"font-size:13px;line-height:1.45'>{body}</div></div>"
    )


def debate_html(transcripts: Sequence[dict[str, Any]], topic: dict[str, Any] | None) -> str:
    """LiteLong's debate for the row's (top, sub) pair: both proposal lists, both critiques, the judge."""
    if not topic:
        return "<p class='ll-note'>This row has no LiteLong topic: the debate is shown for LiteLong rows.</p>"
    matches = [
        t for t in transcripts if t.get("top") == topic.get("top") and t.get("sub") == topic.get("sub")
    ]
    if not matches:
        return (
            f"<p class='ll-note'>No saved debate for {html.escape(topic.get('top', ''))} / "
            f"{html.escape(topic.get('sub', ''))} (topics came from a topics file).</p>"
        )
    t = matches[0]
    title = _norm(topic.get("title", ""))
    parts = [
        f"<div class='ll-debate'><h3>Debate: {html.escape(t.get('top', ''))} / {html.escape(t.get('sub', ''))}</h3>",
        f"<p class='ll-note'>Prompts {html.escape(str(t.get('prompt_version', '')))}; models "
        + html.escape(", ".join(f"{r}: {m}" for r, m in (t.get("models") or {}).items()))
        + f"; {t.get('requests', 0)} requests, {t.get('cache_hits', 0)} cache hits.</p>",
        "<div class='ll-columns' style='display:flex;gap:16px;flex-wrap:wrap'>",
    ]
    for role, label in (("debater_a", "Debater A proposed"), ("debater_b", "Debater B proposed")):
        items = (t.get("generated") or {}).get(role) or []
        parts.append(f"<div class='ll-proposals' data-role='{role}' style='flex:1;min-width:260px'>")
        parts.append(f"<h4>{label} ({len(items)})</h4><ol>")
        parts += [
            f"<li><b>{html.escape(i.get('topic', ''))}</b> {html.escape(i.get('explanation', ''))}</li>"
            for i in items
        ]
        parts.append("</ol></div>")
    parts.append("</div><div class='ll-columns' style='display:flex;gap:16px;flex-wrap:wrap'>")
    critiques = t.get("critiques") or {}
    for key, label in (
        ("debater_a_on_debater_b", "Debater A's critique of B"),
        ("debater_b_on_debater_a", "Debater B's critique of A"),
    ):
        crit = critiques.get(key)
        parts.append(
            f"<div class='ll-critique' data-key='{key}' style='flex:1;min-width:260px'><h4>{label}</h4>"
        )
        if not isinstance(crit, dict):
            parts.append("<p class='ll-note'>No usable critique (see unparseable answers).</p></div>")
            continue
        for verdict, mark in (("accepted", "✔ keep"), ("rejected", "✘ reject")):
            for item in crit.get(verdict) or []:
                if isinstance(item, dict):
                    parts.append(
                        f"<p>{mark} <b>{html.escape(str(item.get('topic') or item.get('title') or ''))}</b>: "
                        f"{html.escape(str(item.get('reason', '')))}</p>"
                    )
        parts.append("</div>")
    parts.append("</div>")
    raw_judge = t.get("judge")
    judge: dict[str, Any] = raw_judge if isinstance(raw_judge, dict) else {}
    rejected = judge.get("rejected_topics") or []
    parts.append(f"<div class='ll-judge'><h4>Judge rejected ({len(rejected)})</h4><ul>")
    for item in rejected:
        if isinstance(item, dict):
            parts.append(
                f"<li><b>{html.escape(str(item.get('title', '')))}</b>: {html.escape(str(item.get('reason', '')))}</li>"
            )
    parts.append("</ul>")
    if judge.get("summary"):
        parts.append(f"<p><i>{html.escape(str(judge['summary']))}</i></p>")
    parts.append("</div>")
    kept = t.get("kept") or []
    parts.append(f"<div class='ll-kept'><h4>Kept topics ({len(kept)})</h4><ul>")
    for k in kept:
        name = html.escape(k.get("topic", ""))
        mine = _norm(k.get("topic", "")) == title
        parts.append(
            f"<li>{'<mark>' + name + '</mark> ← this row' if mine else name} ({k.get('source', '')})</li>"
        )
    parts.append("</ul>")
    if t.get("unparseable"):
        parts.append(f"<p class='ll-note'>{len(t['unparseable'])} answer(s) could not be parsed.</p>")
    parts.append("</div></div>")
    return "".join(parts)


def _norm(title: str) -> str:
    return " ".join(str(title).split()).casefold()


def chat_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    """A hierarchical row as chat messages; each question is prefixed with its level and kind, and the long
    documents in the first turns are elided in the middle."""
    questions = list(row.get("questions") or [])
    out: list[dict[str, str]] = []
    user_turn = 0
    for message in row.get("messages") or []:
        content = str(message.get("content", ""))
        if message.get("role") == "user":
            q = questions[user_turn] if user_turn < len(questions) else {}
            user_turn += 1
            if len(content) > 3 * CHAT_DOC_CHARS:
                hidden = len(content) - 2 * CHAT_DOC_CHARS
                content = (
                    f"{content[:CHAT_DOC_CHARS]}\n\n[… {hidden:,} characters of the documents …]\n\n"
                    f"{content[-CHAT_DOC_CHARS:]}"
                )
            tag = (
                f"**[{q.get('level') or '-'} · {q.get('kind') or '-'} · document {q.get('doc_index', '-')}]**"
            )
            content = f"{tag}\n\n{content}"
        out.append({"role": str(message.get("role", "user")), "content": content})
    return out


def length_figure(rows: Sequence[dict[str, Any]], row_kind: str) -> Figure:
    """Token-length histograms: rows, and pieces by role (pretraining) or documents (instruction)."""
    figure = Figure(figsize=(9, 3.2), dpi=100)
    left, right = figure.subplots(1, 2)
    left.hist([r["n_tokens"] for r in rows], bins=20, color="#4b7bd8")
    left.set_title("tokens per row")
    left.set_xlabel("tokens")
    left.set_ylabel("rows")
    if row_kind == "instruction":
        right.hist([d["n_tokens"] for r in rows for d in r.get("documents") or []], bins=20, color="#5aa36d")
        right.set_title("tokens per document")
    else:
        by_role: dict[str, list[int]] = {}
        for r in rows:
            for source, length in zip(r.get("sources") or [], r.get("piece_lengths") or [], strict=False):
                by_role.setdefault(source.get("role", "?"), []).append(length)
        names = sorted(by_role)
        colors = [
            {"retrieved": "#4b7bd8", "meta": "#5aa36d", "negative": "#e07a5f", "random": "#c9a227"}.get(
                n, "#999"
            )
            for n in names
        ]
        right.hist([by_role[n] for n in names], bins=20, stacked=True, label=names, color=colors)
        right.legend()
        right.set_title("tokens per piece, by role")
    right.set_xlabel("tokens")
    figure.tight_layout()
    return figure


def hardness_markdown(report: dict[str, Any]) -> str:
    hardness = (report.get("extra") or {}).get("hardness")
    if not hardness:
        return "NExtLong hardness figures appear here for NExtLong runs."
    lines = [
        "| measure | chosen negatives | random chunks |",
        "|---|---|---|",
        f"| mean BM25 score vs the meta-chunk | {hardness.get('negative_mean_score')} | {hardness.get('random_mean_score')} |",
        f"| share from the same label (outlet) | {hardness.get('same_label_share')} | {hardness.get('random_same_label_share')} |",
        f"| scored | {hardness.get('negatives_scored')} | {hardness.get('random_scored')} |",
    ]
    ratio = hardness.get("score_ratio")
    return f"**Hard negatives are {ratio}× as similar as random chunks** (BM25).\n\n" + "\n".join(lines)


def summary_markdown(config_name: str, report: dict[str, Any], seconds: float) -> str:
    stats = report.get("stats") or {}
    skipped = report.get("skipped") or {}
    lines = [
        f"**{stats.get('rows', 0)} row(s)** of `{config_name}` in {seconds:.1f} s "
        f"({stats.get('tokens', 0):,} tokens)."
    ]
    for key in ("topics_kept", "topics_rejected", "categories_processed"):
        if key in stats:
            lines.append(f"{key.replace('_', ' ')}: {stats[key]}")
    for kind, reasons in skipped.items():
        lines.append(f"skipped {kind}: " + ", ".join(f"{reason} ({n})" for reason, n in reasons.items()))
    llm = report.get("llm") or {}
    if llm:
        lines.append(f"LLM: {llm.get('requests', 0)} requests, {llm.get('cache_hits', 0)} cache hits")
    return "  \n".join(lines)


# ============================================================================ actions


def _run_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    return pq.read_table(run["parquet"]).to_pylist()


def _read_row(run: dict[str, Any], index: int) -> dict[str, Any]:
    rows = _run_rows(run)  # at most 8 rows of 32K tokens: small
    return rows[max(0, min(int(index), len(rows) - 1))]


class App:
    """The handlers of the page, bound to one cache folder."""

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        root = cache_dir or os.environ.get("LITELONG_HF_SPACE_CACHE")
        self.root = Path(root) if root else Path(tempfile.gettempdir()) / "litelong-hf-space"
        self.root.mkdir(parents=True, exist_ok=True)
        self.presets = strategy_presets()

    # ------------------------------------------------------------------ small endpoints
    def configs_for(self, strategy: str) -> Any:
        names = self.presets.get(strategy, [])
        litelong = strategy in ("litelong", "litelong-nextlong")
        low = HIERARCHICAL_MIN_TOKENS if strategy == "hierarchical" else MIN_TOKENS
        return (
            gr.update(value=names[0] if names else None),
            gr.update(visible=litelong),
            gr.update(visible=litelong),
            gr.update(minimum=low, value=max(low, 16384)),
        )

    def fields_for_config(self, config_name: str) -> Any:
        strategy = str(load_preset(config_name).get("strategy", "")) if config_name in preset_names() else ""
        return self.configs_for(strategy)[1:]

    def check(self, corpus: str, files: list[str] | None, text_column: str) -> str:
        if corpus != "upload":
            return ""
        problem = check_upload(files, text_column)
        return f"⚠ {problem}" if problem else f"✔ {len(files or [])} file(s) ready."

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        config_name: str,
        target_tokens: float,
        num_rows: float,
        categories: list[str] | None,
        max_subcategories: float,
        corpus: str,
        files: list[str] | None,
        text_column: str,
        llm: str,
        endpoint: str,
        model: str,
        api_key: str,
        progress: gr.Progress = gr.Progress(),  # gradio injects the page's progress bar
    ) -> tuple[Any, ...]:
        """Generate rows; returns the page's outputs. Bad input gives a message, never a traceback."""
        key = (api_key or "").strip()
        start = time.monotonic()
        try:
            run = self._generate(
                config_name,
                int(target_tokens),
                int(num_rows),
                categories,
                int(max_subcategories),
                corpus,
                files,
                text_column,
                llm,
                endpoint,
                model,
                key,
                progress,
            )
        except Exception as err:  # every failure becomes a message in the page
            message = scrub_text(error_message(err), known_secrets([key]))
            return (f"✘ {message}", None, None, gr.update(choices=[], value=None), None, {}, "")
        rows = _run_rows(run)
        figure = length_figure(rows, run["row_kind"])
        text = summary_markdown(run["config_name"], run["report"], time.monotonic() - start)
        return (
            f"✔ {text}",
            run,
            figure,
            gr.update(choices=[(f"row {i} · {r['id']}", i) for i, r in enumerate(rows)], value=0),
            run["parquet"],
            run["report"],
            hardness_markdown(run["report"]),
        )

    def _generate(
        self,
        config_name: str,
        target_tokens: int,
        num_rows: int,
        categories: list[str] | None,
        max_subcategories: int,
        corpus: str,
        files: list[str] | None,
        text_column: str,
        llm: str,
        endpoint: str,
        model: str,
        key: str,
        progress: gr.Progress,
    ) -> dict[str, Any]:
        if config_name not in preset_names():
            raise SpaceInputError(f"Unknown config {config_name!r}; pick one from the list.")
        strategy = str(load_preset(config_name).get("strategy", ""))
        most = 2 if strategy == "hierarchical" else 8
        if not 1 <= num_rows <= most:
            raise SpaceInputError(f"Rows must be between 1 and {most} for this method at demo size.")
        overrides = demo_overrides(strategy, target_tokens, categories, max_subcategories)
        overrides["num_rows"] = num_rows
        if corpus == "upload":
            problem = check_upload(files, text_column)
            if problem:
                raise SpaceInputError(problem)
            overrides.update(
                corpus=stage_upload(files or [], self.root),
                text_column=(text_column or "").strip() or "text",
                max_documents=DEMO_MAX_DOCUMENTS,
                min_chars=1,
            )
            if strategy == "hierarchical":
                overrides["grouping"] = "none"
        elif strategy in ("nextlong", "litelong-nextlong"):
            overrides["max_documents"] = DEMO_MAX_DOCUMENTS
        key_env = None
        if llm == "endpoint":
            if not (endpoint or "").strip():
                raise SpaceInputError(
                    "Give the endpoint URL (e.g. http://host:8080) or pick the embedded model."
                )
            # A fresh variable per request: one visitor's key is never seen by another visitor's run, and
            # an empty key field never lets the Space's own HF_TOKEN go to a visitor's server.
            key_env = f"LITELONG_HF_SPACE_KEY_{uuid.uuid4().hex}"
            os.environ[key_env] = key or NO_KEY
            overrides.update(endpoint=endpoint.strip(), api_key_env=key_env)
            if (model or "").strip():
                overrides["model"] = model.strip()
        try:
            return self._build(config_name, strategy, overrides, progress)
        finally:
            if key_env:
                os.environ.pop(key_env, None)

    def _build(
        self, config_name: str, strategy: str, overrides: dict[str, Any], progress: gr.Progress
    ) -> dict[str, Any]:
        state: dict[str, Any] = {"desc": "Starting", "done": 0, "total": None}

        def heard(description: str, completed: int, total: int | None) -> None:
            state.update(desc=description, done=completed, total=total)

        progress(0.0, desc="Waiting for the generator (one run at a time)")
        with _generate_lock:
            result: dict[str, Any] = {}
            builder = LongContextBuilder(
                config_name=config_name, cache_dir=str(self.root / "cache"), **overrides
            )

            def work() -> None:
                try:
                    builder.download_and_prepare()
                    report = merged_report(builder.resolved)
                    require_rows(report)
                    result["dataset"] = builder.as_dataset(split="train")
                    result["report"] = report
                except Exception as err:  # handed to the request thread, which shows it
                    result["error"] = err

            worker = threading.Thread(target=work, name="litelong-space-generate", daemon=True)
            with listen(heard):
                worker.start()
                while worker.is_alive():
                    worker.join(0.3)
                    _show(progress, state)
            if "error" in result:
                raise result["error"]
            dataset, report = result["dataset"], result["report"]
            transcripts = list(iter_transcripts(builder.resolved))
            run_id = f"{builder.resolved.config_hash()}-{len(dataset)}"
            out = self.root / "runs" / run_id
            out.mkdir(parents=True, exist_ok=True)
            parquet = out / f"{config_name}-{overrides['target_tokens'] // 1024}k.parquet"
            dataset.to_parquet(str(parquet), batch_size=1)
        progress(1.0, desc="Done")
        return {
            "config_name": config_name,
            "strategy": strategy,
            "row_kind": "instruction" if strategy == "hierarchical" else "pretraining",
            "target_tokens": overrides["target_tokens"],
            "parquet": str(parquet),
            "report": json.loads(json.dumps(report.to_dict(), default=str)),
            "transcripts": transcripts,
        }

    # ------------------------------------------------------------------ viewing
    def show_row(
        self, run: dict[str, Any] | None, index: float | None
    ) -> tuple[str, list[list[Any]], str, list[dict[str, str]]]:
        if not run:
            note = "<p class='ll-note'>Generate rows first.</p>"
            return note, [], note, []
        row = _read_row(run, int(index or 0))
        if run["row_kind"] == "instruction":
            docs = ", ".join(f"{d['doc_id']} ({d['n_tokens']:,} tokens)" for d in row.get("documents") or [])
            head = (
                f"<div class='ll-row'><b>{html.escape(str(row['id']))}</b> · {row['n_tokens']:,} tokens with "
                f"the chat template · {len(row.get('questions') or [])} questions · documents: "
                f"{html.escape(docs)}. See the Chat tab.</div>"
            )
            table = [
                [i, "document", d.get("doc_id", ""), None, d.get("n_tokens", 0), None]
                for i, d in enumerate(row.get("documents") or [])
            ]
            note = "<p class='ll-note'>Hierarchical rows have no topic debate.</p>"
            return head, table, note, chat_messages(row)
        pieces = row_pieces(row)
        return (
            row_html(row, pieces),
            piece_table(pieces),
            debate_html(run.get("transcripts") or [], row.get("topic")),
            [],
        )

    # ------------------------------------------------------------------ publishing
    def push(
        self, run: dict[str, Any] | None, repo_id: str, config_name: str, token: str, private: bool
    ) -> str:
        secret = (token or "").strip()
        if not run:
            return "⚠ Generate rows first."
        if not secret:
            return "⚠ Paste a Hugging Face token with write access (it is used for this push only)."
        try:
            import datasets

            dataset = datasets.Dataset.from_parquet(run["parquet"], cache_dir=str(self.root / "push-cache"))
            (self.root / "push-tmp").mkdir(parents=True, exist_ok=True)
            result = litelong_hf.push_to_hub(
                dataset,
                (repo_id or "").strip(),
                config_name=(config_name or "").strip() or default_push_name(run),
                token=secret,
                private=bool(private),
                report=RunReport.from_dict(run["report"]),
                endpoint=os.environ.get("HF_ENDPOINT") or None,
                tmp_dir=str(self.root / "push-tmp"),
            )
        except Exception as err:  # every failure becomes a message in the page
            return "✘ " + scrub_text(error_message(err), known_secrets([secret]))
        return (
            f"✔ Pushed {result.num_rows} row(s) of `{result.config_name}` to "
            f"[{result.repo_id}]({result.commit_url}).  \nLoad it with `{result.load_snippet}`"
        )


def error_message(err: BaseException) -> str:
    """The message of the error that caused ``err`` (``datasets`` wraps generation errors in its own)."""
    while type(err).__name__ == "DatasetGenerationError" and err.__cause__ is not None:
        err = err.__cause__
    return str(err) or type(err).__name__


def default_push_name(run: dict[str, Any]) -> str:
    """``<preset>-demo<length>k`` (e.g. ``litelong-128k-demo16k``): the publisher wants the run's preset name,
    and the suffix tells the demo's row length."""
    return f"{run['config_name']}-demo{int(run['target_tokens']) // 1024}k"


def push_name(run: dict[str, Any] | None) -> str:
    return default_push_name(run) if run else ""


def _show(progress: gr.Progress, state: dict[str, Any]) -> None:
    total, done = state["total"], state["done"]
    if total:
        progress((min(done, total), total), desc=state["desc"], unit="steps")
    else:
        progress(None, desc=f"{state['desc']} ({done:,})" if done else state["desc"])


# ============================================================================ page


CSS = """
.ll-legend { padding: 2px 8px; border-radius: 4px; margin-right: 6px; font-size: 12px; }
.ll-piece { border-bottom: 1px solid rgba(0,0,0,.15); }
.ll-piece:hover { outline: 2px solid #555; }
.ll-note { color: #666; font-size: 13px; }
"""

SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")


def theme() -> gr.themes.Base:
    """The default theme with system fonts only: nothing is fetched from a font CDN."""
    return gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS))


def build_app(cache_dir: str | Path | None = None) -> gr.Blocks:
    """The page. ``cache_dir``: indexes, LLM answers, rows and uploads (default ``$LITELONG_HF_SPACE_CACHE``
    or the system temp folder)."""
    app = App(cache_dir)
    methods = method_choices()
    first = methods[0][1]
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        run = gr.State(None)
        gr.Markdown(
            f"# {TITLE}\nPick a method, generate a few rows of 8K–32K tokens on the embedded SmolLM2-135M "
            "(or your endpoint) and look inside: each piece of a row shaded by role, LiteLong's topic debate, "
            "hierarchical QA as a chat, NExtLong's hardness. Real runs use 64K–1M tokens: "
            '`litelong_hf.load("litelong-128k")`.'
        )
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                method = gr.Radio(methods, value=first, label="Method")
                first_presets = app.presets.get(first, [])
                config = gr.Dropdown(
                    preset_names(),
                    value=first_presets[0] if first_presets else None,
                    label="Config (preset)",
                )
                target = gr.Slider(
                    MIN_TOKENS, MAX_TOKENS, value=16384, step=1024, label="Target tokens per row"
                )
                num_rows = gr.Slider(1, 8, value=2, step=1, label="Rows")
                categories = gr.Dropdown(
                    category_choices(), value=["POL"], multiselect=True, label="LiteLong categories (BISAC)"
                )
                subcats = gr.Slider(1, 3, value=1, step=1, label="Subcategories to debate")
                corpus = gr.Radio(
                    [
                        ("Demo corpus (3,824 news articles)", "demo"),
                        ("Upload .jsonl / .parquet / .txt", "upload"),
                    ],
                    value="demo",
                    label="Corpus",
                )
                with gr.Accordion("Upload a corpus", open=False):
                    files = gr.File(
                        file_count="multiple",
                        file_types=list(UPLOAD_SUFFIXES),
                        type="filepath",
                        label="Corpus files (one format)",
                    )
                    text_column = gr.Textbox("text", label="Text column (.jsonl / .parquet)")
                upload_note = gr.Markdown(elem_id="upload-note")
                llm = gr.Radio(
                    [
                        ("Embedded SmolLM2-135M (CPU)", "embedded"),
                        ("OpenAI-compatible / TGI endpoint", "endpoint"),
                    ],
                    value="embedded",
                    label="LLM",
                )
                with gr.Accordion("Endpoint", open=False):
                    endpoint = gr.Textbox(label="Endpoint URL", placeholder="http://tgi-host:8080")
                    model = gr.Textbox(label="Model name (optional)")
                    api_key = gr.Textbox(label="Endpoint key (optional, never stored)", type="password")
                go = gr.Button("Generate", variant="primary", elem_id="generate")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="status")
                with gr.Tabs():
                    with gr.Tab("Rows"):
                        row_index = gr.Dropdown([], label="Row", elem_id="row-index")
                        row_view = gr.HTML(elem_id="row-view")
                        pieces = gr.Dataframe(headers=PIECE_HEADERS, label="Pieces", interactive=False)
                    with gr.Tab("Debate"):
                        debate = gr.HTML(elem_id="debate-view")
                    with gr.Tab("Chat (hierarchical)"):
                        chat = gr.Chatbot(label="Hierarchical QA row", height=520)
                    with gr.Tab("Lengths"):
                        plot = gr.Plot(label="Token lengths")
                    with gr.Tab("Report"):
                        hardness = gr.Markdown("NExtLong hardness figures appear here for NExtLong runs.")
                        report = gr.JSON(label="Run report")
                    with gr.Tab("Download & publish"):
                        download = gr.File(label="Rows as parquet", interactive=False)
                        repo_id = gr.Textbox(label="Dataset repo", placeholder="me/my-long-data")
                        push_config = gr.Textbox(label="Config name on the Hub")
                        hub_token = gr.Textbox(label="Hugging Face token (write)", type="password")
                        private = gr.Checkbox(label="Private repo")
                        push_button = gr.Button("Push to the Hub")
                        push_status = gr.Markdown(elem_id="push-status")

        config.input(app.fields_for_config, [config], [categories, subcats, target], api_visibility="private")
        method.change(
            app.configs_for, [method], [config, categories, subcats, target], api_name="configs", queue=False
        )
        gr.on(
            [files.change, corpus.change, text_column.change],
            app.check,
            [corpus, files, text_column],
            [upload_note],
            api_name="check_upload",
        )
        go.click(
            app.generate,
            [
                config,
                target,
                num_rows,
                categories,
                subcats,
                corpus,
                files,
                text_column,
                llm,
                endpoint,
                model,
                api_key,
            ],
            [status, run, plot, row_index, download, report, hardness],
            api_name="generate",
            concurrency_limit=1,
            concurrency_id="generate",
        ).then(
            app.show_row,
            [run, row_index],
            [row_view, pieces, debate, chat],
            api_name="show_first_row",
            api_visibility="private",
        ).then(push_name, [run], [push_config], api_name="push_name", api_visibility="private")
        row_index.input(app.show_row, [run, row_index], [row_view, pieces, debate, chat], api_name="show_row")
        push_button.click(
            app.push, [run, repo_id, push_config, hub_token, private], [push_status], api_name="push"
        )
    demo.queue(default_concurrency_limit=4)
    return demo


def launch(demo: gr.Blocks, **kwargs: Any) -> Any:
    """``demo.launch`` with the page's theme and CSS (gradio 6 takes them at launch)."""
    kwargs.setdefault("theme", theme())
    kwargs.setdefault("css", CSS)
    kwargs.setdefault("show_error", False)
    kwargs.setdefault("ssr_mode", False)  # no Node server process: the page is served by Python alone
    return demo.launch(**kwargs)


def main() -> None:
    launch(build_app(), server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"))


if __name__ == "__main__":
    main()
