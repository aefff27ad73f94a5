"""A document's LLM work in the method's order (METHODS.md §3.3-3.6): bottom-up summaries, hierarchical
questions in reading order, diverse questions, and revisit sets, all through one :class:`QAWriter`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ...llm import run_sync
from ..common import seed_for
from .documents import SourceDocument
from .planning import diverse_choices, hierarchical_walk, medium_id, revisit_chunk, small_id
from .writer import QA, DocumentPlan, QAWriter


async def plan_document(writer: QAWriter, document: SourceDocument) -> DocumentPlan:
    """Summaries and QA pairs of one document (memoized in the writer until ``forget``)."""
    if document.key in writer.memo:
        return writer.memo[document.key]
    c = writer.config
    tree = document.tree
    texts = [document.text[s.start : s.end] for s in tree.small]
    tokens = [s.n_tokens for s in tree.small]
    count = writer.counter.count
    walk = (
        hierarchical_walk(
            c.hierarchical_questions,
            tree.medium,
            seed_for(c.seed, document.fingerprint, "hierarchical"),
        )
        if c.question_plan == "sampled"
        else None
    )

    def asked(level: str, n_each: int) -> dict[int, list[tuple[int, int]]]:
        """``{node index: [(count, seed variant), ...]}`` of the question requests at ``level``."""
        if walk is None:
            size = {"global": 1, "medium": len(tree.medium), "small": len(tree.small)}[level]
            return {i: [(n_each, 0)] for i in range(size)} if n_each > 0 else {}
        wanted: dict[int, list[tuple[int, int]]] = {}
        for step_level, index, variant in walk:
            if step_level == level:
                wanted.setdefault(index, []).append((1, variant))
        return wanted

    small_wanted = asked("small", c.small_questions)
    medium_wanted = asked("medium", c.medium_questions)
    global_wanted = asked("global", c.global_questions).get(0, [])

    async with asyncio.TaskGroup() as group:
        # Created in reading order, each passage's summary right before its questions, so a backend that
        # reuses a shared prompt prefix (llama.cpp) reads each passage once.
        small_summaries = []
        small_qa: dict[tuple[int, int], asyncio.Task[list[tuple[str, str]]]] = {}
        for i, (text, n) in enumerate(zip(texts, tokens, strict=True)):
            small_summaries.append(group.create_task(writer.summarize_chunk(text, n)))
            for n_pairs, variant in small_wanted.get(i, []):
                small_qa[(i, variant)] = group.create_task(
                    writer.questions("questions_small", n_pairs, c.seed + variant, {"text": (text, n)})
                )

        async def medium_summary(members: range) -> str:
            parts = [await small_summaries[i] for i in members]
            return await writer.summarize_parts(parts, "one section of a long document", 5)

        medium_summaries = [group.create_task(medium_summary(m)) for m in tree.medium]

        async def medium_questions(index: int, n_pairs: int, variant: int) -> list[tuple[str, str]]:
            summary = await medium_summaries[index]
            material = {"summary": (summary, count(summary))}
            return await writer.questions("questions_medium", n_pairs, c.seed + variant, material)

        medium_qa = {
            (i, variant): group.create_task(medium_questions(i, n_pairs, variant))
            for i, requests in medium_wanted.items()
            for n_pairs, variant in requests
        }

        async def document_summary() -> str:
            parts = [await task for task in medium_summaries]
            return await writer.summarize_parts(parts, "a whole long document", 6)

        doc_summary = group.create_task(document_summary())

        async def global_questions(n_pairs: int, variant: int) -> list[tuple[str, str]]:
            summary = await doc_summary
            material = {"summary": (summary, count(summary))}
            return await writer.questions("questions_global", n_pairs, c.seed + variant, material)

        global_qa = {v: group.create_task(global_questions(n_pairs, v)) for n_pairs, v in global_wanted}
        choices = diverse_choices(
            c.diverse_questions,
            c.question_types,
            len(tree.small),
            seed_for(c.seed, document.fingerprint, "diverse"),
        )

        async def diverse(index: int, kind: str, chunks: tuple[int, ...]) -> list[tuple[str, str]]:
            seed = c.seed + index  # two questions of one kind on one chunk must still differ
            if len(chunks) == 1:
                material = {"text": (texts[chunks[0]], tokens[chunks[0]])}
            else:  # both passages, as excerpts fitted into the request when they do not fit whole
                first, second = chunks
                material = {"first": (texts[first], tokens[first]), "second": (texts[second], tokens[second])}
            return await writer.questions(f"diverse_{kind}", 1, seed, material)

        diverse_qa = [group.create_task(diverse(i, kind, chunks)) for i, (kind, chunks) in enumerate(choices)]

    summaries = {"doc": doc_summary.result()}
    summaries.update({medium_id(i): t.result() for i, t in enumerate(medium_summaries)})
    summaries.update({small_id(i): t.result() for i, t in enumerate(small_summaries)})
    if walk is None:  # exhaustive: the document, then each medium chunk followed by its small chunks
        order = [("global", 0, 0)]
        for m, members in enumerate(tree.medium):
            order.append(("medium", m, 0))
            order.extend(("small", i, 0) for i in members)
    else:
        order = walk
    qa: list[QA] = []
    for level, index, variant in order:
        if level == "global" and variant in global_qa:
            qa.extend(QA(q, a, "global", "summary", ("doc",)) for q, a in global_qa[variant].result())
        elif level == "medium" and (index, variant) in medium_qa:
            pairs = medium_qa[(index, variant)].result()
            qa.extend(QA(q, a, "medium", "summary", (medium_id(index),)) for q, a in pairs)
        elif level == "small" and (index, variant) in small_qa:
            pairs = small_qa[(index, variant)].result()
            qa.extend(QA(q, a, "small", "detail", (small_id(index),)) for q, a in pairs)
    for (kind, chunks), task in zip(choices, diverse_qa, strict=True):
        qa.extend(QA(q, a, "diverse", kind, tuple(small_id(i) for i in chunks)) for q, a in task.result())
    plan = DocumentPlan(document, summaries, qa)
    writer.memo[document.key] = plan
    return plan


async def revisit_set(writer: QAWriter, plan: DocumentPlan, set_index: int) -> list[QA]:
    """Revisit set ``set_index`` of a document: new questions about one of its small chunks."""
    if set_index in plan.revisits:
        return plan.revisits[set_index]
    c = writer.config
    document = plan.document
    index, variant = revisit_chunk(
        set_index, len(document.tree.small), seed_for(c.seed, document.fingerprint, "revisit")
    )
    span = document.tree.small[index]
    chunk = small_id(index)
    avoid = [qa.question for qa in plan.qa if qa.level == "small" and qa.chunks == (chunk,)]
    pairs = await writer.questions(
        "revisit",
        c.revisit_questions,
        c.seed + variant,
        {"text": (document.text[span.start : span.end], span.n_tokens)},
        {"avoid": avoid},
    )
    plan.revisits[set_index] = [QA(q, a, "revisit", "detail", (chunk,)) for q, a in pairs]
    return plan.revisits[set_index]


def plan_documents(writer: QAWriter, documents: Sequence[SourceDocument]) -> list[DocumentPlan]:
    """:func:`plan_document` for several documents at once (their requests run concurrently)."""

    async def run_all() -> list[DocumentPlan]:
        return list(await asyncio.gather(*(plan_document(writer, d) for d in documents)))

    return run_sync(run_all())


def revisit_sets(writer: QAWriter, wanted: Sequence[tuple[DocumentPlan, int]]) -> list[list[QA]]:
    """:func:`revisit_set` for several (plan, set index) pairs at once."""

    async def run_all() -> list[list[QA]]:
        return list(await asyncio.gather(*(revisit_set(writer, plan, k) for plan, k in wanted)))

    return run_sync(run_all()) if wanted else []
