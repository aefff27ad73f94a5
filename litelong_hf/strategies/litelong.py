"""LiteLong (METHODS.md §1): BISAC topics chosen by a multi-LLM debate, BM25 retrieval, exact-length rows.

Units of work are taxonomy entries (top, sub) in :func:`~litelong_hf.taxonomy.spread_order` (seeded,
round-robin over top categories); shard ``s`` of ``n`` takes entries ``s, s + n, s + 2n, ...``. ``drafts``
is lazy: it debates one entry when it first needs that entry's topics (every answer cached), retrieves
documents for the entry's kept topics in one batched BM25 search, and yields one bundle per topic in
turns (the first topic of every entry, then the second of every entry, ...), so a run that stops after a
few rows has debated only the subcategories it used and its rows come from several top categories.

Coherence (issue 14): a topic's query is its title plus its explanation and taxonomy path (documents must
match the title); the best ``feedback_docs`` hits lend their distinctive words to a second query
(pseudo-relevance feedback); only documents scoring at least ``relevance_floor`` times the best hit count
as relevant; rows are filled from the best relevant documents, one band of rank per row (each band
shuffled, seeded); a topic whose relevant text fills fewer rows than asked gives fewer rows
(``topics_thin`` in the report) rather than rows diluted with weak hits. The arithmetic is in
``topic_plan.py``, the knobs in ``litelong_config.py``, the topics file and debate counters in
``litelong_topics.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar

from ..config import BaseConfig
from ..docstore import DocumentStore
from ..index import BM25Index
from ..layout import (
    atomic_write_json,
    exists,
    read_text,
    read_topics,
    stats_path,
)
from ..llm import ChatLLM, run_sync
from ..report import LLMMeter, RunReport
from ..taxonomy import (
    TaxonomyEntry,
    load_taxonomy,
    select_entries,
    spread_order,
)
from ..tokens import TokenCache, TokenCounter
from .base import Bundle, Citation, RowKind, Strategy
from .common import dedup_hits, hits_needed, order_documents, seed_for
from .context import StrategyContext
from .debate import Sampling, Transcript, debate_topics, load_debate_prompts
from .litelong_config import DEBATE_ROLES, LiteLongConfig
from .litelong_topics import count_debate, retrieved_pieces, topics_by_entry
from .topic_plan import (
    Topic,
    TopicPlan,
    WordCounts,
    feedback_words,
    plan_topic,
    rows_per_turn,
    topic_query,
    word_sets,
)

__all__ = [
    "DEBATE_ROLES",
    "LiteLongConfig",
    "LiteLongStrategy",
    "Topic",
    "TopicPlan",
    "hits_needed",
    "order_documents",
    "plan_topic",
    "rows_per_turn",
    "seed_for",
    "topic_query",
]

MAX_CARD_DEBATES = 50
"""Subcategory debates summarized in report.json and the dataset card (all are in transcripts.jsonl)."""


class LiteLongStrategy(Strategy):
    """See the module docstring."""

    name: ClassVar[str] = "litelong"
    row_kind: ClassVar[RowKind] = "pretraining"
    citation: ClassVar[Citation | None] = Citation(
        "LiteLong",
        "2509.15568",
        "BISAC-taxonomy topics from a multi-agent debate, BM25 retrieval of documents per topic",
    )

    def __init__(
        self,
        config: BaseConfig,
        context: StrategyContext | None = None,
        *,
        llms: Mapping[str, ChatLLM] | None = None,
    ) -> None:
        """``llms``: the debate's LLM per role (``debater_a``, ``debater_b``, ``judge``); default: the
        context's, built from the config's endpoints (or the embedded model) on the first debate."""
        if not isinstance(config, LiteLongConfig):
            raise TypeError("LiteLongStrategy needs a LiteLongConfig")
        if llms is not None:
            context = StrategyContext(cache_dir=config.cache_dir, llms=llms)
        super().__init__(config, context)
        self.config: LiteLongConfig = config
        self._llms: dict[str, ChatLLM] | None = None
        self._meter: LLMMeter | None = None
        self._background: WordCounts | None = None

    @cached_property
    def entries(self) -> list[TaxonomyEntry]:
        """The run's taxonomy entries, in the seeded spread order (the order work is done in)."""
        c = self.config
        selected = select_entries(
            load_taxonomy(c.taxonomy),
            top_categories=c.categories,
            subcategories=c.subcategories,
            sample=c.sample_subcategories,
            seed=c.seed,
            include_non_classifiable=c.include_non_classifiable,
        )
        ordered = spread_order(selected, c.seed)
        return ordered[: c.max_subcategories] if c.max_subcategories else ordered

    def num_work_items(self) -> int:
        return len(self.entries)

    def shard_entries(self, shard: int, num_shards: int) -> list[TaxonomyEntry]:
        """Entries of shard ``shard``: every ``num_shards``-th entry of the spread order, from ``shard``."""
        if not 0 <= shard < num_shards:
            raise ValueError(f"shard {shard} out of range for {num_shards} shards")
        return self.entries[shard::num_shards]

    def card_entries(self, transcripts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Every subcategory's debate for the card (what each debater proposed, kept and rejected), at most
        :data:`MAX_CARD_DEBATES` of them."""
        if not transcripts:
            return {}
        from .debate import summarize_transcript

        return {
            "debates": [summarize_transcript(t) for t in transcripts[:MAX_CARD_DEBATES]],
            "debates_total": len(transcripts),
        }

    def validate(self) -> None:
        """Raise now for an empty taxonomy selection, a bad prompt set or a missing/malformed topics file
        (:class:`~litelong_hf.layout.TopicsFileError`)."""
        _ = self.entries
        load_debate_prompts(self.config.prompts)
        if self.config.topics_file:
            read_topics(self.config.topics_file)

    # -- resources, loaded once per process -------------------------------------------------------------
    def corpus(self) -> tuple[BM25Index, DocumentStore]:
        """The BM25 index of the corpus and its documents by id; a cached index is reused only when it
        holds exactly the corpus's document ids."""
        return self.context.document_index(self.config.corpus_config(), self.config.index_config())

    def mean_doc_tokens(self, docs: DocumentStore) -> float:
        """Mean tokens per document on a seeded sample, computed once per corpus and tokenizer (cached)."""
        spec = self.config.corpus_config()
        key = hashlib.sha256(
            f"{spec.fingerprint()}|{self.config.tokenizer}|{self.config.seed}".encode()
        ).hexdigest()
        path = stats_path(f"mean-doc-tokens-{key[:16]}", self.config.cache_dir)
        if exists(path):
            import json

            return float(json.loads(read_text(path))["mean_doc_tokens"])
        sample = sorted(random.Random(self.config.seed).sample(range(len(docs)), min(2000, len(docs))))
        counts = TokenCounter.get(self.config.tokenizer).count_batch(docs.texts(sample))
        mean = sum(counts) / max(1, len(counts))
        atomic_write_json(path, {"mean_doc_tokens": mean, "sample": len(counts)})
        return mean

    def background_words(self, docs: DocumentStore) -> WordCounts:
        """Word counts of a seeded sample of the corpus: the background that feedback words must stand out
        from (counted once per strategy)."""
        if self._background is None:
            rng = random.Random(seed_for(self.config.seed, "background"))
            self._background = WordCounts.of(
                word_sets(docs.texts(sorted(rng.sample(range(len(docs)), min(500, len(docs))))))
            )
        return self._background

    # -- topics ----------------------------------------------------------------------------------------
    def _sampling(self) -> Sampling:
        c = self.config
        return Sampling(temperature=c.temperature, top_p=c.top_p, max_tokens=c.llm_max_tokens, seed=c.seed)

    def llms(self) -> dict[str, ChatLLM]:
        """The debate's LLMs, built once per strategy (endpoints are probed then)."""
        if self._llms is None:
            self._llms = self.context.chat_llms(self.config.roles_config(), DEBATE_ROLES)
        return self._llms

    def debate_many(self, entries: Sequence[TaxonomyEntry], report: RunReport) -> list[Transcript]:
        """Debate ``entries`` concurrently (bounded per endpoint by the LLM layer) and count what happened."""
        c = self.config
        llms = self.llms()
        prompts = load_debate_prompts(c.prompts)
        sampling = self._sampling()

        async def run_all() -> list[Transcript]:
            import asyncio

            from ..progress import progress_bar

            with progress_bar("Debating topics", total=len(entries), unit="categories") as advance:

                async def one(entry: TaxonomyEntry) -> Transcript:
                    transcript = await debate_topics(
                        entry,
                        llms,
                        prompts,
                        expansion_factor=c.expansion_factor,
                        sampling=sampling,
                        judge_retries=c.judge_retries,
                    )
                    advance(1)
                    return transcript

                try:
                    return list(await asyncio.gather(*(one(e) for e in entries)))
                finally:
                    for llm in {id(x): x for x in llms.values()}.values():
                        await llm.aclose()

        transcripts = run_sync(run_all())
        for t in transcripts:
            count_debate(t, report)
        self._add_llm_counters(report)
        report.extra.setdefault("models", {role: llm.model_id for role, llm in llms.items()})
        report.extra.setdefault("prompt_versions", {"litelong": prompts.tag})
        return transcripts

    def _add_llm_counters(self, report: RunReport) -> None:
        """Add what the LLMs counted since the last call (debates run one at a time in ``drafts``)."""
        if self._meter is None:
            self._meter = LLMMeter(self.llms().values(), since_start=True)
        self._meter.add_to(report)

    def topics_from_file(self, report: RunReport) -> dict[tuple[str, str], list[Topic]]:
        """The topics file's topics by casefolded (top, sub); lines outside the selection are counted."""
        return topics_by_entry(read_topics(str(self.config.topics_file)), self.entries, report)

    def entry_topics(
        self, entry: TaxonomyEntry, report: RunReport, from_file: Mapping[tuple[str, str], list[Topic]] | None
    ) -> list[Topic]:
        """The kept topics of one entry: from the topics file, or from its debate (run now, cached)."""
        if from_file is not None:
            topics = list(from_file.get((entry.top.casefold(), entry.sub.casefold()), []))
            report.count("topics_kept", len(topics))
            return topics
        [transcript] = self.debate_many([entry], report)
        self.record_transcript(transcript.to_dict())
        return [
            Topic(transcript.top, transcript.sub, k["topic"], k.get("explanation", ""), k.get("source", ""))
            for k in transcript.kept
        ]

    # -- retrieval and bundles --------------------------------------------------------------------------
    def plans(
        self, topics: Sequence[Topic], max_rows: int, report: RunReport
    ) -> Iterator[tuple[Topic, TopicPlan]]:
        """Each topic with its plan; the topics are searched in one batch, planned one at a time."""
        c = self.config
        if not topics:
            return
        index, docs = self.corpus()
        k = hits_needed(
            c.rows_per_topic, c.target_tokens, self.mean_doc_tokens(docs), c.hits_factor, c.max_hits
        )
        report.extra.setdefault("hits_per_topic_requested", k)
        titles = [topic_query(t, "title") for t in topics]
        # The title filter: a document must match the topic's own title (all its terms with
        # require_all_terms), whatever else ranks it; a topic whose title matches nothing has no documents.
        wide = k if c.require_all_terms else min(len(index), 2 * k)
        titled = index.search(titles, k=wide, require_all_terms=c.require_all_terms)
        allowed = [{h.doc_id for h in hits} for hits in titled]
        if c.query == "title":
            results = [hits[:k] for hits in titled]
        else:
            # The path and explanation rank the documents within the title filter.
            ranked = index.search([topic_query(t, c.query) for t in topics], k=k)
            results = [[h for h in hits if h.doc_id in ok] for hits, ok in zip(ranked, allowed, strict=True)]
        if c.feedback_docs > 0 and c.feedback_terms > 0:
            background = self.background_words(docs)
            expanded = [
                " ".join(
                    [
                        topic_query(t, c.query),
                        *feedback_words(
                            docs.texts([docs.position(h.doc_id) for h in hits[: c.feedback_docs]]),
                            c.feedback_terms,
                            background,
                        ),
                    ]
                )
                for t, hits in zip(topics, results, strict=True)
            ]
            # The expanded query ranks again, within the same title filter (docs/litelong.md, Retrieval).
            results = [
                index.search([query], k=k, allow=ok)[0] if first else []
                for query, ok, first in zip(expanded, allowed, results, strict=True)
            ]
        counter = TokenCounter.get(c.tokenizer)
        separator_tokens = counter.count(c.separator) if c.separator else 0
        for topic, hits in zip(topics, results, strict=True):
            if not hits:
                report.skip("topic", "zero BM25 hits")
                continue
            # Only documents above the relevance floor can enter a row: count the tokens of those alone.
            floor = c.relevance_floor * hits[0].score
            above = [h for h in hits if h.score >= floor]
            texts = docs.texts_by_id([h.doc_id for h in above])  # one sorted pass over the store
            relevant = dedup_hits(above, texts)
            # Through the process's token cache: the packer reuses these ids for the rows (issue 21).
            encoded = TokenCache.shared(counter).encode_batch([texts[h.doc_id] for h in relevant])
            lengths = dict(zip((h.doc_id for h in relevant), map(len, encoded), strict=True))
            plan = plan_topic(
                relevant,
                lengths,
                target_tokens=c.target_tokens,
                separator_tokens=separator_tokens,
                max_rows=max_rows,
                relevance_floor=c.relevance_floor,
                order=c.order,
                seed=seed_for(c.seed, topic.top, topic.sub, topic.title),
                allow_single_piece_rows=c.allow_single_piece_rows,
            )
            plan = dataclasses.replace(plan, texts=texts)  # the rows' pieces: no second read of the store
            report.count("documents_retrieved", len(hits))
            report.count("documents_relevant", plan.relevant)
            if plan.rows == 0:
                report.skip("topic", "too little relevant text for one row (relevance_floor)")
                continue
            if plan.possible < c.rows_per_topic:
                report.count("topics_thin")
                report.count("rows_not_made_thin_topics", c.rows_per_topic - plan.possible)
            yield topic, plan

    def retrieved(self, shard: int, num_shards: int, report: RunReport) -> Iterator[tuple[Topic, TopicPlan]]:
        """The shard's topics with their plans, in turns over the shard's entries (see the module
        docstring); each entry is debated when its first turn comes, and only then."""
        c = self.config
        entries = self.shard_entries(shard, num_shards)
        if not entries:
            return
        from_file = self.topics_from_file(report) if c.topics_file else None
        max_rows = rows_per_turn(c.rows_per_topic, c.num_rows, c.min_top_categories)
        pending: dict[int, Iterator[tuple[Topic, TopicPlan]]] = {}
        active = list(range(len(entries)))
        while active:
            still = []
            for i in active:
                if i not in pending:
                    topics = self.entry_topics(entries[i], report, from_file)
                    pending[i] = self.plans(topics, max_rows, report)
                item = next(pending[i], None)
                if item is None:
                    continue
                still.append(i)
                yield item
            active = still

    def drafts(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Bundle]:
        _, docs = self.corpus()
        for topic, plan in self.retrieved(shard, num_shards, report):
            yield Bundle(
                key=topic.title,
                pieces=retrieved_pieces(docs, plan.hits, plan.texts),
                kind="topic",
                topic=topic.path(),
                max_rows=plan.rows,
            )


def _register() -> None:
    from . import register

    register("litelong", LiteLongConfig, LiteLongStrategy)


_register()
