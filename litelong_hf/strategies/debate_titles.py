"""Matching a title the judge or a critic writes to one of the debate's candidates (pure functions).

A rejection may quote a candidate's title, paraphrase it, or give its number: :func:`match_title` tries
those in that order and says which one matched, so the transcript records how every rejection was read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MIN_TITLE_OVERLAP = 0.5
"""Least word overlap (Jaccard of content words) for a paraphrased rejection to match a candidate."""

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "its",
        "of",
        "on",
        "or",
        "the",
        "their",
        "to",
        "with",
        "within",
        "about",
    ]
)
_NUMBERED = re.compile(r"^(?:#|no\.?\s*|topic\s*|candidate\s*)?(\d{1,3})(?:[.):]\s*|\s*$)", re.IGNORECASE)


def clean_title(title: str) -> str:
    """A topic title without surrounding quotes, list markers or trailing punctuation (pure)."""
    return " ".join(title.strip().strip("\"'*").strip().rstrip(" ,.;:").split())


def normalize_title(title: str) -> str:
    """The case-insensitive comparison form of a title (pure)."""
    return clean_title(title).casefold()


def title_words(title: str) -> frozenset[str]:
    """Content words of a title, lower-cased, stopwords and plural ``s`` removed (pure)."""
    words = re.findall(r"[a-z0-9]+", title.casefold())
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOPWORDS)


def match_title(title: str, candidates: Sequence[str]) -> tuple[int | None, str, float]:
    """Which of ``candidates`` a judge or critic means by ``title`` (pure).

    Returns ``(index, method, score)``: ``exact`` (same normalised title), ``number`` (``"3"`` or
    ``"3. ..."`` naming the third candidate when the rest of the text does not contradict it), ``overlap``
    (the candidate with the largest word overlap, at least :data:`MIN_TITLE_OVERLAP`; the first wins a
    tie) or ``none`` (index ``None``).

    >>> match_title("voting rights.", ["Civil Disobedience", "Voting Rights"])
    (1, 'exact', 1.0)
    >>> match_title("The rights of voters", ["Civil Disobedience", "Voting Rights and Voters"])
    (1, 'overlap', 0.667)
    """
    wanted = normalize_title(title)
    if not wanted:
        return None, "none", 0.0
    for i, candidate in enumerate(candidates):
        if normalize_title(candidate) == wanted:
            return i, "exact", 1.0
    numbered = _NUMBERED.match(wanted)
    if numbered and 1 <= int(numbered.group(1)) <= len(candidates):
        index = int(numbered.group(1)) - 1
        rest = wanted[numbered.end() :].strip()
        if not rest or normalize_title(candidates[index]) == rest or _overlap(rest, candidates[index]) > 0:
            return index, "number", 1.0
        return match_title(rest, candidates)  # the number contradicts the title: trust the title
    words = title_words(wanted)
    best, best_score = None, 0.0
    for i, candidate in enumerate(candidates):
        score = _overlap_words(words, title_words(candidate))
        if score > best_score:
            best, best_score = i, score
    if best is not None and best_score >= MIN_TITLE_OVERLAP:
        return best, "overlap", round(best_score, 3)
    return None, "none", round(best_score, 3)


def _overlap_words(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _overlap(a: str, b: str) -> float:
    return _overlap_words(title_words(a), title_words(b))
