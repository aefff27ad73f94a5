"""Counters of what the LLM layer did, and the summary table printed at the end of every run."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from litelong_hf.llm.base import ChatLLM


@dataclass
class LLMStats:
    """Running totals for one LLM. Thread-safe: backends update it from worker threads and event loops."""

    requests_sent: int = 0
    """Requests that went to the model (cache misses), counted once however many attempts they took."""

    cache_hits: int = 0
    """Requests answered from the on-disk cache without reaching the model."""

    retries: int = 0
    """Extra attempts after a retryable failure (408, 429, 5xx, timeout, dropped connection)."""

    failures: int = 0
    """Requests that produced no answer: context-length skips plus errors raised to the caller."""

    context_length: int = 0
    """Requests skipped because prompt plus ``max_tokens`` exceeded the model's window (also in failures)."""

    unparseable: int = 0
    """Answers whose text could not be parsed into the requested shape (kept with their raw text)."""

    tokens_in: int = 0
    """Prompt tokens of the requests sent (not of cache hits)."""

    tokens_out: int = 0
    """Completion tokens of the requests sent (not of cache hits)."""

    busy_s: float = 0.0
    """Sum of the wall time of requests sent (overlapping requests each count in full)."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: float) -> None:
        """Add to several counters at once, atomically: ``stats.add(requests_sent=1, tokens_in=12)``."""
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def snapshot(self) -> dict[str, float]:
        """A consistent copy of every counter."""
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


def stats_table(llms: Mapping[str, ChatLLM], title: str = "LLM requests") -> Table:
    """A rich table with one row per distinct LLM (roles sharing one LLM are listed together)."""
    grouped: dict[int, tuple[ChatLLM, list[str]]] = {}
    for role, llm in llms.items():
        grouped.setdefault(id(llm), (llm, []))[1].append(role)
    table = Table(title=title)
    for column in (
        "roles",
        "model",
        "sent",
        "cached",
        "retries",
        "failed",
        "ctx skip",
        "unparseable",
        "tok in",
        "tok out",
    ):
        table.add_column(column, justify="left" if column in ("roles", "model") else "right")
    for llm, roles in grouped.values():
        s = llm.stats()
        table.add_row(
            ", ".join(roles),
            llm.model_id,
            *(
                f"{int(s[name]):,}"
                for name in (
                    "requests_sent",
                    "cache_hits",
                    "retries",
                    "failures",
                    "context_length",
                    "unparseable",
                    "tokens_in",
                    "tokens_out",
                )
            ),
        )
    return table


def print_llm_summary(llms: Mapping[str, ChatLLM], console: Console | None = None) -> None:
    """Print :func:`stats_table` (to stderr by default, so it never mixes with data on stdout)."""
    (console or Console(stderr=True)).print(stats_table(llms))
