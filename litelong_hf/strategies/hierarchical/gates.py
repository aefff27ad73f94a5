"""Quality gates for question/answer pairs (pure functions): a pair enters a row only if

- **question**: it is a real question (an interrogative word near its start, at least three words), it does
  not point at its prompt ("the passage above", "this section": meaningless inside a row) and it is not a
  copy of its material (a source or summary sentence with ``?`` appended: most of its words, in order, as
  one run of the material);
- **answer**: it is not degenerate (empty of content, a copy of the question, a repeated phrase, or cut off
  at the schema's length limit);
- **grounding**: it is grounded in the material it was asked from (the chunk text, both excerpts, or the
  summary; never the whole row): every name (a capitalised word that does not open a sentence, or an
  acronym) and every number of the answer, and every name of the question, occurs there, and a share of the
  answer's content words does. An optional support scorer (an embedding or entailment model, where one is
  available) can add a score floor; an optional LLM check (``llm_grounding_check``) runs in the writer.

Each gate returns ``None`` (pass) or a short reason. Words are compared lower-cased, with a light plural
strip, so ``Elections`` in an answer matches ``election`` in the passage.

Example::

    material = MaterialWords.of("The council approved the budget on Monday after a long debate.")
    check_pair("When did the council approve the budget?", "On Monday.", material, answer_max_chars=300)
    # GateResult(question=None, answer=None, grounding=None)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

GATES: tuple[str, ...] = ("question", "answer", "grounding")
_WH = frozenset(["what", "who", "whom", "whose", "when", "where", "why", "how", "which"])
# Words that open a question, and words that carry no content (interrogatives among them).
INTERROGATIVES = _WH | frozenset(
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
VACUOUS = frozenset({"answer", "question", "thing", "something"})
"""Words that do not make a question about anything ("What is the answer?")."""
_PROMPT_REFERENCE = re.compile(
    r"\b(passages?|summary|summaries|excerpts?|above|below)\b|\b(this|the) (section|text|part)\b|\bthis document\b",
    re.IGNORECASE,
)
"""A question that points at its prompt ("the passage above", "this section") means nothing inside a row."""
_ABOUT_ITSELF = re.compile(r"\b(the|an?|this|that) (answer|question)s? (to|about|of|in|for)\b", re.IGNORECASE)
"""A question about a question or an answer ("What is the answer to the question about the quote about...")."""
_CUT_END = re.compile(r"[,;:\-–—]\s*\.$|\b(the|a|an|of|and|to|in|with)\.$", re.IGNORECASE)
"""An answer ending in ``,.`` or ``the.``: cut off by the schema's length limit, the ``.`` forced after it."""
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
QUESTION_OPEN_WORDS = 4
"""An interrogative word must be among a question's first words (``In which year...``, ``According to...``)."""
REPEAT_MIN_WORDS = 8
"""Answers shorter than this are never judged repetitive."""
MIN_DISTINCT_TRIGRAMS = 0.6
"""An answer whose distinct word trigrams are fewer than this share of its trigrams repeats itself."""


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


def question_gate(question: str, material: MaterialWords, max_copy: float = 0.8) -> str | None:
    """``None`` for a real question, else why not (pure)."""
    tokens = words(question)
    if len(tokens) < 3 or not question.rstrip().endswith("?"):
        return "not a question"
    opening = tokens[:QUESTION_OPEN_WORDS]
    if tokens[0] not in INTERROGATIVES and not any(w in _WH for w in opening):
        return "not a question"
    if _PROMPT_REFERENCE.search(question):
        return "refers to its prompt"
    if not [w for w in content_words(tokens) if w not in VACUOUS and w not in INTERROGATIVES]:
        return "about nothing"
    if _ABOUT_ITSELF.search(question):
        return "about nothing"
    body = tokens[1:] if tokens[0] in INTERROGATIVES else tokens
    if body and longest_shared_run(body, material) >= max(3, max_copy * len(body)):
        return "copy of its material"
    return None


def answer_gate(answer: str, question: str, answer_max_chars: int) -> str | None:
    """``None`` for a usable answer, else why not: no content, a copy of the question, repetition or
    truncation (pure)."""
    tokens = words(answer)
    if not content_words(tokens):
        return "no content"
    if tokens == words(question):
        return "copy of the question"
    end = answer.rstrip()
    if (
        len(answer) >= answer_max_chars - 2
        or end[-1:] not in (".", "!", "?", '"', ")")
        or _CUT_END.search(end)
    ):
        return "truncated"
    if len(tokens) >= REPEAT_MIN_WORDS:
        trigrams = [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
        if len(set(trigrams)) < MIN_DISTINCT_TRIGRAMS * len(trigrams):
            return "repetition"
    if any(tokens[i] == tokens[i + 1] == tokens[i + 2] for i in range(len(tokens) - 2)):
        return "repetition"
    return None


_SENTENCE_END = re.compile(r"[.!?][\"')]*(?=\s|$)")
_ABBREVIATIONS = frozenset(["mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "no", "co"])
MIN_TRIMMED_WORDS = 4
"""A trimmed answer keeps at least this many words, or the answer is left as it was."""


def _sentence_ends(text: str) -> list[int]:
    """Where the sentences of ``text`` end (after ``.``, ``!`` or ``?`` and closing quotes), skipping the dots
    of initials and common abbreviations ("U.S.", "Mr.") (pure)."""
    ends = []
    for match in _SENTENCE_END.finditer(text):
        before = re.search(r"([^\W_]+)\W*$", text[: match.start() + 1])
        word = before.group(1) if before else ""
        if text[match.start()] == "." and (
            (len(word) == 1 and word.isalpha()) or word.lower() in _ABBREVIATIONS
        ):
            continue
        ends.append(match.end())
    return ends


def trim_answer(answer: str) -> str:
    """The answer's whole sentences up to the first that repeats an earlier one, without a cut-off tail.

    Small models often write one good sentence, then repeat it until the schema's length limit cuts them
    off ("Paris is the capital. Paris is the capital. Paris is"): that answer becomes its first sentence.
    An answer with no whole sentence of at least ``MIN_TRIMMED_WORDS`` words comes back unchanged, for the
    answer gate to judge (pure).
    """
    text = answer.strip()
    kept: list[str] = []
    seen: set[tuple[str, ...]] = set()
    start = 0
    for end in _sentence_ends(text):
        sentence = text[start:end].strip()
        start = end
        key = tuple(words(sentence))
        if not key:
            continue
        if key in seen:
            break
        seen.add(key)
        kept.append(sentence)
    trimmed = " ".join(kept)
    return trimmed if len(words(trimmed)) >= MIN_TRIMMED_WORDS else answer


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


SupportScorer = Callable[[str, Sequence[str]], float]
"""An optional semantic support score of an answer against its material texts, in [0, 1] (e.g. the cosine of
sentence embeddings or an entailment probability), passed to :class:`~.writer.QAWriter` as ``scorer``. None
is shipped yet: no embedding model is installed with the package (the dense-retrieval work brings one); the
lexical checks are the floor that runs everywhere."""


def grounding_gate(
    answer: str,
    material: MaterialWords,
    min_overlap: float = 0.5,
    *,
    question: str = "",
    scorer: SupportScorer | None = None,
    texts: Sequence[str] = (),
    min_score: float = 0.5,
) -> str | None:
    """``None`` when the answer is supported by its material, else why not (pure unless ``scorer`` is not).

    Supported: every name and number of the answer and every name of the question occur in the material,
    at least ``min_overlap`` of the answer's content words occur there, and, with a ``scorer``, its score
    of the answer against ``texts`` (the material's texts) is at least ``min_score``.
    """
    content = content_words(words(answer))
    if not content:
        return "no content"
    if missing_specifics(answer, material):
        return "names or numbers not in its material"
    if question and missing_specifics(question, material, numbers=False):
        return "question names what its material does not"
    found = sum(1 for w in content if w in material.vocabulary)
    if found < min_overlap * len(content):
        return "not in its material"
    if scorer is not None and scorer(answer, texts) < min_score:
        return "low support score"
    return None


@dataclass(frozen=True)
class GateResult:
    """Each gate's verdict on one pair: ``None`` (pass) or a reason."""

    question: str | None = None
    answer: str | None = None
    grounding: str | None = None

    @property
    def passed(self) -> bool:
        return self.question is None and self.answer is None and self.grounding is None

    def failures(self) -> list[tuple[str, str]]:
        """``(gate, reason)`` of each failed gate, in :data:`GATES` order."""
        return [(g, r) for g in GATES if (r := getattr(self, g)) is not None]


def check_pair(
    question: str,
    answer: str,
    material: MaterialWords,
    *,
    answer_max_chars: int,
    max_copy: float = 0.8,
    min_overlap: float = 0.5,
    scorer: SupportScorer | None = None,
    texts: Sequence[str] = (),
    min_score: float = 0.5,
) -> GateResult:
    """Every gate on one pair; all gates run, so each gate's pass rate is measured on every pair (pure unless
    ``scorer`` is not). ``texts``: the material's texts, for the ``scorer``."""
    return GateResult(
        question=question_gate(question, material, max_copy),
        answer=answer_gate(answer, question, answer_max_chars),
        grounding=grounding_gate(
            answer, material, min_overlap, question=question, scorer=scorer, texts=texts, min_score=min_score
        ),
    )


def normalized_question(question: str) -> str:
    """A key under which two wordings of the same question collide (pure)."""
    return " ".join(words(question))


def gate_summary(stats: Mapping[str, Any]) -> dict[str, float]:
    """Per-gate pass rates of a run from the ``qa_gate_*`` counters (pure; works on merged shard reports).

    Rates are over every pair checked (first answers and retries); ``kept_rate`` is the share of wanted pairs
    that made it into the documents' plans after retries."""
    get = stats.get
    checked = int(get("qa_gate_pairs", 0))
    summary: dict[str, float] = {"pairs_checked": checked}
    for gate in (*GATES, "llm"):
        failed = int(get(f"qa_gate_{gate}_failed", 0))
        base = int(get("qa_gate_llm_checked", 0)) if gate == "llm" else checked
        summary[f"{gate}_pass_rate"] = 1.0 - failed / base if base else 1.0
    passed = int(get("qa_gate_passed", 0))
    summary["all_gates_pass_rate"] = passed / checked if checked else 1.0
    summary["retry_requests"] = int(get("qa_retry_requests", 0))
    summary["pairs_kept"] = int(get("qa_pairs_kept", 0))
    summary["pairs_dropped"] = int(get("qa_pairs_dropped", 0))
    wanted = summary["pairs_kept"] + summary["pairs_dropped"]
    summary["kept_rate"] = summary["pairs_kept"] / wanted if wanted else 1.0
    return summary
