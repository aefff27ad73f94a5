"""Where a LiteLong run's topics and pieces come from, as functions of their inputs: the topics file
grouped by taxonomy entry, what a debate counts into the report, and a topic's retrieved pieces read from
the store in batches. Split out of :mod:`litelong_hf.strategies.litelong`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..docstore import DocumentStore
from ..index import Hit
from ..packing import Piece
from ..report import RunReport
from ..taxonomy import TaxonomyEntry
from .debate import Transcript
from .topic_plan import Topic


def topics_by_entry(
    items: Iterable[Mapping[str, Any]], entries: Sequence[TaxonomyEntry], report: RunReport
) -> dict[tuple[str, str], list[Topic]]:
    """Topics-file lines as topics by casefolded (top, sub) of ``entries``; lines outside them are counted
    (``topics_file_outside_selection``)."""
    wanted = {(e.top.casefold(), e.sub.casefold()) for e in entries}
    grouped: dict[tuple[str, str], list[Topic]] = {}
    for item in items:
        topic = Topic(item["top"], item["sub"], item["title"], str(item.get("explanation") or ""))
        key = (topic.top.casefold(), topic.sub.casefold())
        if key in wanted:
            grouped.setdefault(key, []).append(topic)
        else:
            report.count("topics_file_outside_selection")
    return grouped


def count_debate(t: Transcript, report: RunReport) -> None:
    """Count what one debate generated, kept and rejected (and why it failed) into ``report``."""
    report.count("categories_processed")
    report.count("topics_generated", sum(len(v) for v in t.generated.values()))
    report.count("topics_candidates", len(t.kept) + len(t.rejected))
    report.count("topics_rejected", len(t.rejected))
    report.count("topics_kept", len(t.kept))
    report.count("llm_unparseable_answers", len(t.unparseable))
    report.count("judge_rejections_unmatched", t.unmatched_rejections)
    report.count("judge_retries", max(0, t.judge_attempts - 1))
    if t.failed:
        report.skip("category", t.failed)
    elif not t.kept:
        reason = "debate kept no topics" + (" (unparseable LLM answers)" if t.unparseable else "")
        report.skip("category", reason)


def retrieved_pieces(
    docs: DocumentStore, hits: Sequence[Hit], texts: Mapping[str, str] | None = None, batch: int = 256
) -> Iterator[Piece]:
    """The retrieved pieces of ``hits`` in order: texts from ``texts`` when it holds them, else read from
    ``docs`` ``batch`` at a time (a bundle that stops after its rows reads at most one batch it does not
    use)."""
    known = texts or {}
    for start in range(0, len(hits), batch):
        chunk = hits[start : start + batch]
        missing = [h.doc_id for h in chunk if h.doc_id not in known]
        read = docs.texts_by_id(missing) if missing else {}
        for h in chunk:
            text = known.get(h.doc_id)
            yield Piece(read[h.doc_id] if text is None else text, h.doc_id, "retrieved", h.score)
