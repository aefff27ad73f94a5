"""The hierarchical QA strategy: documents in, one :class:`ConversationDraft` per row out.

A row takes documents from the head of the shard's queue while each document's block and its own turns fit
``target_tokens`` (counted with the chat template); revisit sets about earlier documents are requested only
when there is room for them (an upper bound from the schema's length limits), so no request is wasted on
a turn that cannot enter the row. The LLM work of the documents a row will probably hold is started at
once, so an endpoint is kept at its concurrency bound.
"""

from __future__ import annotations

import hashlib
import random
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...chat import ChatBudget, ChatFormat, QATurn, chat_format, document_block, fit_messages
from ...config import BaseConfig, ConfigError
from ...llm import ChatLLM
from ...progress import progress_bar
from ...report import LLMMeter, RunReport
from ...tokens import TokenCounter
from ..base import Citation, ConversationDraft, RowKind, Strategy, shard_slice
from ..common import seed_for
from ..context import StrategyContext
from .config import STRATEGY, HierarchicalConfig
from .documents import DocumentSet, SourceDocument, build_document_set, topic_titles
from .gates import gate_summary
from .planning import cost_summary, medium_id, questions_per_document, revisit_draws, small_id
from .plans import plan_documents, revisit_sets
from .prompts import hierarchical_prompts, question_text, revisit_text
from .writer import DocumentPlan, QAWriter

QA_TURN_ESTIMATE = 90
"""Tokens one question/answer turn takes, for choosing how many documents to prepare for a row (ours)."""


@dataclass
class _RowDraft:
    blocks: list[str] = field(default_factory=list)
    turns: list[QATurn] = field(default_factory=list)
    sources: list[tuple[str, ...]] = field(default_factory=list)
    plans: list[DocumentPlan] = field(default_factory=list)
    next_revisit: list[int] = field(default_factory=list)


class HierarchicalStrategy(Strategy):
    """See :mod:`litelong_hf.strategies.hierarchical`. ``llm``: used instead of the configured role ``qa``
    (tests and benchmarks inject one)."""

    name: ClassVar[str] = STRATEGY
    row_kind: ClassVar[RowKind] = "instruction"
    citation: ClassVar[Citation | None] = Citation(
        "Hierarchical QA (He et al.)",
        "2504.12637",
        "Scaling Instruction-Tuned LLMs to Million-Token Contexts via Hierarchical Synthetic Data Generation",
    )

    def __init__(
        self, config: BaseConfig, context: StrategyContext | None = None, *, llm: ChatLLM | None = None
    ) -> None:
        if not isinstance(config, HierarchicalConfig):
            raise TypeError("HierarchicalStrategy needs a HierarchicalConfig")
        super().__init__(config, context)
        self.config: HierarchicalConfig = config
        self._llm = llm

    def validate(self) -> None:
        """Raise now for missing topics, an unusable chat template or a bad prompt set."""
        c = self.config
        hierarchical_prompts(c.prompts)
        chat_format(c.tokenizer, c.chat_template)
        if c.grouping == "topic":
            topic_titles(c)

    def num_work_items(self) -> int:
        """Documents of the run (shards take contiguous slices of them)."""
        return len(self.document_set().documents)

    def document_set(self) -> DocumentSet:
        return build_document_set(self.config, self.context)

    def summarize(self, report: RunReport) -> dict[str, Any]:
        """The run's LLM cost and QA gate pass rates, from the added-up shard counters."""
        return {"cost": cost_summary(report.stats, report.llm), "qa_gates": gate_summary(report.stats)}

    def _writer(self) -> QAWriter:
        c = self.config
        llm = self._llm
        if llm is None:
            llm = self.context.chat_llms(c.roles_config(), ("qa",))["qa"]
        return QAWriter(llm, c, TokenCounter.get(c.tokenizer))

    def drafts(
        self, shard: int, num_shards: int, report: RunReport
    ) -> Generator[ConversationDraft, None, None]:
        """The conversations of shard ``shard`` (lazy: stop iterating once the shard has its rows)."""
        c = self.config
        documents = self.document_set()
        if shard == 0:
            documents.add_to(report)  # corpus-wide counts: once per run, not once per shard
        queue = deque(
            documents.documents[i] for i in shard_slice(len(documents.documents), shard, num_shards)
        )
        if not queue:
            return
        fmt = chat_format(c.tokenizer, c.chat_template)
        writer = self._writer()
        # The LLM may be shared by several shards of one process: only this shard's part is added.
        meter = LLMMeter([writer.llm])
        report.extra.setdefault("models", {"qa": writer.llm.model_id})
        report.extra.setdefault("prompt_versions", {STRATEGY: writer.prompts.tag})
        report.extra.setdefault("chat_format", fmt.name)
        made = 0
        try:
            with progress_bar("Hierarchical QA", total=len(queue), unit="docs") as advance:
                while queue:
                    if sum(d.n_tokens for d in queue) < c.min_row_fill * c.target_tokens:
                        reason = f"not enough documents left to fill a row (min_row_fill={c.min_row_fill})"
                        report.skip("document", reason, len(queue))
                        break
                    built = self._next_draft(queue, shard, made, writer, fmt, report, advance)
                    if built is None:
                        continue
                    draft, transcript = built
                    self.record_transcript({"shard": shard, "row": made, **transcript})
                    made += 1
                    yield draft
        finally:
            writer.add_to(report)
            meter.add_to(report)
            writer.close()

    def _prepare(self, queue: deque[SourceDocument], writer: QAWriter, limit: int) -> None:
        """Start the LLM work of the documents this row will probably hold, all at once (concurrently)."""
        c = self.config
        chosen: list[SourceDocument] = []
        total = 0
        for document in queue:
            if len(chosen) >= limit:
                break
            tree = document.tree
            questions = questions_per_document(c.question_plan, vars(c), len(tree.medium), len(tree.small))
            cost = document.n_tokens + questions * QA_TURN_ESTIMATE
            if chosen and total + cost > c.target_tokens:
                break
            chosen.append(document)
            total += cost
        plan_documents(writer, chosen)

    def _revisit_bound(self, fmt: ChatFormat, doc_index: int) -> int:
        """Most tokens one revisit set can take: the schema bounds every question and answer in characters,
        and a character is at most a token for English text (an upper bound used before requesting)."""
        c = self.config
        question = fmt.message_tokens("user", revisit_text(doc_index, "")) + c.question_max_chars
        return c.revisit_questions * (question + fmt.message_tokens("assistant", "") + c.answer_max_chars)

    def _next_draft(
        self,
        queue: deque[SourceDocument],
        shard: int,
        index: int,
        writer: QAWriter,
        fmt: ChatFormat,
        report: RunReport,
        advance: Any,
    ) -> tuple[ConversationDraft, dict[str, Any]] | None:
        """Fill one row from the head of ``queue``: documents in order while they and their turns fit."""
        c = self.config
        limit = c.max_documents_per_row or len(queue)
        self._prepare(queue, writer, limit)
        rng = random.Random(seed_for(c.seed, "hierarchical-row", shard, index))
        budget = ChatBudget(fmt)
        draft = _RowDraft()
        while queue and len(draft.plans) < limit:
            document = queue[0]
            k = len(draft.plans)
            block = document_block(k + 1, document.text)
            cost = budget.block_tokens(block)
            own: list[QATurn] = []
            fits = budget.used + cost <= c.target_tokens
            if fits:
                plan = plan_documents(writer, [document])[0]
                own = [
                    QATurn(question_text(k, qa.question), qa.answer, qa.level, qa.kind, k) for qa in plan.qa
                ]
                cost += budget.turns_tokens(own, first_turn=budget.turns)
                fits = budget.used + cost <= c.target_tokens
            if not fits:
                if k > 0:
                    break
                report.skip("document", "longer than target_tokens together with its questions")
                writer.forget(queue.popleft())
                advance(1)
                continue
            writer.forget(queue.popleft())
            advance(1)
            sources = [qa.chunks for qa in plan.qa]
            draws = revisit_draws(rng, k, c.revisit_probability)
            room = c.target_tokens - budget.used - cost
            affordable = sum(1 for i in range(len(draws)) if (i + 1) * self._revisit_bound(fmt, k) <= room)
            if affordable < len(draws):
                report.count("revisit_sets_without_room", len(draws) - affordable)
                draws = draws[:affordable]
            sets = revisit_sets(writer, [(draft.plans[j], draft.next_revisit[j]) for j in draws])
            revisits: list[QATurn] = []
            for j, qas in zip(draws, sets, strict=True):
                revisits.extend(
                    QATurn(revisit_text(j, qa.question), qa.answer, qa.level, qa.kind, j) for qa in qas
                )
                sources.extend(qa.chunks for qa in qas)
                draft.next_revisit[j] += 1
            cost += budget.turns_tokens(revisits, first_turn=budget.turns + len(own))
            budget.add(cost, len(own) + len(revisits))
            draft.blocks.append(block)
            draft.turns.extend(own + revisits)
            draft.sources.extend(sources)
            draft.plans.append(plan)
            draft.next_revisit.append(0)
            report.count("revisit_sets", len(draws))
        if not draft.plans:
            return None
        if not draft.turns:
            report.skip("row", "no question/answer turns (every LLM answer failed or was unparseable)")
            return None
        messages, kept, n_tokens = fit_messages(fmt, draft.blocks, draft.turns, c.target_tokens)
        if len(kept) < len(draft.turns):
            report.skip("question", "dropped to fit target_tokens", len(draft.turns) - len(kept))
        if n_tokens != budget.used and fmt.additive:
            report.count("rows_planned_inexactly")
        entries, first_entry = document_entries(fmt, draft.plans)
        conversation = ConversationDraft(
            messages=messages,
            n_tokens=n_tokens,
            documents=entries,
            questions=[
                {"level": t.level, "kind": t.kind, "doc_index": first_entry[t.doc_index]} for t in kept
            ],
        )
        transcript = {
            "documents": [document_record(p) for p in draft.plans],
            "turns": [
                {"level": t.level, "kind": t.kind, "block": t.doc_index, "chunks": list(s)}
                for t, s in zip(kept, draft.sources, strict=False)
            ],
        }
        return conversation, transcript


def document_entries(fmt: ChatFormat, plans: list[DocumentPlan]) -> tuple[list[dict[str, Any]], list[int]]:
    """The row's ``documents``: one entry per corpus document, in order, with the tokens of its text as it
    appears in the row; and, per document block, the index of its first entry (a question's ``doc_index``)."""
    entries: list[dict[str, Any]] = []
    first: list[int] = []
    for plan in plans:
        first.append(len(entries))
        text = plan.document.text
        for member in plan.document.members:
            part = text[member.start : member.end].strip()
            entries.append({"doc_id": member.doc_id, "n_tokens": fmt.text_tokens(part)})
    return entries, first


def document_record(plan: DocumentPlan) -> dict[str, Any]:
    """A document's provenance for the shard transcript: members, chunk spans (with a hash of each chunk's
    stripped text, to find it in the row) and summaries."""
    document = plan.document
    tree = document.tree

    def digest(start: int, end: int) -> str:
        return hashlib.sha1(document.text[start:end].strip().encode()).hexdigest()

    return {
        "key": document.key,
        "group": document.group,
        "members": [{"doc_id": m.doc_id, "start": m.start, "end": m.end} for m in document.members],
        "n_tokens": document.n_tokens,
        "small": [
            {
                "id": small_id(i),
                "start": s.start,
                "end": s.end,
                "n_tokens": s.n_tokens,
                "sha1": digest(s.start, s.end),
            }
            for i, s in enumerate(tree.small)
        ],
        "medium": [
            {
                "id": medium_id(m),
                "small": [small_id(i) for i in members],
                "start": tree.medium_span(m)[0],
                "end": tree.medium_span(m)[1],
                "sha1": digest(*tree.medium_span(m)),
            }
            for m, members in enumerate(tree.medium)
        ],
        "summaries": plan.summaries,
    }


__all__ = ["ConfigError", "HierarchicalStrategy", "document_entries", "document_record"]
