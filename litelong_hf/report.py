"""The run report: every item that did not become a row is counted with a reason (no silent loss)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class RunReport:
    """Counts gathered while a run turns inputs into rows.

    ``skipped`` maps a kind of input (``topic``, ``document``, ``seed``, ...) to a counter of reasons, so
    ``report.skip("topic", "zero BM25 hits")`` is how a stage records what it could not use.
    ``stats`` holds free-form numbers a stage wants in the report and the dataset card
    (``topics_generated``, ``rows``, ``tokens``...); ``llm`` holds the LLM layer's counters.
    """

    config_name: str = ""
    config_hash: str = ""
    stats: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, Counter[str]] = field(default_factory=dict)
    llm: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def skip(self, kind: str, reason: str, n: int = 1) -> None:
        self.skipped.setdefault(kind, Counter())[reason] += n

    def count(self, name: str, n: int = 1) -> None:
        self.stats[name] += n

    def merge(self, other: RunReport) -> None:
        """Add another shard's counts into this one."""
        self.stats.update(other.stats)
        for kind, reasons in other.skipped.items():
            self.skipped.setdefault(kind, Counter()).update(reasons)
        for key, value in other.llm.items():
            if isinstance(value, int | float) and isinstance(self.llm.get(key, 0), int | float):
                self.llm[key] = self.llm.get(key, 0) + value
            else:
                self.llm[key] = value
        for key, value in other.extra.items():
            mine = self.extra.get(key)
            # Lists (failures, transcripts) add up across shards; other values are per-run settings.
            self.extra[key] = mine + value if isinstance(mine, list) and isinstance(value, list) else value

    def total_skipped(self, kind: str | None = None) -> int:
        kinds = [kind] if kind else list(self.skipped)
        return sum(sum(self.skipped.get(k, Counter()).values()) for k in kinds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_name": self.config_name,
            "config_hash": self.config_hash,
            "stats": dict(sorted(self.stats.items())),
            "skipped": {k: dict(sorted(v.items())) for k, v in sorted(self.skipped.items())},
            "llm": dict(sorted(self.llm.items())),
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        return cls(
            config_name=data.get("config_name", ""),
            config_hash=data.get("config_hash", ""),
            stats=Counter(data.get("stats", {})),
            skipped={k: Counter(v) for k, v in data.get("skipped", {}).items()},
            llm=dict(data.get("llm", {})),
            extra=dict(data.get("extra", {})),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> RunReport:
        return cls.from_dict(json.loads(Path(path).read_text()))


class _Usage(Protocol):
    def report_entries(self) -> Mapping[str, float]: ...


class _HasUsage(Protocol):
    @property
    def usage(self) -> _Usage: ...


class LLMMeter:
    """The one route from LLM counters to ``RunReport.llm``: :meth:`add_to` adds what each distinct LLM
    did (``usage.report_entries()``: requests, cache hits, tokens, per kind too) since the meter was made
    or last added. An LLM shared by several shards or strategies of one process is thus counted once per
    report, and roles sharing one LLM count once.

    ``since_start``: count from the LLM's first request instead of from now (a run's whole usage)."""

    def __init__(self, llms: Iterable[_HasUsage], *, since_start: bool = False) -> None:
        self._llms = list({id(llm): llm for llm in llms}.values())
        self._seen: dict[int, Mapping[str, float]] = {
            id(llm): {} if since_start else dict(llm.usage.report_entries()) for llm in self._llms
        }

    def add_to(self, report: RunReport) -> None:
        """Add the counters since the last call to ``report.llm``."""
        for llm in self._llms:
            now = dict(llm.usage.report_entries())
            before = self._seen[id(llm)]
            for name, value in now.items():
                report.llm[name] = report.llm.get(name, 0) + value - before.get(name, 0)
            self._seen[id(llm)] = now


def render_report(report: RunReport) -> Any:
    """A rich table of the report, for the end of every run."""
    from rich.table import Table

    table = Table(title=f"run report: {report.config_name} ({report.config_hash})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in sorted(report.stats.items()):
        table.add_row(name, f"{value:,}" if isinstance(value, int) else f"{value:,.3f}")
    for kind, reasons in sorted(report.skipped.items()):
        for reason, n in sorted(reasons.items()):
            table.add_row(f"[yellow]skipped {kind}[/yellow]: {reason}", f"{n:,}")
    for name, value in sorted(report.llm.items()):
        if isinstance(value, int | float):
            table.add_row(f"llm {name}", f"{value:,}" if isinstance(value, int) else f"{value:,.3f}")
    return table
