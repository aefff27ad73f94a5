"""LiteLong's multi-LLM topic debate (METHODS.md §1.2): generate, cross-critique, judge, filter-reject.

Per (top, sub) pair: debater A and debater B each propose ``2 x expansion_factor`` subtopics; A critiques B's
list and B critiques A's; a judge sees every candidate (title, explanation, source model, the critic's
suggested action and reason) and the subcategory's exclusions, and rejects some; the kept topics are the union of both lists (case-insensitive dedup, order kept) minus the
judge's rejections (Filter-Reject). Every call is schema-constrained where the backend allows and parsed
leniently; whatever cannot be parsed is recorded in the transcript, never dropped silently.

The judge is the gate, so it is never skipped silently: a rejection is matched to a candidate robustly
(normalised title, a candidate number, or word overlap), every match is recorded in the transcript and
rejections that match nothing are counted; an unparseable judge answer is asked again with another seed,
and when every attempt fails the subcategory is marked failed and keeps **no** topic (never keep-all).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..llm import ChatLLM, ChatResult
from ..prompting import Prompts
from ..taxonomy import TaxonomyEntry
from .debate_schema import PATTERNS, SchemaPatterns, critique_schema, generate_schema, judge_schema

# Re-exported: the debate's public names stay importable from here.
from .debate_schema import PROMPT_KEYS as PROMPT_KEYS
from .debate_schema import STRICT_V1_PATTERNS as STRICT_V1_PATTERNS
from .debate_schema import load_debate_prompts as load_debate_prompts
from .debate_titles import clean_title, match_title, normalize_title

ROLE_SEED_OFFSET = {"debater_a": 0, "debater_b": 1, "judge": 2}
RETRY_SEED_STEP = 1000
"""A retried judge request uses ``seed + attempt x RETRY_SEED_STEP``: a new request, cached on its own."""


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
    judge_attempts: int = 0
    """Judge requests made (1 + retries after unparseable answers)."""
    judge_matches: list[dict[str, Any]] = field(default_factory=list)
    """How each judge rejection was matched: ``{rejected, matched, method, score}``; ``matched`` is None for
    a rejection that names no candidate (``method`` ``exact``, ``number``, ``overlap`` or ``none``)."""
    unmatched_rejections: int = 0
    failed: str = ""
    """Why the subcategory kept no topic although candidates existed (e.g. the judge never answered)."""
    kept: list[dict[str, str]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    unparseable: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
            key = normalize_title(c.topic)
            if key not in seen:
                seen.add(key)
                out.append(c)
    return out


def keep_topics(candidates: list[Candidate], rejected_titles: list[str]) -> list[Candidate]:
    """Filter-Reject: every candidate except those a rejection matches (see :func:`match_title`; pure)."""
    titles = [c.topic for c in candidates]
    banned = {match_title(t, titles)[0] for t in rejected_titles} - {None}
    return [c for i, c in enumerate(candidates) if i not in banned]


def critic_verdicts(critique: Any, reviewed: Sequence[Candidate]) -> dict[int, tuple[str, str]]:
    """``{index in reviewed: (verdict, reason)}`` from a parsed critique of ``reviewed`` (pure)."""
    verdicts: dict[int, tuple[str, str]] = {}
    if not isinstance(critique, dict):
        return verdicts
    titles = [c.topic for c in reviewed]
    for verdict in ("accepted", "rejected"):
        for item in critique.get(verdict) or []:
            if isinstance(item, dict) and (item.get("topic") or item.get("title")):
                index, _, _ = match_title(str(item.get("topic") or item.get("title")), titles)
                if index is not None:
                    verdicts[index] = (
                        "keep" if verdict == "accepted" else "reject",
                        str(item.get("reason", "")),
                    )
    return verdicts


def rejected_titles(judge: Any) -> list[str]:
    """The titles a parsed judge answer rejects (pure)."""
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
    llms: Mapping[str, ChatLLM],
    prompts: Prompts,
    *,
    expansion_factor: int,
    sampling: Sampling,
    judge_retries: int = 1,
    patterns: SchemaPatterns = PATTERNS,
) -> Transcript:
    """Run the debate for one taxonomy entry and return its transcript (``kept`` are the chosen topics).

    ``judge_retries``: how many times an unparseable judge answer is asked again (with another seed)
    before the subcategory is marked failed and keeps nothing. ``patterns``: the schema's string patterns.

    Every template gets ``top``, ``sub`` and ``exclude`` (the subcategory's exclusions, empty for none).
    The judge's ``candidates`` are dicts with what the paper's judge sees of each candidate: ``topic``
    (its title), ``explanation``, ``source`` (the debater's role), ``model`` (that debater's model id),
    ``verdict`` (the critic's suggested action: ``keep``, ``reject`` or ``no opinion``) and ``reason``
    (the critique's reason).
    """
    n = 2 * (entry.expansion_factor or expansion_factor)
    transcript = Transcript(
        top=entry.top,
        sub=entry.sub,
        prompt_version=prompts.tag,
        models={role: llm.model_id for role, llm in llms.items()},
    )

    def messages(text: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": prompts.system}, {"role": "user", "content": text}]

    async def ask(role: str, step: str, text: str, schema: dict[str, Any], attempt: int = 0) -> Any:
        # A seed per role: with one model in every role the two debaters still write different lists.
        result: ChatResult = await llms[role].chat(
            messages(text),
            schema=schema,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed + ROLE_SEED_OFFSET[role] + attempt * RETRY_SEED_STEP,
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
                    "attempt": str(attempt),
                    "error": result.error or result.parse_error or "",
                    "text": result.text,
                }
            )
            return None
        return result.parsed

    generate = prompts.render("generate", n=n, top=entry.top, sub=entry.sub, exclude=entry.exclude)
    gen_a, gen_b = await asyncio.gather(
        ask("debater_a", "generate", generate, generate_schema(n, patterns)),
        ask("debater_b", "generate", generate, generate_schema(n, patterns)),
    )
    cands_a, cands_b = candidates_from(gen_a, "debater_a"), candidates_from(gen_b, "debater_b")
    transcript.generated = {
        "debater_a": [{"topic": c.topic, "explanation": c.explanation} for c in cands_a],
        "debater_b": [{"topic": c.topic, "explanation": c.explanation} for c in cands_b],
    }

    async def critique(critic: str, candidates: list[Candidate]) -> Any:
        if not candidates:
            return None
        text = prompts.render(
            "critique", top=entry.top, sub=entry.sub, exclude=entry.exclude, candidates=candidates
        )
        return await ask(critic, "critique", text, critique_schema(len(candidates), patterns))

    # Each debater reviews the other's list (the public script wrongly let one model critique both).
    crit_of_b, crit_of_a = await asyncio.gather(
        critique("debater_a", cands_b), critique("debater_b", cands_a)
    )
    transcript.critiques = {"debater_a_on_debater_b": crit_of_b, "debater_b_on_debater_a": crit_of_a}
    verdict_of = {
        **{("debater_a", i): v for i, v in critic_verdicts(crit_of_a, cands_a).items()},
        **{("debater_b", i): v for i, v in critic_verdicts(crit_of_b, cands_b).items()},
    }
    position = {id(c): i for cands in (cands_a, cands_b) for i, c in enumerate(cands)}

    candidates = union_dedup(cands_a, cands_b)
    if not candidates:
        return transcript
    shown = []
    for c in candidates:
        verdict, reason = verdict_of.get((c.source, position[id(c)]), ("no opinion", "not reviewed"))
        shown.append(
            {
                "topic": c.topic,
                "explanation": c.explanation or "none given",
                "source": c.source,
                "model": llms[c.source].model_id,
                "verdict": verdict,
                "reason": reason or "no reason given",
            }
        )
    judge_text = prompts.render(
        "judge", top=entry.top, sub=entry.sub, exclude=entry.exclude, candidates=shown
    )
    schema = judge_schema(len(candidates), patterns)
    for attempt in range(judge_retries + 1):
        transcript.judge_attempts += 1
        transcript.judge = await ask("judge", "judge", judge_text, schema, attempt)
        if transcript.judge is not None:
            break
    if transcript.judge is None:
        transcript.failed = f"judge answer unparseable after {transcript.judge_attempts} attempt(s)"
        return transcript

    titles = [c.topic for c in candidates]
    banned: set[int] = set()
    for title in rejected_titles(transcript.judge):
        index, method, score = match_title(title, titles)
        transcript.judge_matches.append(
            {
                "rejected": title,
                "matched": None if index is None else titles[index],
                "method": method,
                "score": score,
            }
        )
        if index is None:
            transcript.unmatched_rejections += 1
        else:
            banned.add(index)
    transcript.kept = [
        {"topic": c.topic, "explanation": c.explanation, "source": c.source}
        for i, c in enumerate(candidates)
        if i not in banned
    ]
    transcript.rejected = [
        {"topic": c.topic, "source": c.source} for i, c in enumerate(candidates) if i in banned
    ]
    return transcript


def summarize_transcript(transcript: dict[str, Any]) -> dict[str, Any]:
    """A compact view of a saved transcript for dataset cards: counts, kept titles, rejections with the
    judge's reasons (pure)."""
    reasons = {
        normalize_title(str(item.get("title", ""))): str(item.get("reason", ""))
        for item in (transcript.get("judge") or {}).get("rejected_topics") or []
        if isinstance(item, dict)
    }
    matched_reason = {
        normalize_title(str(m.get("matched"))): reasons.get(normalize_title(str(m.get("rejected"))), "")
        for m in transcript.get("judge_matches") or []
        if m.get("matched")
    }
    return {
        "top": transcript.get("top", ""),
        "sub": transcript.get("sub", ""),
        "generated": {role: len(items) for role, items in (transcript.get("generated") or {}).items()},
        "kept": [k["topic"] for k in transcript.get("kept", [])],
        "rejected": [
            {
                "topic": r["topic"],
                "reason": matched_reason.get(normalize_title(r["topic"]))
                or reasons.get(normalize_title(r["topic"]), ""),
            }
            for r in transcript.get("rejected", [])
        ],
        "unparseable": len(transcript.get("unparseable", [])),
        "unmatched_rejections": int(transcript.get("unmatched_rejections", 0)),
        "failed": str(transcript.get("failed", "")),
    }
