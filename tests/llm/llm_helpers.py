"""Constants and helpers shared by the LLM tests (imported by name; ``conftest`` is not importable by name)."""

from __future__ import annotations

from typing import Any

from litelong_hf.llm import LLMConfig

SERVER_KEY = "sk-litelong-test-5d8f0c2e9b71"
"""The session server demands this key, so every endpoint test also checks that keys are sent (and hidden)."""

TOPIC_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            # Patterns keep a 135M model inside valid, short strings (ENVIRONMENT.md: 10/10 valid with them).
            "topic": {"type": "string", "pattern": "^[A-Z][A-Za-z ,'-]{2,50}$"},
            "explanation": {"type": "string", "pattern": "^[A-Z][A-Za-z0-9 ,;'-]{10,120}[a-z][.]$"},
        },
        "required": ["topic", "explanation"],
    },
    "minItems": 2,
    "maxItems": 3,
}
"""LiteLong's debater answer: a JSON array of {topic, explanation}."""


def topic_messages(top: str, sub: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a librarian. Answer with JSON only."},
        {
            "role": "user",
            "content": f"Propose 3 subtopics of '{sub}' within '{top}'. Answer as a JSON array of objects "
            'with keys "topic" (a short title) and "explanation" (one sentence).',
        },
    ]


def endpoint_config(url: str, **overrides: Any) -> LLMConfig:
    """A config for the test server: right key, fast backoff, short timeout."""
    settings: dict[str, Any] = {
        "endpoint": url,
        "api_key": SERVER_KEY,
        "timeout_s": 60.0,
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.2,
        **overrides,
    }
    return LLMConfig(**settings)
