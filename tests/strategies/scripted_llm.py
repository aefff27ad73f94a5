"""A scripted LLM for debate tests: a real :class:`ChatLLM` (cache, parsing, counters) whose backend answers
from a Python function instead of a model, and records every request it was sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from litelong_hf.llm import ChatLLM, ChatRequest, RawCompletion

Answer = Callable[[str, ChatRequest], Any]
"""``(user prompt, request) -> answer``: a str is sent as is, anything else as JSON."""


class ScriptedLLM(ChatLLM):
    """Answers each request with ``answer(prompt, request)``; ``requests`` holds every request sent."""

    def __init__(self, name: str, answer: Answer) -> None:
        super().__init__(cache=None)
        self.name = name
        self.answer = answer
        self.requests: list[ChatRequest] = []

    @property
    def model_id(self) -> str:
        return f"scripted/{self.name}"

    @property
    def context_window(self) -> int:
        return 8192

    @property
    def max_concurrency(self) -> int:
        return 4

    async def _complete(self, request: ChatRequest) -> RawCompletion:
        self.requests.append(request)
        prompt = str(request.messages[-1]["content"])
        value = self.answer(prompt, request)
        text = value if isinstance(value, str) else json.dumps(value)
        return RawCompletion(text, prompt_tokens=len(prompt) // 4, completion_tokens=len(text) // 4)

    def prompts(self) -> list[str]:
        """The user prompt of every request sent, in order."""
        return [str(r.messages[-1]["content"]) for r in self.requests]


def step_of(prompt: str) -> str:
    """Which debate step a prompt of the packaged ``litelong_v1`` set belongs to."""
    if prompt.startswith("You are the judge"):
        return "judge"
    if prompt.startswith("Another model proposed"):
        return "critique"
    return "generate"
