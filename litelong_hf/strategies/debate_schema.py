"""The JSON schemas of LiteLong's debate (generate, critique, judge), their string patterns and its prompts.

Titles are the BM25 queries, so what the title pattern forbids, no query can contain; lengths bound what a
small model can write. :mod:`litelong_hf.strategies.debate` runs the debate and re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..prompting import Prompts, load_prompts

_LETTER = "A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
"""Letters and digits a topic may use: ASCII, and the accented Latin letters (Latin-1 and Latin Extended-A/B,
without the multiplication and division signs)."""


@dataclass(frozen=True)
class SchemaPatterns:
    """The JSON-schema patterns of the debate's strings (titles are the BM25 queries, so what the title
    pattern forbids, no query can contain). Patterns only shape what the model can write; lengths bound it,
    so a small model cannot ramble."""

    title: str
    """A topic title (also the judge's ``title``)."""
    sentence: str
    """An explanation, critique reason, judge reason or summary."""


PATTERNS = SchemaPatterns(
    title=f"^[{_LETTER}][{_LETTER} ,.:;'\u2019&()/!?+-]{{1,70}}[{_LETTER})?!]$",
    sentence=f"^[{_LETTER}][{_LETTER} ,.:;'\u2019&%()/!?+-]{{8,160}}[.!?]$",
)
"""The default patterns: real topic titles' characters (colons, accented letters, digits, hyphens, periods as
in "U.S.", apostrophes), 3 to 72 characters; an explanation of 10 to 162 characters ending a sentence. No
double quote or backslash: the model would have to escape them inside JSON."""
STRICT_V1_PATTERNS = SchemaPatterns(
    title="^[A-Z][A-Za-z0-9 ,'&()/-]{1,70}[A-Za-z0-9)]$",
    sentence="^[A-Z][A-Za-z0-9 ,;:()'/-]{8,160}[.]$",
)
"""The patterns before issue 19 (ASCII only, no colon, one sentence without an inner period): kept to
measure the unparseable rate against (``bench/debate_schema.py``), not used by any preset."""
PROMPT_KEYS = ("system", "generate", "critique", "judge")
"""Templates every LiteLong prompt set must have."""


def _topic_item(patterns: SchemaPatterns, *, reason: bool = False) -> dict[str, Any]:
    """A proposed topic; with ``reason``, a reviewed one (the critic's reason required, the explanation not)."""
    properties = {
        "topic": {"type": "string", "pattern": patterns.title},
        "explanation": {"type": "string", "pattern": patterns.sentence},
    }
    if reason:
        properties["reason"] = {"type": "string", "pattern": patterns.sentence}
    return {
        "type": "object",
        "properties": properties,
        "required": ["topic", "reason" if reason else "explanation"],
    }


def load_debate_prompts(name: str = "litelong_v2") -> Prompts:
    """The debate prompt set ``name`` (packaged or a YAML path), checked for every template the debate uses."""
    return load_prompts(name, required=PROMPT_KEYS)


def generate_schema(n: int, patterns: SchemaPatterns = PATTERNS) -> dict[str, Any]:
    return {"type": "array", "items": _topic_item(patterns), "minItems": 1, "maxItems": n}


def critique_schema(n: int, patterns: SchemaPatterns = PATTERNS) -> dict[str, Any]:
    """A review of ``n`` candidates; bounded arrays keep small models from repeating items forever."""
    item = _topic_item(patterns, reason=True)
    return {
        "type": "object",
        "properties": {
            "accepted": {"type": "array", "items": item, "maxItems": n},
            "rejected": {"type": "array", "items": item, "maxItems": n},
        },
        "required": ["accepted", "rejected"],
    }


def judge_schema(n: int, patterns: SchemaPatterns = PATTERNS) -> dict[str, Any]:
    """The judge's rejections among ``n`` candidates."""
    return {
        "type": "object",
        "properties": {
            "rejected_topics": {
                "type": "array",
                "maxItems": n,
                "items": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "pattern": patterns.title},
                        "reason": {"type": "string", "pattern": patterns.sentence},
                    },
                    "required": ["title", "reason"],
                },
            },
            "summary": {"type": "string", "pattern": patterns.sentence},
        },
        "required": ["rejected_topics", "summary"],
    }
