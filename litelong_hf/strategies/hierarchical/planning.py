"""Pure, seeded choices of hierarchical QA: which chunks diverse and revisit questions are asked from, how two
passages share one request's room, which earlier documents a row revisits, and the run's cost summary."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .config import TWO_CHUNK_TYPES

_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?=\s)")


def diverse_choices(
    n_questions: int, kinds: Sequence[str], n_small: int, seed: int
) -> list[tuple[str, tuple[int, ...]]]:
    """``(kind, small-chunk indices)`` of each diverse question of a document (pure, seeded).

    Kinds cycle through a seeded permutation of the pool, so a fixed count covers the pool evenly. A
    two-chunk kind picks two different small chunks (in document order); with a single small chunk it
    becomes ``local_detail``.
    """
    rng = random.Random(seed)
    order = list(kinds)
    rng.shuffle(order)
    choices: list[tuple[str, tuple[int, ...]]] = []
    for i in range(n_questions):
        kind = order[i % len(order)]
        if kind in TWO_CHUNK_TYPES and n_small < 2:
            kind = "local_detail"
        if kind in TWO_CHUNK_TYPES:
            first, second = sorted(rng.sample(range(n_small), 2))
            choices.append((kind, (first, second)))
        else:
            choices.append((kind, (rng.randrange(n_small),)))
    return choices


def hierarchical_walk(
    n_questions: int, medium_members: Sequence[Sequence[int]], seed: int
) -> list[tuple[str, int, int]]:
    """``(level, index, variant)`` of each hierarchical question of a document under ``question_plan:
    sampled`` (pure, seeded).

    The first question is about the document summary (``global``); then the walk goes down the tree in
    reading order: a sampled medium chunk's summary (``medium``), then one sampled small chunk inside it
    (``small``), then the next sampled medium chunk, until ``n_questions``. Medium chunks are sampled without
    replacement (a document with too few starts another round); ``variant`` counts earlier questions on the
    same node, so a repeated node is asked with another seed.
    """
    if n_questions <= 0:
        return []
    rng = random.Random(seed)
    walk = [("global", 0, 0)]
    n_medium = len(medium_members)
    if n_medium == 0:
        return walk
    visits = n_questions // 2  # medium questions: each is followed by a small one while the count allows
    picks: list[int] = []
    while len(picks) < visits:
        picks.extend(rng.sample(range(n_medium), min(n_medium, visits - len(picks))))
    picks.sort()  # reading order, coarse to fine
    used: dict[tuple[str, int], int] = {}
    for medium in picks:
        for level, index in (("medium", medium), ("small", rng.choice(list(medium_members[medium])))):
            if len(walk) >= n_questions:
                break
            variant = used.get((level, index), 0)
            used[(level, index)] = variant + 1
            walk.append((level, index, variant))
    return walk


def questions_per_document(plan: str, counts: Mapping[str, int], n_medium: int, n_small: int) -> int:
    """Question turns a document asks for before revisits (pure): under ``sampled`` the hierarchical and
    diverse counts; under ``exhaustive`` the per-level counts times the nodes of each level."""
    if plan == "sampled":
        return counts["hierarchical_questions"] + counts["diverse_questions"]
    return (
        counts["global_questions"]
        + counts["medium_questions"] * n_medium
        + counts["small_questions"] * n_small
        + counts["diverse_questions"]
    )


def revisit_chunk(set_index: int, n_small: int, seed: int) -> tuple[int, int]:
    """``(small-chunk index, variant)`` of revisit set ``set_index`` of a document (pure, seeded): sets walk a
    seeded permutation of the small chunks; after a full round the variant (the sampling seed offset) grows."""
    order = list(range(n_small))
    random.Random(seed).shuffle(order)
    return order[set_index % n_small], set_index // n_small


def revisit_draws(rng: random.Random, n_earlier: int, probability: float) -> list[int]:
    """The earlier documents (indices) revisited after the next one: one seeded draw each, in order."""
    return [j for j in range(n_earlier) if rng.random() < probability]


def share_room(sizes: Sequence[int], room: int) -> list[int]:
    """Tokens each passage may keep so that together they fit ``room``: a passage smaller than its fair
    share keeps all of it and leaves the rest to the others (pure; water-filling)."""
    shares = [0] * len(sizes)
    left = sorted(range(len(sizes)), key=lambda i: sizes[i])
    remaining = max(0, room)
    while left:
        fair = remaining // len(left)
        i = left.pop(0)
        shares[i] = min(sizes[i], fair)
        remaining -= shares[i]
    return shares


def sentence_prefix(text: str) -> str:
    """``text`` up to its last sentence end, when that keeps at least half of it (pure): an excerpt that
    ends mid-sentence invites questions about the missing half."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text + " ")]
    if ends and ends[-1] >= len(text) // 2:
        return text[: ends[-1]]
    return text


def small_id(index: int) -> str:
    return f"s{index:03d}"


def medium_id(index: int) -> str:
    return f"m{index:02d}"


def cost_summary(stats: Mapping[str, Any], llm: Mapping[str, Any]) -> dict[str, float]:
    """LLM cost of a run: calls (sent or answered from the cache) and their tokens, per row and per 1M
    context tokens, plus what this run sent, cache hits and unparseable answers (pure; works on merged
    shard reports)."""
    rows = int(stats.get("rows", 0))
    context = int(stats.get("row_tokens", 0))
    sent = int(llm.get("requests", 0))
    hits = int(llm.get("cache_hits", 0))
    calls = sent + hits
    call_tokens = int(llm.get("call_tokens_in", 0)) + int(llm.get("call_tokens_out", 0))
    per_million = 1_000_000 / context if context else 0.0
    return {
        "rows": rows,
        "context_tokens": context,
        "llm_calls": calls,
        "llm_requests_sent": sent,
        "llm_cache_hits": hits,
        "llm_unparseable": int(llm.get("unparseable", 0)),
        "llm_calls_per_row": calls / rows if rows else 0.0,
        "llm_tokens_per_row": call_tokens / rows if rows else 0.0,
        "llm_calls_per_1m_context_tokens": calls * per_million,
        "llm_tokens_per_1m_context_tokens": call_tokens * per_million,
        "llm_tokens_sent": int(llm.get("tokens_in", 0)) + int(llm.get("tokens_out", 0)),
    }
