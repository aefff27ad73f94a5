"""LiteLong (METHODS.md §1): BISAC topics chosen by a multi-LLM debate, BM25 retrieval, exact-length rows.

Units of work are taxonomy entries (top, sub); a shard debates its entries, retrieves documents for every
kept topic in one batched BM25 search, and yields one bundle per topic: the topic's documents,
content-deduplicated and in a seeded order, which the pipeline packs into up to ``rows_per_topic`` rows.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from ..config import BaseConfig, ConfigError
from ..corpus import Document, load_documents
from ..index import BM25Index, Hit, get_or_build_index
from ..llm import build_llms, run_sync
from ..packing import Piece
from ..report import RunReport
from ..resources import cache_root
from ..taxonomy import TaxonomyEntry, load_taxonomy, select_entries
from ..tokens import TokenCounter
from .base import Bundle, shard_slice
from .debate import Sampling, Transcript, debate_topics, load_prompts

DEBATE_ROLES = ("debater_a", "debater_b", "judge")


@dataclass
class LiteLongConfig(BaseConfig):
    """LiteLong: topics from a taxonomy debate, BM25 retrieval, concatenation to ``target_tokens``."""

    strategy: str = "litelong"
    """Strategy name (fixed)."""
    taxonomy: str = "bisac"
    """``bisac`` (packaged BISAC headings), ``HuggingFaceTB/bisac_expanded_final`` (online), or a CSV/JSON file
    with top/sub columns."""
    categories: list[str] | None = None
    """Top categories to use, by name or 3-letter code (``["SCI", "HISTORY"]``); ``None``: all."""
    subcategories: list[str] | None = None
    """Subcategory headings to use (``["Astronomy"]``); ``None``: all of the chosen categories."""
    max_subcategories: int | None = None
    """Use only the first N selected (top, sub) pairs."""
    sample_subcategories: int | None = None
    """Use a seeded random sample of N selected pairs."""
    include_non_classifiable: bool = False
    """Also debate NON-CLASSIFIABLE (excluded by default, as in the paper)."""
    expansion_factor: int = 5
    """Each debater proposes ``2 x expansion_factor`` subtopics per pair (a taxonomy row may override it)."""
    prompts: str = "litelong_v1"
    """Debate prompt set: a packaged version or a YAML file; its content is part of the config hash."""
    llm_max_tokens: int = 1024
    """Most tokens per debate answer."""
    topics_file: str | None = None
    """JSONL of already chosen topics (``litelong-hf topics`` output): skips the debate."""
    rows_per_topic: int = 4
    """Rows to build from each topic's documents."""
    max_hits: int = 4000
    """Most documents retrieved per topic."""
    hits_factor: float = 1.5
    """Retrieve ``rows_per_topic x target_tokens / mean document tokens x hits_factor`` documents."""
    require_all_terms: bool = False
    """Keep only hits containing every query term (implicit AND, like the reference's Manticore)."""
    order: str = "shuffle"
    """Order of a topic's documents: ``shuffle`` (seeded) or ``score`` (best first)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.order not in ("shuffle", "score"):
            raise ConfigError(f"order must be 'shuffle' or 'score', got {self.order!r}.")
        for name in ("rows_per_topic", "max_hits", "expansion_factor", "llm_max_tokens"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}.")
        if isinstance(self.categories, str):
            self.categories = [c.strip() for c in self.categories.split(",") if c.strip()]
        if isinstance(self.subcategories, str):
            self.subcategories = [s.strip() for s in self.subcategories.split(",") if s.strip()]

    def hash_payload(self) -> dict[str, Any]:
        data = super().hash_payload()
        data["_prompts"] = f"{load_prompts(self.prompts).version}@{load_prompts(self.prompts).sha}"
        if self.topics_file:
            data["_topics_file"] = hashlib.sha256(Path(self.topics_file).read_bytes()).hexdigest()[:12]
        return data


@dataclass(frozen=True)
class Topic:
    """A kept topic with its category path."""

    top: str
    sub: str
    title: str
    explanation: str = ""
    source: str = ""

    def path(self) -> dict[str, str]:
        return {"top": self.top, "sub": self.sub, "title": self.title}


def add_llm_stats(report: RunReport, llms: dict[str, Any]) -> None:
    """Add the counters of each distinct LLM (requests sent, cache hits, retries, failures, unparseable
    answers, tokens in/out) to ``report.llm``; ``requests`` counts requests actually sent."""
    for llm in {id(x): x for x in llms.values()}.values():
        for key, value in llm.stats().items():
            if isinstance(value, int | float):
                name = "requests" if key == "requests_sent" else key
                report.llm[name] = report.llm.get(name, 0) + value


def seed_for(*parts: object) -> int:
    """A stable 64-bit seed from any values (no Python ``hash()``, which is salted per process)."""
    return int.from_bytes(hashlib.sha256(json.dumps(parts, default=str).encode()).digest()[:8], "big")


def hits_needed(
    rows_per_topic: int, target_tokens: int, mean_doc_tokens: float, factor: float, cap: int
) -> int:
    """How many documents to retrieve per topic (pure): enough to fill the rows, with a margin."""
    return max(1, min(cap, math.ceil(rows_per_topic * target_tokens / max(1.0, mean_doc_tokens) * factor)))


def order_documents(hits: Sequence[Hit], texts: dict[str, str], order: str, seed: int) -> list[Hit]:
    """Drop exact-duplicate texts (first wins, order-stable), then order by score or a seeded shuffle (pure)."""
    seen: set[bytes] = set()
    unique: list[Hit] = []
    for hit in hits:
        digest = hashlib.sha1(texts[hit.doc_id].encode()).digest()
        if digest not in seen:
            seen.add(digest)
            unique.append(hit)
    if order == "shuffle":
        random.Random(seed).shuffle(unique)
    return unique


_CORPUS_CACHE: dict[str, tuple[BM25Index, dict[str, Document]]] = {}


class LiteLongStrategy:
    """See the module docstring."""

    name: ClassVar[str] = "litelong"

    def __init__(self, config: BaseConfig) -> None:
        if not isinstance(config, LiteLongConfig):
            raise TypeError("LiteLongStrategy needs a LiteLongConfig")
        self.config: LiteLongConfig = config

    @cached_property
    def entries(self) -> list[TaxonomyEntry]:
        c = self.config
        return select_entries(
            load_taxonomy(c.taxonomy),
            top_categories=c.categories,
            subcategories=c.subcategories,
            max_entries=c.max_subcategories,
            sample=c.sample_subcategories,
            seed=c.seed,
            include_non_classifiable=c.include_non_classifiable,
        )

    def num_work_items(self) -> int:
        return len(self.entries)

    def validate(self) -> None:
        """Raise now for an empty taxonomy selection or a missing topics file."""
        _ = self.entries
        if self.config.topics_file and not Path(self.config.topics_file).is_file():
            raise ConfigError(
                f"topics_file {self.config.topics_file} does not exist; write it with `litelong-hf topics`."
            )

    # -- resources, loaded once per process -------------------------------------------------------------
    def corpus(self) -> tuple[BM25Index, dict[str, Document]]:
        spec = self.config.corpus_config()
        key = f"{spec.fingerprint()}-{self.config.index_config().fingerprint()}-{self.config.cache_dir}"
        if key not in _CORPUS_CACHE:
            docs = {d.id: d for d in load_documents(spec)}
            index = get_or_build_index(
                f"docs-{spec.fingerprint()}",
                lambda: (list(docs), [d.text for d in docs.values()]),
                self.config.index_config(),
                cache_dir=self.config.cache_dir,
            )
            _CORPUS_CACHE[key] = (index, docs)
        return _CORPUS_CACHE[key]

    def mean_doc_tokens(self, docs: dict[str, Document]) -> float:
        """Mean tokens per document on a seeded sample, computed once per corpus and tokenizer (cached)."""
        spec = self.config.corpus_config()
        key = hashlib.sha256(
            f"{spec.fingerprint()}|{self.config.tokenizer}|{self.config.seed}".encode()
        ).hexdigest()
        root = Path(self.config.cache_dir) if self.config.cache_dir else cache_root()
        path = root / "corpus-stats" / f"{key[:16]}.json"
        if path.is_file():
            return float(json.loads(path.read_text())["mean_doc_tokens"])
        ids = sorted(docs)
        sample = random.Random(self.config.seed).sample(ids, min(2000, len(ids)))
        counts = TokenCounter.get(self.config.tokenizer).count_batch([docs[i].text for i in sample])
        mean = sum(counts) / max(1, len(counts))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # concurrent workers: write, then rename
        tmp.write_text(json.dumps({"mean_doc_tokens": mean, "sample": len(counts)}))
        os.replace(tmp, path)
        return mean

    # -- topics ----------------------------------------------------------------------------------------
    def debate(self, entries: Sequence[TaxonomyEntry], report: RunReport) -> list[Transcript]:
        """Debate every entry (concurrently, bounded per endpoint) and count what happened."""
        c = self.config
        cache = Path(c.cache_dir) / "llm" if c.cache_dir else None
        llms = build_llms(c.roles_config(), cache=cache, needed=DEBATE_ROLES)
        prompts = load_prompts(c.prompts)
        sampling = Sampling(
            temperature=c.temperature, top_p=c.top_p, max_tokens=c.llm_max_tokens, seed=c.seed
        )

        async def run_all() -> list[Transcript]:
            import asyncio

            from ..progress import progress_bar

            with progress_bar("Debating topics", total=len(entries), unit="categories") as advance:

                async def one(entry: TaxonomyEntry) -> Transcript:
                    transcript = await debate_topics(
                        entry, llms, prompts, expansion_factor=c.expansion_factor, sampling=sampling
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
            report.count("categories_processed")
            report.count("topics_generated", sum(len(v) for v in t.generated.values()))
            report.count("topics_candidates", len(t.kept) + len(t.rejected))
            report.count("topics_rejected", len(t.rejected))
            report.count("topics_kept", len(t.kept))
            report.count("llm_unparseable_answers", len(t.unparseable))
            if not t.kept:
                reason = "debate kept no topics" + (" (unparseable LLM answers)" if t.unparseable else "")
                report.skip("category", reason)
        add_llm_stats(report, llms)
        report.extra.setdefault("models", {role: llm.model_id for role, llm in llms.items()})
        report.extra.setdefault("prompt_versions", {"litelong": f"{prompts.version}@{prompts.sha}"})
        return transcripts

    def topics_from_file(self, entries: Sequence[TaxonomyEntry], report: RunReport) -> list[Topic]:
        path = Path(str(self.config.topics_file))
        if not path.is_file():
            raise ConfigError(f"topics_file {path} does not exist; write it with `litelong-hf topics`.")
        wanted = {(e.top.casefold(), e.sub.casefold()) for e in entries}
        topics = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                topic = Topic(
                    item["top"], item["sub"], item.get("title") or item["topic"], item.get("explanation", "")
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ConfigError(
                    f"{path}:{number}: expected a JSON object with top, sub and title ({exc})."
                ) from exc
            if (topic.top.casefold(), topic.sub.casefold()) in wanted:
                topics.append(topic)
        report.count("topics_kept", len(topics))
        return topics

    def topics_for(self, entries: Sequence[TaxonomyEntry], report: RunReport) -> list[Topic]:
        if self.config.topics_file:
            return self.topics_from_file(entries, report)
        transcripts = self.debate(entries, report)
        report.extra.setdefault("transcripts", []).extend(t.to_dict() for t in transcripts)
        return [
            Topic(t.top, t.sub, k["topic"], k.get("explanation", ""), k.get("source", ""))
            for t in transcripts
            for k in t.kept
        ]

    # -- retrieval and bundles --------------------------------------------------------------------------
    def retrieved(self, shard: int, num_shards: int, report: RunReport) -> Iterator[tuple[Topic, list[Hit]]]:
        """Each kept topic of the shard with its documents: retrieved in one batched BM25 search,
        content-deduplicated and in the topic's seeded order. Topics without hits are counted, not yielded."""
        c = self.config
        entries = [self.entries[i] for i in shard_slice(len(self.entries), shard, num_shards)]
        topics = self.topics_for(entries, report) if entries else []
        if not topics:
            return
        index, docs = self.corpus()
        k = hits_needed(
            c.rows_per_topic, c.target_tokens, self.mean_doc_tokens(docs), c.hits_factor, c.max_hits
        )
        report.extra.setdefault("hits_per_topic_requested", k)
        results = index.search([t.title for t in topics], k=k, require_all_terms=c.require_all_terms)
        texts = {doc_id: d.text for doc_id, d in docs.items()}
        for topic, hits in zip(topics, results, strict=True):
            if not hits:
                report.skip("topic", "zero BM25 hits")
                continue
            report.count("documents_retrieved", len(hits))
            yield (
                topic,
                order_documents(hits, texts, c.order, seed_for(c.seed, topic.top, topic.sub, topic.title)),
            )

    def bundles(self, shard: int, num_shards: int, report: RunReport) -> Iterator[Bundle]:
        _, docs = self.corpus()
        for topic, ordered in self.retrieved(shard, num_shards, report):
            yield Bundle(
                key=topic.title,
                pieces=(Piece(docs[h.doc_id].text, h.doc_id, "retrieved", h.score) for h in ordered),
                kind="topic",
                topic=topic.path(),
                max_rows=self.config.rows_per_topic,
            )


def _register() -> None:
    from . import register

    register("litelong", LiteLongConfig, LiteLongStrategy)


_register()
