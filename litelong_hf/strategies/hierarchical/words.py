"""Words of questions, answers and their material (pure functions), as the gates compare them.

Words are lower-cased, with a light plural strip, so ``Elections`` in an answer matches ``election`` in the
passage; :class:`MaterialWords` holds the material a pair was asked from as a word sequence (for copied
runs) and a vocabulary (for overlap, names and numbers). :mod:`.gates` judges pairs with them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

WH_WORDS = frozenset(["what", "who", "whom", "whose", "when", "where", "why", "how", "which"])
"""The wh-words: one of them among a question's first words makes it a question (``In which year...``)."""
# Words that open a question, and words that carry no content (interrogatives among them).
INTERROGATIVES = WH_WORDS | frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "should",
        "shall",
        "has",
        "have",
        "had",
        "may",
        "might",
        "must",
    ]
)
STOPWORDS = INTERROGATIVES | frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "into",
        "about",
        "over",
        "after",
        "before",
        "between",
        "during",
        "be",
        "been",
        "being",
        "having",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "him",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "not",
        "no",
        "so",
        "than",
        "then",
        "too",
        "very",
        "also",
        "just",
        "only",
        "said",
        "says",
        "say",
        "according",
        "passage",
        "document",
        "text",
        "section",
    ]
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``, with a light plural strip (pure)."""
    out = []
    for word in _WORD.findall(text.casefold()):
        word = word.replace("’", "'").removesuffix("'s")
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def content_words(tokens: Sequence[str]) -> list[str]:
    """The words of ``tokens`` that carry content (not stopwords; numbers count; pure)."""
    return [w for w in tokens if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


@dataclass(frozen=True)
class MaterialWords:
    """What a pair was asked from, as words: the sequence (for copy runs) and the set (for overlap)."""

    sequence: tuple[str, ...]
    _acronyms: tuple[str, ...] = ()

    @classmethod
    def of(cls, *texts: str) -> MaterialWords:
        joined: list[str] = []
        acronyms: list[str] = []
        for text in texts:
            joined.extend(words(text))
            joined.append("\x00")  # a run never spans two materials
            acronyms.extend(m.group(0).casefold() for m in _DOTTED.finditer(text))
        return cls(tuple(joined), tuple(acronyms))

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self.sequence)

    @cached_property
    def names(self) -> frozenset[str]:
        """The vocabulary plus dotted acronyms joined ("U.S." also as ``us``), for :func:`missing_specifics`."""
        joined = {"".join(letter for letter in w if letter.isalnum()) for w in self._acronyms}
        return self.vocabulary | joined

    @cached_property
    def positions(self) -> dict[str, list[int]]:
        """Where each word occurs in the sequence."""
        where: dict[str, list[int]] = {}
        for i, word in enumerate(self.sequence):
            where.setdefault(word, []).append(i)
        return where

    def has_run(self, run: Sequence[str]) -> bool:
        """True when ``run`` occurs as consecutive words of the material."""
        n = len(run)
        if n == 0:
            return True
        target = tuple(run)
        seq = self.sequence
        return any(seq[i : i + n] == target for i in self.positions.get(target[0], ()))


def longest_shared_run(question: Sequence[str], material: MaterialWords) -> int:
    """Length of the longest run of consecutive question words that occurs in the material (pure)."""
    best = 0
    for start in range(len(question)):
        if len(question) - start <= best:
            break
        length = best + 1
        while start + length <= len(question) and material.has_run(question[start : start + length]):
            best = length
            length += 1
    return best


_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}")
"""A dotted acronym ("U.S.", "D.C."): one name, compared without its dots."""
_CAPITALISED = re.compile(r"[^\W\d_][^\W_]*(?:['’][^\W_]+)*")
_SENTENCE_OPEN = re.compile(r"(?:^|[.!?:;]\s+|[\"“(\[]\s*)$")


def specifics(text: str, *, numbers: bool = True) -> list[str]:
    """The names and numbers of ``text``, as :func:`words` forms (pure): every number (unless ``numbers`` is
    false), every acronym (two or more capitals), and every capitalised word that does not open a sentence
    and is not a stopword.

    A small model's hallucinations are mostly names and figures ("the EU's Foreign and Security Affairs
    (FSA) Minister", "in 2019"): a content-word share lets them through when the rest of the sentence comes
    from the passage, so each of them must occur in the material itself. A capitalised word opening a
    sentence is an ordinary word ("Residents", "Officials") and is left to the content-word share.
    """
    found = ["".join(ch for ch in m.group(0).casefold() if ch.isalnum()) for m in _DOTTED.finditer(text)]
    text = _DOTTED.sub(" ", text)
    for match in _CAPITALISED.finditer(text):
        word = match.group(0)
        acronym = sum(ch.isupper() for ch in word) >= 2 and word.upper() == word
        opens = _SENTENCE_OPEN.search(text[: match.start()]) is not None
        if not word[0].isupper() or (opens and not acronym):
            continue
        found.extend(w for w in words(word) if w not in STOPWORDS)
    if numbers:
        found.extend(w for w in words(text) if w.isdigit())
    return list(dict.fromkeys(found))


def missing_specifics(text: str, material: MaterialWords, *, numbers: bool = True) -> list[str]:
    """The names (and numbers) of ``text`` (:func:`specifics`) that do not occur in the material (pure)."""
    return [w for w in specifics(text, numbers=numbers) if w not in material.names]
