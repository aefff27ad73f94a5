"""The run report: every item that did not become a row is counted with a reason (no silent loss)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
