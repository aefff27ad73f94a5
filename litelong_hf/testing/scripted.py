"""A scripted LLM for tests and benches: a real :class:`ChatLLM` (cache, parsing, counters, stats) whose
backend answers from a Python function instead of a model, refuses what does not fit its window like a
server, and records every request it answered.

Example::

    llm = ScriptedLLM("judge", lambda prompt, request: {"rejected_topics": []})
    assert llm.chat_sync([{"role": "user", "content": "Judge these."}], max_tokens=32).ok
    assert llm.prompts() == ["Judge these."]

:func:`material_answers` is the stock answer function of the QA strategies' tests: summaries and
question-answer pairs taken from the material each request is sent, so they pass the grounding gates the
way a faithful model's answers would; :class:`MaterialLLM` is a :class:`ScriptedLLM` answering with it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from ..llm import ChatLLM, ChatRequest, RawCompletion, RequestCache
from ..llm.errors import ContextLengthExceeded
from ..tokens import TokenCounter

Answer = Callable[[str, ChatRequest], Any]
"""``(last user prompt, request) -> answer``: a :class:`RawCompletion` is returned as is (its usage too), a
str is sent as is, anything else as JSON; usage is then counted in Llama-3 tokens."""

CHAT_TOKENS_PER_MESSAGE = 4
"""Tokens a chat template adds around each message (Llama-3: header and end-of-turn), for usage counts."""


class ScriptedLLM(ChatLLM):
    """Answers each request with ``answer(prompt, request)``; ``requests`` holds every request answered.

    Args:
        name: shown in ``model_id`` (``scripted/NAME``), which keys the request cache.
        answer: the answer function (:data:`Answer`); it may raise to simulate a backend failure.
        cache: a real request cache, or None for none.
        window: context window in Llama-3 tokens; a request whose messages plus ``max_tokens`` exceed it is
            refused with :class:`ContextLengthExceeded` (as a server refuses it) and not recorded.
        concurrency: requests in flight at once.
    """

    def __init__(
        self,
        name: str,
        answer: Answer,
        *,
        cache: RequestCache | None = None,
        window: int = 8192,
        concurrency: int = 8,
    ) -> None:
        super().__init__(cache=cache)
        self.answer = answer
        self.name = name
        self.window = window
        self.concurrency = concurrency
        self.requests: list[ChatRequest] = []

    @property
    def model_id(self) -> str:
        return f"scripted/{self.name}"

    @property
    def context_window(self) -> int:
        return self.window

    @property
    def max_concurrency(self) -> int:
        return self.concurrency

    async def _complete(self, request: ChatRequest) -> RawCompletion:
        counter = TokenCounter.get()
        prompt_tokens = counter.count("\n".join(str(m["content"]) for m in request.messages))
        if prompt_tokens + request.max_tokens > self.window:
            raise ContextLengthExceeded(f"{prompt_tokens + request.max_tokens} > {self.window}")
        self.requests.append(request)
        value = self.answer(str(request.messages[-1]["content"]), request)
        if isinstance(value, RawCompletion):
            return value
        text = value if isinstance(value, str) else json.dumps(value)
        usage = prompt_tokens + CHAT_TOKENS_PER_MESSAGE * len(request.messages)
        return RawCompletion(text, usage, counter.count(text))

    def prompts(self) -> list[str]:
        """The last user prompt of every request answered, in order."""
        return [str(r.messages[-1]["content"]) for r in self.requests]


def step_of(prompt: str) -> str:
    """Which debate step a prompt of a packaged LiteLong set (``litelong_v1``, ``litelong_v2``,
    ``litelong_paper_v1``: their critique and judge prompts open with these words) belongs to."""
    if prompt.startswith("You are the judge"):
        return "judge"
    if prompt.startswith("Another model proposed"):
        return "critique"
    return "generate"


# ------------------------------------------------------------------------------------ answers from material

PROMPT_WORDS = frozenset({"summary", "passage", "above", "below", "section", "part", "text"})
"""Words of the instructions, never asked about."""
ENDLESS = frozenset(
    {"the", "a", "an", "of", "and", "to", "in", "with", "for", "on", "at", "by", "from", "that"}
)
"""Words a sentence cannot end on: an answer cut after one is shortened further."""
FIRST_SEED_LIMIT = 7919
"""Seeds below this are a request's first try (retries draw larger seeds), for ``bad="first"``."""


def material_of(prompt: str) -> str:
    """What a request is about: everything before its final instructions."""
    return prompt.rsplit("\n\n", 1)[0]


def material_answers(*, bad: str = "", garbage: bool = False) -> Answer:
    """Instant answers from the material a request is sent: a summary is its sentences (as long as the
    request allows), a question asks about a word of one of its sentences and the answer is that sentence's
    start. Deterministic in the prompt and seed.

    ``bad``: ``"first"`` gives gate-failing pairs (a copied sentence as the question, a repeated answer) on
    a request's first seed only, ``"always"`` on every seed; ``"repeat"`` gives good answers repeated until
    cut off. ``garbage`` answers question requests with no JSON at all.
    """

    def answer(prompt: str, request: ChatRequest) -> RawCompletion:
        whole = "\n".join(str(m["content"]) for m in request.messages)
        # Usage as a small model reports it: completions well under max_tokens, so none reads as cut off.
        used = len(whole) // 4
        digest = int(hashlib.sha1(f"{whole}|{request.seed}".encode()).hexdigest()[:8], 16)
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", material_of(prompt)) if len(s.split()) >= 6]
        sentences = sentences or ["Nothing of note was reported in the material today."]
        if request.schema is None:  # a summary as long as allowed (~4 characters a token)
            return RawCompletion(" ".join(sentences * 20)[: request.max_tokens * 4], used, 40)
        if garbage:
            return RawCompletion("I cannot answer that", used, 5)
        failing = bad == "always" or (
            bad == "first" and request.seed is not None and request.seed < FIRST_SEED_LIMIT
        )
        pairs = [
            _pair(
                sentences[(digest + i) % len(sentences)], digest, i, failing=failing, repeat=bad == "repeat"
            )
            for i in range(request.schema["minItems"])
        ]
        return RawCompletion(json.dumps(pairs), used, 60)

    return answer


def _pair(sentence: str, digest: int, i: int, *, failing: bool, repeat: bool) -> dict[str, str]:
    if failing:
        return {"question": sentence.rstrip(".!?") + "?", "answer": "Yes yes yes yes yes."}
    words = [w for w in re.findall(r"[A-Za-z]{4,}", sentence) if w.lower() not in PROMPT_WORDS] or ["news"]
    kept = sentence.split()[:10]
    while len(kept) > 3 and kept[-1].lower().strip(".,;:!?") in ENDLESS:
        kept.pop()  # an answer ends on a word that can end a sentence
    answer = " ".join(kept).rstrip(".,;:!?-") + "."
    if repeat:  # a small model's answer: one sentence again and again, then cut off
        answer = " ".join([answer] * 3) + " " + answer[: len(answer) // 2].rstrip()
    return {"question": f"What is said about {words[(digest + i) % len(words)]} ({i})?", "answer": answer}


class MaterialLLM(ScriptedLLM):
    """A :class:`ScriptedLLM` answering with :func:`material_answers` (``bad``, ``garbage`` as there)."""

    def __init__(
        self, cache: RequestCache | None, *, window: int = 8192, garbage: bool = False, bad: str = ""
    ) -> None:
        super().__init__("test", material_answers(bad=bad, garbage=garbage), cache=cache, window=window)
