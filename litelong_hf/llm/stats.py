"""Counters of what the LLM layer did, and the summary table printed at the end of every run."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from litelong_hf.llm.base import ChatLLM


KIND_COUNTERS: tuple[str, ...] = (
    "requests_sent",
    "cache_hits",
    "failures",
    "context_length",
    "unparseable",
    "tokens_in",
    "tokens_out",
    "cached_tokens_in",
    "cached_tokens_out",
)
"""The counters also kept per kind of request (``ChatRequest.kind``: ``summary``, ``qa``, ``debate``...)."""

REPORT_NAMES: dict[str, str] = {"requests_sent": "requests"}
"""Counter names as they appear in ``RunReport.llm`` where they differ (``requests`` = requests sent)."""


@dataclass
class LLMStats:
    """Running totals for one LLM, also per kind of request: the one place LLM usage is counted.

    Thread-safe: backends update it from worker threads and event loops. :meth:`report_entries` turns it into
    the flat numbers of ``RunReport.llm`` (which add up across shards); ``report.LLMMeter``, the one route
    of LLM usage into a report, adds those of every distinct LLM of a run.
    """

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

    cached_tokens_in: int = 0
    """Prompt tokens of the answers served from the cache, as counted when they were first generated."""

    cached_tokens_out: int = 0
    """Completion tokens of the answers served from the cache, as counted when they were first generated."""

    busy_s: float = 0.0
    """Sum of the wall time of requests sent (overlapping requests each count in full)."""

    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    """:data:`KIND_COUNTERS` per kind of request (requests without a kind are only in the totals)."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, kind: str = "", **deltas: float) -> None:
        """Add to several counters at once, atomically: ``stats.add(requests_sent=1, tokens_in=12)``.

        With ``kind``, the counters of :data:`KIND_COUNTERS` are also added to that kind's.
        """
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)
            if kind:
                own = self.by_kind.setdefault(kind, dict.fromkeys(KIND_COUNTERS, 0))
                for name, delta in deltas.items():
                    if name in own:
                        own[name] += delta

    def merge(self, other: LLMStats) -> None:
        """Add every counter of ``other`` (another LLM, or another process's) to this one."""
        theirs, kinds = other.snapshot(), other.kinds()
        with self._lock:
            for name, value in theirs.items():
                setattr(self, name, getattr(self, name) + value)
            for kind, counters in kinds.items():
                own = self.by_kind.setdefault(kind, dict.fromkeys(KIND_COUNTERS, 0))
                for name, value in counters.items():
                    own[name] = own.get(name, 0) + value

    def snapshot(self) -> dict[str, float]:
        """A consistent copy of every total (not the per-kind counters: see :meth:`kinds`)."""
        with self._lock:
            return {
                f.name: getattr(self, f.name)
                for f in fields(self)
                if not f.name.startswith("_") and f.name != "by_kind"
            }

    def kinds(self) -> dict[str, dict[str, float]]:
        """A consistent copy of the per-kind counters."""
        with self._lock:
            return {kind: dict(counters) for kind, counters in self.by_kind.items()}

    def report_entries(self) -> dict[str, float]:
        """Flat numbers for ``RunReport.llm``; they add up when shard reports merge.

        Totals under their report names (``requests`` for requests sent, ``cache_hits``, ``retries``,
        ``tokens_in``...), plus ``calls`` (sent or cached) and ``call_tokens_in``/``call_tokens_out`` (their
        tokens, cached ones as first generated), plus ``<kind>.<name>`` for each kind of request.
        """
        totals, kinds = self.snapshot(), self.kinds()
        entries: dict[str, float] = {REPORT_NAMES.get(k, k): v for k, v in totals.items()}
        entries.update(_call_entries(totals))
        for kind, counters in sorted(kinds.items()):
            named = {REPORT_NAMES.get(k, k): v for k, v in counters.items()}
            named.update(_call_entries(counters))
            entries.update({f"{kind}.{name}": value for name, value in named.items()})
        return entries


def _call_entries(counters: Mapping[str, float]) -> dict[str, float]:
    return {
        "calls": counters["requests_sent"] + counters["cache_hits"],
        "call_tokens_in": counters["tokens_in"] + counters["cached_tokens_in"],
        "call_tokens_out": counters["tokens_out"] + counters["cached_tokens_out"],
    }


def combined_stats(llms: Mapping[str, ChatLLM] | Iterable[ChatLLM]) -> LLMStats:
    """One :class:`LLMStats` with the counts of every distinct LLM (roles sharing one LLM count once)."""
    values = llms.values() if isinstance(llms, Mapping) else llms
    total = LLMStats()
    for llm in {id(llm): llm for llm in values}.values():
        total.merge(llm.usage)
    return total


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
