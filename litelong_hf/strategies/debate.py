"""LiteLong's multi-LLM topic debate (METHODS.md §1.2): generate, cross-critique, judge, filter-reject.

Per (top, sub) pair: debater A and debater B each propose ``2 x expansion_factor`` subtopics; A critiques B's
list and B critiques A's; a judge sees every candidate with its source and the critic's suggestion and
rejects some; the kept topics are the union of both lists (case-insensitive dedup, order kept) minus the
judge's rejections. Every call is schema-constrained where the backend allows and parsed leniently;
whatever cannot be parsed is recorded in the transcript, never dropped silently.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import yaml

from ..llm import ChatLLM, ChatResult
from ..taxonomy import TaxonomyEntry

TITLE_PATTERN = "^[A-Z][A-Za-z0-9 ,'&()/-]{1,70}[A-Za-z0-9)]$"
SENTENCE_PATTERN = "^[A-Z][A-Za-z0-9 ,;:()'/-]{8,160}[.]$"

TOPIC_ITEM = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "pattern": TITLE_PATTERN},
        "explanation": {"type": "string", "pattern": SENTENCE_PATTERN},
    },
    "required": ["topic", "explanation"],
}
REVIEWED_ITEM = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "pattern": TITLE_PATTERN},
        "explanation": {"type": "string", "pattern": SENTENCE_PATTERN},
        "reason": {"type": "string", "pattern": SENTENCE_PATTERN},
    },
    "required": ["topic", "reason"],
}


ROLE_SEED_OFFSET = {"debater_a": 0, "debater_b": 1, "judge": 2}


def generate_schema(n: int) -> dict[str, Any]:
    return {"type": "array", "items": TOPIC_ITEM, "minItems": 1, "maxItems": n}


def critique_schema(n: int) -> dict[str, Any]:
    """A review of ``n`` candidates; bounded arrays keep small models from repeating items forever."""
    return {
        "type": "object",
        "properties": {
            "accepted": {"type": "array", "items": REVIEWED_ITEM, "maxItems": n},
            "rejected": {"type": "array", "items": REVIEWED_ITEM, "maxItems": n},
        },
        "required": ["accepted", "rejected"],
    }


def judge_schema(n: int) -> dict[str, Any]:
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
                        "title": {"type": "string", "pattern": TITLE_PATTERN},
                        "reason": {"type": "string", "pattern": SENTENCE_PATTERN},
                    },
                    "required": ["title", "reason"],
                },
            },
            "summary": {"type": "string", "pattern": SENTENCE_PATTERN},
        },
        "required": ["rejected_topics", "summary"],
    }


@dataclass(frozen=True)
class Prompts:
    """A versioned set of debate prompts (``litelong_hf/prompts/<version>.yaml`` or any YAML file)."""

    version: str
    system: str
    generate: str
    critique: str
    judge: str
    sha: str

    def render(self, which: str, **values: Any) -> str:
        template = _environment().from_string(getattr(self, which))
        return template.render(**values).strip()


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@cache
def load_prompts(name: str = "litelong_v1") -> Prompts:
    """Packaged prompt set ``name`` (e.g. ``litelong_v1``) or a path to a YAML file with the same keys."""
    if name.endswith((".yaml", ".yml")):
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    else:
        path = resources.files("litelong_hf").joinpath("prompts", f"{name}.yaml")
        if not path.is_file():
            raise ValueError(f"Unknown prompt set {name!r}; use 'litelong_v1' or a path to a YAML file.")
        text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    missing = sorted({"version", "system", "generate", "critique", "judge"} - set(data))
    if missing:
        raise ValueError(f"Prompt set {name!r} lacks {missing}.")
    sha = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Prompts(data["version"], data["system"], data["generate"], data["critique"], data["judge"], sha)


@dataclass(frozen=True)
class Candidate:
    topic: str
    explanation: str
    source: str  # "debater_a" or "debater_b"


@dataclass
class Transcript:
    """Everything said about one (top, sub) pair; saved next to the rows and shown in cards and the Space."""

    top: str
    sub: str
    prompt_version: str
    models: dict[str, str] = field(default_factory=dict)
    generated: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    critiques: dict[str, Any] = field(default_factory=dict)
    judge: Any = None
    kept: list[dict[str, str]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    unparseable: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clean_title(title: str) -> str:
    """A topic title without surrounding quotes, list markers or trailing punctuation (pure)."""
    return " ".join(title.strip().strip("\"'*").strip().rstrip(" ,.;:").split())


def _norm(title: str) -> str:
    return clean_title(title).casefold()


def candidates_from(value: Any, source: str) -> list[Candidate]:
    """Candidates from a parsed answer: a list of objects (``topic``/``title``) or of plain strings (pure)."""
    items = value.get("topics", value.get("items", [])) if isinstance(value, dict) else value
    out: list[Candidate] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            title = clean_title(str(item.get("topic") or item.get("title") or ""))
            explanation = str(item.get("explanation") or "").strip()
        else:
            title, explanation = clean_title(str(item)), ""
        if title:
            out.append(Candidate(title, explanation, source))
    return out


def union_dedup(*lists: list[Candidate]) -> list[Candidate]:
    """Concatenate candidate lists, keeping the first of each case-insensitive title (pure, order-stable)."""
    seen: set[str] = set()
    out: list[Candidate] = []
    for items in lists:
        for c in items:
            key = _norm(c.topic)
            if key not in seen:
                seen.add(key)
                out.append(c)
    return out


def keep_topics(candidates: list[Candidate], rejected_titles: list[str]) -> list[Candidate]:
    """Filter-Reject: every candidate except those the judge rejected (case-insensitive; pure)."""
    banned = {_norm(t) for t in rejected_titles}
    return [c for c in candidates if _norm(c.topic) not in banned]


def critic_verdicts(critique: Any) -> dict[str, tuple[str, str]]:
    """``{normalized title: (verdict, reason)}`` from a parsed critique (pure)."""
    verdicts: dict[str, tuple[str, str]] = {}
    if not isinstance(critique, dict):
        return verdicts
    for verdict in ("accepted", "rejected"):
        for item in critique.get(verdict) or []:
            if isinstance(item, dict) and (item.get("topic") or item.get("title")):
                title = str(item.get("topic") or item.get("title"))
                verdicts[_norm(title)] = (
                    "keep" if verdict == "accepted" else "reject",
                    str(item.get("reason", "")),
                )
    return verdicts


def rejected_titles(judge: Any) -> list[str]:
    if not isinstance(judge, dict):
        return []
    out = []
    for item in judge.get("rejected_topics") or []:
        if isinstance(item, dict) and item.get("title"):
            out.append(str(item["title"]))
        elif isinstance(item, str):
            out.append(item)
    return out


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 1024
    seed: int = 0


async def debate_topics(
    entry: TaxonomyEntry,
    llms: dict[str, ChatLLM],
    prompts: Prompts,
    *,
    expansion_factor: int,
    sampling: Sampling,
) -> Transcript:
    """Run the debate for one taxonomy entry and return its transcript (``kept`` are the chosen topics)."""
    n = 2 * (entry.expansion_factor or expansion_factor)
    transcript = Transcript(
        top=entry.top,
        sub=entry.sub,
        prompt_version=f"{prompts.version}@{prompts.sha}",
        models={role: llm.model_id for role, llm in llms.items()},
    )

    def messages(text: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": prompts.system}, {"role": "user", "content": text}]

    async def ask(role: str, step: str, text: str, schema: dict[str, Any]) -> Any:
        # A seed per role: with one model in every role the two debaters still write different lists.
        result: ChatResult = await llms[role].chat(
            messages(text),
            schema=schema,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed + ROLE_SEED_OFFSET[role],
        )
        transcript.requests += 0 if result.cached else 1
        transcript.cache_hits += 1 if result.cached else 0
        transcript.tokens_in += result.usage.prompt_tokens
        transcript.tokens_out += result.usage.completion_tokens
        if not result.ok:
            transcript.unparseable.append(
                {
                    "step": step,
                    "role": role,
                    "error": result.error or result.parse_error or "",
                    "text": result.text,
                }
            )
            return None
        return result.parsed

    generate = prompts.render("generate", n=n, top=entry.top, sub=entry.sub, exclude=entry.exclude)
    gen_a, gen_b = await asyncio.gather(
        ask("debater_a", "generate", generate, generate_schema(n)),
        ask("debater_b", "generate", generate, generate_schema(n)),
    )
    cands_a, cands_b = candidates_from(gen_a, "debater_a"), candidates_from(gen_b, "debater_b")
    transcript.generated = {
        "debater_a": [{"topic": c.topic, "explanation": c.explanation} for c in cands_a],
        "debater_b": [{"topic": c.topic, "explanation": c.explanation} for c in cands_b],
    }

    async def critique(critic: str, candidates: list[Candidate]) -> Any:
        if not candidates:
            return None
        text = prompts.render("critique", top=entry.top, sub=entry.sub, candidates=candidates)
        return await ask(critic, "critique", text, critique_schema(len(candidates)))

    # Each debater reviews the other's list (the public script wrongly let one model critique both).
    crit_of_b, crit_of_a = await asyncio.gather(
        critique("debater_a", cands_b), critique("debater_b", cands_a)
    )
    transcript.critiques = {"debater_a_on_debater_b": crit_of_b, "debater_b_on_debater_a": crit_of_a}
    verdicts = {**critic_verdicts(crit_of_a), **critic_verdicts(crit_of_b)}

    candidates = union_dedup(cands_a, cands_b)
    if candidates:
        shown = [
            {
                "topic": c.topic,
                "source": c.source,
                "verdict": verdicts.get(_norm(c.topic), ("no opinion", ""))[0],
                "reason": verdicts.get(_norm(c.topic), ("", "not reviewed"))[1] or "no reason given",
            }
            for c in candidates
        ]
        judge_text = prompts.render("judge", top=entry.top, sub=entry.sub, candidates=shown)
        transcript.judge = await ask("judge", "judge", judge_text, judge_schema(len(candidates)))
    rejected = {_norm(t) for t in rejected_titles(transcript.judge)}
    kept = keep_topics(candidates, list(rejected))
    transcript.kept = [{"topic": c.topic, "explanation": c.explanation, "source": c.source} for c in kept]
    transcript.rejected = [
        {"topic": c.topic, "source": c.source} for c in candidates if _norm(c.topic) in rejected
    ]
    return transcript


def summarize_transcript(transcript: dict[str, Any]) -> dict[str, Any]:
    """A compact view of a saved transcript for dataset cards: counts, kept titles, rejections with the
    judge's reasons (pure)."""
    reasons = {
        _norm(str(item.get("title", ""))): str(item.get("reason", ""))
        for item in (transcript.get("judge") or {}).get("rejected_topics") or []
        if isinstance(item, dict)
    }
    return {
        "top": transcript.get("top", ""),
        "sub": transcript.get("sub", ""),
        "generated": {role: len(items) for role, items in (transcript.get("generated") or {}).items()},
        "kept": [k["topic"] for k in transcript.get("kept", [])],
        "rejected": [
            {"topic": r["topic"], "reason": reasons.get(_norm(r["topic"]), "")}
            for r in transcript.get("rejected", [])
        ],
        "unparseable": len(transcript.get("unparseable", [])),
    }
