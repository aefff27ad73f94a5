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
strip, so ``Elections`` in an answer matches ``election`` in the passage (:mod:`.words`, whose public names
are importable from here too).

Example::

    material = MaterialWords.of("The council approved the budget on Monday after a long debate.")
    check_pair("When did the council approve the budget?", "On Monday.", material, answer_max_chars=300)
    # GateResult(question=None, answer=None, grounding=None)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .words import INTERROGATIVES as INTERROGATIVES
from .words import STOPWORDS as STOPWORDS
from .words import WH_WORDS, MaterialWords, content_words, longest_shared_run, words
from .words import missing_specifics as missing_specifics
from .words import specifics as specifics

GATES: tuple[str, ...] = ("question", "answer", "grounding")
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
QUESTION_OPEN_WORDS = 4
"""An interrogative word must be among a question's first words (``In which year...``, ``According to...``)."""
REPEAT_MIN_WORDS = 8
"""Answers shorter than this are never judged repetitive."""
MIN_DISTINCT_TRIGRAMS = 0.6
"""An answer whose distinct word trigrams are fewer than this share of its trigrams repeats itself."""


def question_gate(question: str, material: MaterialWords, max_copy: float = 0.8) -> str | None:
    """``None`` for a real question, else why not (pure)."""
    tokens = words(question)
    if len(tokens) < 3 or not question.rstrip().endswith("?"):
        return "not a question"
    opening = tokens[:QUESTION_OPEN_WORDS]
    if tokens[0] not in INTERROGATIVES and not any(w in WH_WORDS for w in opening):
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
