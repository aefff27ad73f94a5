"""Helpers shared by strategies: stable seeds, retrieval sizing, document ordering, LLM counters.

Pure functions only (plus :func:`add_llm_stats`, which adds counters to a report), so any strategy can use
them without importing another strategy's module.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from ..index import Hit
from ..report import RunReport


def seed_for(*parts: object) -> int:
    """A stable 64-bit seed from any values (no Python ``hash()``, which is salted per process).

    >>> seed_for(42, "topic") == seed_for(42, "topic")
    True
    """
    return int.from_bytes(hashlib.sha256(json.dumps(parts, default=str).encode()).digest()[:8], "big")


def hits_needed(
    rows_per_topic: int, target_tokens: int, mean_doc_tokens: float, factor: float, cap: int
) -> int:
    """How many documents to retrieve per topic (pure): enough to fill the rows, with a margin.

    >>> hits_needed(4, 131_072, 680.0, 1.5, 4000)
    1157
    """
    return max(1, min(cap, math.ceil(rows_per_topic * target_tokens / max(1.0, mean_doc_tokens) * factor)))


def dedup_hits(hits: Sequence[Hit], texts: Mapping[str, str]) -> list[Hit]:
    """Drop hits whose text repeats an earlier hit's text (first wins, order-stable; pure)."""
    seen: set[bytes] = set()
    unique: list[Hit] = []
    for hit in hits:
        digest = hashlib.sha1(texts[hit.doc_id].encode()).digest()
        if digest not in seen:
            seen.add(digest)
            unique.append(hit)
    return unique


def order_documents(hits: Sequence[Hit], texts: Mapping[str, str], order: str, seed: int) -> list[Hit]:
    """Drop exact-duplicate texts (first wins, order-stable), then order by score or a seeded shuffle (pure)."""
    unique = dedup_hits(hits, texts)
    if order == "shuffle":
        random.Random(seed).shuffle(unique)
    return unique


def add_llm_stats(report: RunReport, llms: Mapping[str, Any]) -> None:
    """Add the counters of each distinct LLM (requests sent, cache hits, retries, failures, unparseable
    answers, tokens in/out) to ``report.llm``; ``requests`` counts requests actually sent."""
    for llm in {id(x): x for x in llms.values()}.values():
        for key, value in llm.stats().items():
            if isinstance(value, int | float):
                name = "requests" if key == "requests_sent" else key
                report.llm[name] = report.llm.get(name, 0) + value
