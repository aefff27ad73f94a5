"""The prompt side of hierarchical QA: which templates a prompt set needs, the JSON schema of a QA answer and
lenient reading of answers (pure functions; the templates live in ``litelong_hf/prompts/hierarchical_v*.yaml``
and are loaded by :func:`litelong_hf.prompting.load_prompts`)."""

from __future__ import annotations

from typing import Any

from ...config import ConfigError
from ...prompting import PromptError, Prompts, load_prompts

PROMPT_KEYS: tuple[str, ...] = (
    "system",
    "summarize_chunk",
    "summarize_parts",
    "questions_global",
    "questions_medium",
    "questions_small",
    "diverse_multi_hop",
    "diverse_local_detail",
    "diverse_comparison",
    "diverse_temporal_order",
    "diverse_counting",
    "revisit",
)
"""Templates every hierarchical prompt set has."""
CHECK_KEY = "check_grounding"
"""Optional template of the LLM grounding check (``llm_grounding_check``)."""


def hierarchical_prompts(name: str) -> Prompts:
    """Prompt set ``name`` (packaged or a YAML path) with every key of :data:`PROMPT_KEYS`; a bad set raises
    :class:`~litelong_hf.config.ConfigError` naming the fix."""
    try:
        return load_prompts(name, required=PROMPT_KEYS)
    except PromptError as exc:
        raise ConfigError(str(exc)) from None


QUESTION_OPENERS: tuple[str, ...] = (
    "What",
    "Who",
    "Whom",
    "Whose",
    "When",
    "Where",
    "Why",
    "How",
    "Which",
    "In what",
    "In which",
)
"""Words a question must start with when ``question_openers`` is on (constrained decoding keeps it a question)."""


def qa_schema(
    n: int, question_max_chars: int, answer_max_chars: int, openers: bool = False
) -> dict[str, Any]:
    """JSON schema of exactly ``n`` question/answer pairs. The string patterns (a capital first, no quotes,
    backslashes or newlines, bounded length, ``?``/``.`` at the end) are what let a 135M model emit valid
    JSON under constrained decoding; with ``openers`` a question must start with an interrogative word."""
    start = f"({'|'.join(QUESTION_OPENERS)}) " if openers else "[A-Z0-9]"
    question = f'^{start}[^"\\\\\\n]{{6,{question_max_chars - 2}}}[?]$'
    answer = f'^[A-Z0-9][^"\\\\\\n]{{0,{answer_max_chars - 2}}}[.]$'
    return {
        "type": "array",
        "minItems": n,
        "maxItems": n,
        "items": {
            "type": "object",
            "properties": {
                "question": {"type": "string", "pattern": question},
                "answer": {"type": "string", "pattern": answer},
            },
            "required": ["question", "answer"],
        },
    }


CHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"supported": {"type": "boolean"}},
    "required": ["supported"],
}
"""Answer of the LLM grounding check: ``{"supported": true|false}``."""


def qa_max_tokens(n: int, question_max_chars: int, answer_max_chars: int) -> int:
    """Answer budget of a request for ``n`` pairs: a token per character the schema allows plus the JSON
    around them, so an answer that runs to the schema's limits still closes its JSON (pure)."""
    return n * (question_max_chars + answer_max_chars + 32) + 8


def clean_text(text: Any) -> str:
    """``text`` as one line with single spaces (pure)."""
    return " ".join(str(text or "").split())


def qa_pairs_from(value: Any) -> list[tuple[str, str]]:
    """``(question, answer)`` pairs from a parsed answer: a list of objects (``question``/``answer``, or
    ``q``/``a``), possibly wrapped in ``{"questions": [...]}``; incomplete items are skipped (pure)."""
    items = value
    if isinstance(value, dict):
        items = next((value[k] for k in ("questions", "qa", "items", "pairs") if k in value), [value])
    pairs: list[tuple[str, str]] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        question = clean_text(item.get("question") or item.get("q"))
        answer = clean_text(item.get("answer") or item.get("a"))
        if question and answer:
            pairs.append((question, answer))
    return pairs


def supported_from(value: Any) -> bool | None:
    """The verdict of a grounding check answer, or ``None`` when it has none (pure)."""
    if isinstance(value, dict) and isinstance(value.get("supported"), bool):
        return bool(value["supported"])
    return None


def trim_summary(text: str) -> str:
    """A summary without a ``Summary:`` label and without a sentence cut off by ``max_tokens`` (up to its last
    sentence end, when it has one; pure)."""
    text = clean_text(text)
    if text[:8].casefold() == "summary:":  # small models like to label their answer
        text = text[8:].lstrip()
    ends = [i for i, ch in enumerate(text) if ch in ".!?"]
    if not ends or ends[-1] == len(text) - 1:
        return text
    return text[: ends[-1] + 1]


def question_text(doc_index: int, question: str) -> str:
    """A question as shown in a row: it names its document block (numbered from 1)."""
    return f"About document {doc_index + 1}: {question}"


def revisit_text(doc_index: int, question: str) -> str:
    """A revisit question as shown in a row."""
    return f"Back to document {doc_index + 1}: {question}"
