"""LiteLong's retrieval arithmetic, pure functions: a topic's query, its feedback words, how many rows it
fills and with which documents (see ``docs/litelong.md``, Retrieval and Assembly)."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..index import Hit


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


QUERY_SYNTAX_CHARACTERS = "!\"$'()/<@\\^|~"
"""Characters the authors' retrieval script replaces by spaces in a title before it becomes a query (they are
Manticore query syntax); hyphens and colons are kept, as there."""
_QUERY_SYNTAX = re.compile("[" + re.escape(QUERY_SYNTAX_CHARACTERS) + "]")


def strip_query_syntax(title: str) -> str:
    """``title`` with :data:`QUERY_SYNTAX_CHARACTERS` replaced by spaces, spaces collapsed (pure).

    >>> strip_query_syntax("Children's Books (Ages 3-5) / Picture Books")
    'Children s Books Ages 3-5 Picture Books'
    """
    return " ".join(_QUERY_SYNTAX.sub(" ", title).split())


def topic_query(topic: Topic, mode: str = "rich") -> str:
    """The BM25 query of a topic (pure): its title with query syntax stripped (``title``, the paper's
    query), or title + explanation + taxonomy path (``rich``).

    >>> topic_query(Topic("SCIENCE", "Space Science / Astronomy", "Exoplanet discovery", "Finding planets."))
    'Exoplanet discovery. Finding planets. Space Science / Astronomy. SCIENCE'
    >>> topic_query(Topic("SCIENCE", "Physics", "Optics (Lasers)"), "title")
    'Optics Lasers'
    """
    if mode == "title":
        return strip_query_syntax(topic.title)
    parts = [topic.title, topic.explanation.rstrip(". "), topic.sub, topic.top]
    return ". ".join(p.strip() for p in parts if p.strip())


def rows_per_turn(rows_per_topic: int, num_rows: int | None, min_top_categories: int) -> int:
    """Rows one topic may give (pure): all ``rows_per_topic`` for an open-ended run; fewer when a small
    ``num_rows`` must still spread over ``min_top_categories`` subcategories.

    >>> rows_per_turn(4, 8, 4), rows_per_turn(4, 1, 4), rows_per_turn(4, None, 4), rows_per_turn(4, 100, 4)
    (2, 1, 4, 4)
    """
    if num_rows is None:
        return rows_per_topic
    return max(1, min(rows_per_topic, math.ceil(num_rows / min_top_categories)))


@dataclass(frozen=True)
class TopicPlan:
    """What one topic gives: its documents in row order and how many rows they fill."""

    hits: list[Hit]
    """Relevant documents: the best ones (enough for ``rows``) in row order, then the rest as reserve."""
    rows: int
    """Rows to make (0: the topic's relevant text cannot fill one row)."""
    relevant: int
    """Documents at or above the relevance floor (after removing duplicate texts)."""
    possible: int
    """Rows the relevant text could fill, before the per-topic cap."""
    texts: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Texts of ``hits`` by id when the caller already read them (LiteLong: the rows need no second read)."""


def plan_topic(
    hits: Sequence[Hit],
    lengths: Mapping[str, int],
    *,
    target_tokens: int,
    separator_tokens: int,
    max_rows: int,
    relevance_floor: float,
    order: str,
    seed: int,
    allow_single_piece_rows: bool = False,
) -> TopicPlan:
    """Choose a topic's documents and row count from its hits (best first, duplicates already removed).

    Documents scoring below ``relevance_floor`` x the best score are dropped; documents longer than a row
    are left out, unless ``allow_single_piece_rows``: then each is kept and counts as one row (the packer
    emits it alone, truncated, as the authors' scripts do). The relevant text's tokens decide how many
    rows it fills without weak hits (each row loses about one document to the cut).

    ``order``: ``shuffle``: the best documents that fill those rows come first, one band of rank per row,
    each band shuffled with ``seed``, and the other relevant documents follow, best first, in case a row
    needs more; ``score``: best first; ``shuffle_all``: every relevant document in one seeded shuffle (the
    scripts' order: the score ranking only chose which hits were retrieved). Pure.
    """
    if not hits:
        return TopicPlan([], 0, 0, 0)
    floor = relevance_floor * hits[0].score

    def fits(h: Hit) -> bool:
        size = lengths[h.doc_id] + separator_tokens
        return lengths[h.doc_id] > 0 and (size <= target_tokens or allow_single_piece_rows)

    relevant = [h for h in hits if h.score >= floor and fits(h)]
    if not relevant:
        return TopicPlan([], 0, 0, 0)
    sizes = [lengths[h.doc_id] + separator_tokens for h in relevant]
    short = [size for size in sizes if size <= target_tokens]
    singles = len(sizes) - len(short)  # each fills one row on its own
    total = sum(short)
    mean = total / len(short) if short else 0.0
    possible = singles + (int((total + mean) // (target_tokens + mean)) if total >= target_tokens else 0)
    rows = min(max_rows, possible)
    need = rows * (target_tokens + mean)
    cum, cut = 0.0, len(relevant)
    for i, size in enumerate(sizes):
        cum += size if size <= target_tokens else target_tokens + mean
        if cum >= need:
            cut = i + 1
            break
    if order == "shuffle_all":
        everything = list(relevant)
        random.Random(seed).shuffle(everything)
        return TopicPlan(everything, rows, len(relevant), possible)
    best, reserve = list(relevant[:cut]), list(relevant[cut:])
    if order == "shuffle":
        # One band of rank per row: the first row gets the best documents, the next row the next best,
        # each band shuffled on its own, so a topic's later rows never dilute its first.
        rng = random.Random(seed)
        bands: list[list[Hit]] = [[]]
        filled = 0.0
        for hit in best:
            if filled >= target_tokens + mean and len(bands) < rows:
                bands.append([])
                filled = 0.0
            bands[-1].append(hit)
            filled += min(lengths[hit.doc_id] + separator_tokens, target_tokens + mean)
        for band in bands:
            rng.shuffle(band)
        best = [hit for band in bands for hit in band]
    return TopicPlan(best + reserve, rows, len(relevant), possible)


_WORD = re.compile(r"[a-z][a-z'-]{2,}")


def word_sets(texts: Sequence[str]) -> list[set[str]]:
    """The distinct lower-cased words (3+ letters) of each text (pure)."""
    return [set(_WORD.findall(text.casefold())) for text in texts]


@dataclass(frozen=True)
class WordCounts:
    """In how many of ``documents`` texts each word occurs: a background sample counted once, so that
    every topic's :func:`feedback_words` does not count it again."""

    counts: Mapping[str, int]
    documents: int

    @classmethod
    def of(cls, sets: Sequence[set[str]]) -> WordCounts:
        """The counts of :func:`word_sets` output (pure)."""
        return cls(Counter(w for words in sets for w in words), len(sets))


def feedback_words(
    texts: Sequence[str], n: int, background: Sequence[set[str]] | WordCounts = ()
) -> list[str]:
    """The ``n`` words that mark ``texts`` (pseudo-relevance feedback; pure): ranked by the share of the
    texts that hold a word minus its share in ``background`` (a sample of the corpus, as word sets or
    already counted), so words common everywhere ("year", "people") give way to the texts' own
    vocabulary; ties alphabetically.

    >>> feedback_words(["the match ended, the striker scored", "a late striker goal won the match"], 2)
    ['match', 'striker']
    """
    if not texts:
        return []
    inside: Counter[str] = Counter(w for words in word_sets(texts) for w in words)
    counted = background if isinstance(background, WordCounts) else WordCounts.of(background)
    outside, n_bg = counted.counts, max(1, counted.documents)

    def weight(word: str) -> float:
        return inside[word] / len(texts) - outside.get(word, 0) / n_bg

    ranked = sorted((w for w in inside if w not in _QUERY_STOPWORDS), key=lambda w: (-weight(w), w))
    return ranked[:n]


_QUERY_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "that",
        "with",
        "was",
        "were",
        "are",
        "has",
        "have",
        "had",
        "his",
        "her",
        "its",
        "their",
        "they",
        "this",
        "from",
        "said",
        "but",
        "not",
        "you",
        "she",
        "which",
        "who",
        "will",
        "would",
        "been",
        "also",
        "more",
        "than",
        "after",
        "when",
        "there",
        "them",
        "what",
        "about",
        "into",
    ]
)
