"""What the demo Space shows of a run, as pure functions of its rows and report (no gradio, no I/O).

A pretraining row is shaded piece by piece by role; a LiteLong row's topic debate is laid out side by side;
an instruction (hierarchical) row is shown as chat messages; the lengths as histograms; the report as
markdown. ``space/app.py`` binds them to the page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from litelong_hf.tokens import TokenCounter

ROLE_COLORS = {"retrieved": "#cfe3ff", "meta": "#c9f2d0", "negative": "#ffd6cc", "random": "#f3e9c6"}
ROLE_LABELS = {
    "retrieved": "retrieved (BM25 hit for the topic)",
    "meta": "meta-chunk (the seed document)",
    "negative": "hard negative (distractor)",
    "random": "random document (baseline)",
}

CHAT_DOC_CHARS = 600
"""Characters of the long documents shown at each end of a chat turn (the rest is elided)."""


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


def instruction_row_view(row: dict[str, Any]) -> tuple[str, list[list[Any]], str, list[dict[str, str]]]:
    """An instruction row for the Rows tab: a head line, its documents as the table, a note, the chat."""
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


def pretraining_row_view(
    row: dict[str, Any], transcripts: Sequence[dict[str, Any]]
) -> tuple[str, list[list[Any]], str, list[dict[str, str]]]:
    """A pretraining row for the Rows tab: its shaded text, its pieces, its topic's debate (no chat)."""
    pieces = row_pieces(row)
    return row_html(row, pieces), piece_table(pieces), debate_html(transcripts, row.get("topic")), []
