"""The question writer: summaries and gated question/answer pairs of documents from one :class:`ChatLLM`.

Every request depends only on the text it is about (a chunk, excerpts of two chunks, or summaries), the
prompt set and the sampling settings, never on the row: its answer is served from the request cache to
every row and config holding that text. Every request is fitted into the LLM's context window (a passage is
truncated at a token boundary, two passages share the room, a list of summaries too long is summarized in
groups first); all of it is counted. Each pair passes the gates of :mod:`.gates` or is asked again with
another seed (``qa_retries``), then dropped and counted.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...config import ConfigError
from ...llm import ChatLLM, ChatResult, run_sync
from ...tokens import TokenCounter
from ..chunk_tree import fit_groups, truncate_to_tokens
from .config import HierarchicalConfig
from .documents import SourceDocument
from .gates import (
    GATES,
    GateResult,
    MaterialWords,
    SupportScorer,
    check_pair,
    normalized_question,
    trim_answer,
)
from .prompts import (
    CHECK_KEY,
    CHECK_SCHEMA,
    hierarchical_prompts,
    qa_max_tokens,
    qa_pairs_from,
    qa_schema,
    supported_from,
    trim_summary,
)

_CHAT_SLACK = 64
"""Tokens of an LLM request outside the prompt text (chat template, schema hints), for window budgets."""
_FAILURE_RECORDS = 200
"""Unparseable answers kept verbatim per shard in the report (all are counted, and logged by the cache)."""
RETRY_SEED_STEP = 7919
"""Seed offset of each retry of a QA request (a prime, so retries never meet another request's seed)."""


@dataclass(frozen=True)
class QA:
    """A question/answer pair and where it came from."""

    question: str
    answer: str
    level: str
    kind: str
    chunks: tuple[str, ...]
    """Ids of the chunks it was asked from: ``s003`` (small), ``m01`` (medium), ``doc`` (the document)."""


@dataclass
class DocumentPlan:
    """A document's summaries and its question/answer pairs in reading order (row-independent)."""

    document: SourceDocument
    summaries: dict[str, str]
    qa: list[QA]
    revisits: dict[int, list[QA]] = field(default_factory=dict)


class QAWriter:
    """Summaries and gated question/answer pairs of documents (async, row-independent, memoized per
    document until :meth:`forget`). ``stats`` counts what happened (added to the shard report at the end)."""

    def __init__(
        self,
        llm: ChatLLM,
        config: HierarchicalConfig,
        counter: TokenCounter,
        *,
        scorer: SupportScorer | None = None,
        min_score: float = 0.5,
    ) -> None:
        """``scorer``: an optional support score of an answer against the texts it was asked from, failing the
        grounding gate below ``min_score`` (see :data:`.gates.SupportScorer`)."""
        self.llm = llm
        self.scorer = scorer
        self.min_score = min_score
        self.config = config
        self.counter = counter
        self.prompts = hierarchical_prompts(config.prompts)
        self.stats: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.failures: list[dict[str, str]] = []
        self.window = llm.context_window
        self._budgets: dict[tuple[str, int, str], int] = {}
        self.memo: dict[str, DocumentPlan] = {}
        if config.llm_grounding_check and CHECK_KEY not in self.prompts.templates:
            raise ConfigError(
                f"llm_grounding_check needs a {CHECK_KEY!r} template; prompt set {config.prompts!r} has none."
            )
        budget = self.budget("summarize_parts", config.summary_max_tokens, parts=[], what="", sentences=0)
        if budget < 2 * config.summary_max_tokens:
            raise ConfigError(
                f"The LLM's context window ({self.window} tokens) cannot hold two summaries of "
                f"summary_max_tokens={config.summary_max_tokens}. Lower summary_max_tokens or use a model with "
                "a larger window (n_ctx)."
            )
        counts = (config.global_questions, config.medium_questions, config.small_questions)
        largest = max((1, *counts, config.revisit_questions))
        answer = qa_max_tokens(largest, config.question_max_chars, config.answer_max_chars)
        if self.budget("revisit", answer, n=largest, text="", avoid=[]) < config.summary_max_tokens:
            raise ConfigError(
                f"The LLM's context window ({self.window} tokens) leaves almost no room for the text of a "
                f"request for {largest} questions (answer budget {answer} tokens). Lower the question counts, "
                "question_max_chars or answer_max_chars, or use a model with a larger window (n_ctx)."
            )

    # -- requests -------------------------------------------------------------------------------------

    def budget(self, key: str, max_tokens: int, **empty: Any) -> int:
        """Target-tokenizer tokens of material that fit one request of prompt ``key`` with ``max_tokens``."""
        cache_key = (key, max_tokens, json.dumps(empty, sort_keys=True, default=str))
        if cache_key not in self._budgets:
            ratio = self.config.llm_token_ratio
            overhead = self.counter.count(self.prompts.system + "\n" + self.prompts.render(key, **empty))
            room = self.window - max_tokens - math.ceil(overhead * ratio) - _CHAT_SLACK
            self._budgets[cache_key] = max(0, int(room / ratio))
        return self._budgets[cache_key]

    def fit(self, text: str, n_tokens: int, budget: int) -> str:
        if n_tokens <= budget:
            return text
        self.stats["llm_inputs_truncated"] += 1
        return truncate_to_tokens(text, max(1, budget), self.counter)

    async def ask(
        self,
        prompt: str,
        *,
        step: str,
        schema: Mapping[str, Any] | None,
        max_tokens: int,
        seed: int,
        kind: str,
    ) -> ChatResult | None:
        """One request; ``kind`` (``summary``, ``qa``, ``qa_retry``, ``grounding_check``) labels it in the LLM
        layer's per-kind counters."""
        c = self.config
        messages = [{"role": "system", "content": self.prompts.system}, {"role": "user", "content": prompt}]
        result = await self.llm.chat(
            messages,
            schema=schema,
            temperature=c.temperature,
            top_p=c.top_p,
            max_tokens=max_tokens,
            seed=seed,
            kind=kind,
        )
        if result.ok:
            return result
        if len(self.failures) < _FAILURE_RECORDS:
            reason = result.error or result.parse_error or ""
            self.failures.append({"step": step, "error": reason, "text": result.text[:2000]})
        return None

    async def summarize_chunk(self, text: str, n_tokens: int) -> str:
        max_tokens = self.config.summary_max_tokens
        passage = self.fit(text.strip(), n_tokens, self.budget("summarize_chunk", max_tokens, text=""))
        prompt = self.prompts.render("summarize_chunk", text=passage)
        result = await self.ask(
            prompt, step="summary", schema=None, max_tokens=max_tokens, seed=self.config.seed, kind="summary"
        )
        return trim_summary(result.text) if result is not None else ""

    async def summarize_parts(self, parts: Sequence[str], what: str, sentences: int) -> str:
        """One summary of consecutive summaries; a single part is reused as is; too many are grouped."""
        parts = [p for p in parts if p]
        if not parts:
            return ""
        if len(parts) == 1:
            self.stats["summaries_reused_single_child"] += 1
            return parts[0]
        max_tokens = self.config.summary_max_tokens
        budget = self.budget("summarize_parts", max_tokens, parts=[], what=what, sentences=sentences)
        sizes = [self.counter.count(p) + 4 for p in parts]  # + "Part N: "
        if sum(sizes) > budget:
            self.stats["llm_inputs_split"] += 1
            half = budget // 2 - 4
            fitted = [
                self.fit(p, n - 4, half) if n > budget // 2 else p for p, n in zip(parts, sizes, strict=True)
            ]
            groups = fit_groups([min(n, budget // 2) for n in sizes], budget)
            partial = await asyncio.gather(
                *(self.summarize_parts([fitted[i] for i in g], what, sentences) for g in groups)
            )
            return await self.summarize_parts(list(partial), what, sentences)
        prompt = self.prompts.render("summarize_parts", parts=parts, what=what, sentences=sentences)
        result = await self.ask(
            prompt, step="summary", schema=None, max_tokens=max_tokens, seed=self.config.seed, kind="summary"
        )
        return trim_summary(result.text) if result is not None else ""

    def fitted_material(
        self, key: str, n: int, material: Mapping[str, tuple[str, int]], extra: Mapping[str, Any]
    ) -> dict[str, str]:
        """The material texts of a QA request, fitted into its room (several passages share it)."""
        from .planning import sentence_prefix, share_room

        c = self.config
        max_tokens = qa_max_tokens(n, c.question_max_chars, c.answer_max_chars)
        room = self.budget(key, max_tokens, n=n, **{name: "" for name in material}, **extra)
        names = list(material)
        sizes = [material[name][1] for name in names]
        if len(names) > 1 and sum(sizes) > room:
            self.stats["two_chunk_excerpts"] += 1
            shares = share_room(sizes, room)
            return {
                name: sentence_prefix(self.fit(material[name][0].strip(), size, share))
                for name, size, share in zip(names, sizes, shares, strict=True)
            }
        return {name: self.fit(text.strip(), tokens, room) for name, (text, tokens) in material.items()}

    async def questions(
        self,
        key: str,
        n: int,
        seed: int,
        material: Mapping[str, tuple[str, int]],
        extra: Mapping[str, Any] | None = None,
    ) -> list[tuple[str, str]]:
        """``n`` gated pairs from prompt ``key`` (fewer when retries run out); ``material`` maps a template
        variable to ``(text, tokens)``."""
        if n <= 0:
            return []
        if any(not text for text, _ in material.values()):
            self.stats["qa_sets_without_material"] += 1
            return []
        c = self.config
        extra = dict(extra or {})
        kept: list[tuple[str, str]] = []
        seen = {normalized_question(q) for q in extra.get("avoid", [])}
        gated = False
        # Fitted once for n pairs (the largest answer budget), so retries asking for fewer see the same text.
        values = self.fitted_material(key, n, material, extra)
        words = MaterialWords.of(*values.values())
        for attempt in range(1 + (c.qa_retries if c.qa_gates else 0)):
            need = n - len(kept)
            if need <= 0:
                break
            if attempt:
                self.stats["qa_retry_requests"] += 1
            for question, answer in await self._ask_pairs(
                key, need, seed + attempt * RETRY_SEED_STEP, values, extra, retry=attempt > 0
            ):
                if c.qa_gates and c.trim_answers:
                    trimmed = trim_answer(answer)
                    if trimmed != answer:
                        self.stats["qa_answers_trimmed"] += 1
                        answer = trimmed
                verdict = await self._gate(question, answer, words, values, seen)
                if verdict is None:
                    kept.append((question, answer))
                    seen.add(normalized_question(question))
                else:
                    gated = True
        self.stats["qa_pairs_kept"] += len(kept)
        if len(kept) < n:
            self.stats["qa_pairs_dropped"] += n - len(kept)
            reason = "failed a quality gate, retries exhausted" if gated else "no parseable answer"
            self.dropped[reason] += n - len(kept)
        return kept

    async def _ask_pairs(
        self, key: str, n: int, seed: int, values: Mapping[str, str], extra: Mapping[str, Any], *, retry: bool
    ) -> list[tuple[str, str]]:
        c = self.config
        prompt = self.prompts.render(key, n=n, **values, **extra)
        schema = qa_schema(n, c.question_max_chars, c.answer_max_chars, c.question_openers)
        max_tokens = qa_max_tokens(n, c.question_max_chars, c.answer_max_chars)
        kind = "qa_retry" if retry else "qa"
        result = await self.ask(prompt, step=key, schema=schema, max_tokens=max_tokens, seed=seed, kind=kind)
        pairs = qa_pairs_from(result.parsed)[:n] if result is not None else []
        if result is not None:
            self.stats["qa_pairs_missing"] += n - len(pairs)  # a backend that ignored the schema's count
        return pairs

    async def _gate(
        self, question: str, answer: str, words: MaterialWords, values: Mapping[str, str], seen: set[str]
    ) -> str | None:
        """``None`` when the pair passes every gate, else the first failed gate; counts every gate."""
        c = self.config
        self.stats["qa_gate_pairs"] += 1
        if not c.qa_gates:
            self.stats["qa_gate_passed"] += 1
            return None
        result = check_pair(
            question,
            answer,
            words,
            answer_max_chars=c.answer_max_chars,
            max_copy=c.max_question_copy,
            min_overlap=c.min_answer_overlap,
            scorer=self.scorer,
            texts=tuple(values.values()),
            min_score=self.min_score,
        )
        if result.question is None and normalized_question(question) in seen:
            result = GateResult("duplicate", result.answer, result.grounding)
        for gate, _ in result.failures():
            self.stats[f"qa_gate_{gate}_failed"] += 1
        failed = result.failures()[0][0] if not result.passed else None
        if failed is None and c.llm_grounding_check:
            self.stats["qa_gate_llm_checked"] += 1
            if not await self._llm_supports(question, answer, values):
                self.stats["qa_gate_llm_failed"] += 1
                failed = "llm"
        if failed is None:
            self.stats["qa_gate_passed"] += 1
        return failed

    async def _llm_supports(self, question: str, answer: str, values: Mapping[str, str]) -> bool:
        material = "\n\n".join(values.values())
        room = self.budget(CHECK_KEY, 32, text="", question=question, answer=answer)
        text = self.fit(material, self.counter.count(material), room)
        prompt = self.prompts.render(CHECK_KEY, text=text, question=question, answer=answer)
        result = await self.ask(
            prompt,
            step=CHECK_KEY,
            schema=CHECK_SCHEMA,
            max_tokens=32,
            seed=self.config.seed,
            kind="grounding_check",
        )
        return result is not None and supported_from(result.parsed) is True

    def add_to(self, report: Any) -> None:
        """Add this writer's counters, drop reasons and failure records to a shard report."""
        report.stats.update(self.stats)
        for reason, n in self.dropped.items():
            report.skip("qa_pair", reason, n)
        if self.failures:
            report.extra.setdefault("llm_failures", []).extend(self.failures)

    def forget(self, document: SourceDocument) -> None:
        self.memo.pop(document.key, None)

    def close(self) -> None:
        run_sync(self.llm.aclose())


__all__ = ["GATES", "QA", "DocumentPlan", "QAWriter"]
