"""Run the suite with a runner, score it, and write it out: JSON, a markdown table, a length x depth heatmap.

Per-sample scores come from the pure functions of :mod:`.scoring`; every aggregate (task x length) is
computed by the packaged ``evaluate`` metric modules, loaded once per process.

Result JSON (``results.json``)::

    {"model": ..., "tokenizer": ..., "suite": {SuiteConfig fields},
     "scores": {task: {length: percent}}, "average": {length: percent}, "overall": percent,
     "heatmap": {length: {depth: percent}},          # NIAH/passkey/vt samples only
     "samples": [{id, task, length, depth, prediction, answers, score, needle_depths}, ...]}
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..layout import atomic_path, atomic_write_json, atomic_write_text
from .ruler import Sample, SuiteConfig
from .runners import Runner
from .scoring import compute_metric, score_sample


class ResultError(ValueError):
    """A result file is missing or not a suite result; the message names the file."""


@dataclass
class SuiteResult:
    """Scores of one model on one suite."""

    model: str
    tokenizer: str
    suite: dict[str, Any]
    samples: list[dict[str, Any]]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    average: dict[str, float] = field(default_factory=dict)
    overall: float = 0.0
    heatmap: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, path: str | Path) -> SuiteResult:
        file = Path(path)
        if file.is_dir():
            file = file / "results.json"
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except FileNotFoundError:
            raise ResultError(
                f"{file} does not exist; write one with `litelong-hf eval ruler --out DIR`"
            ) from None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ResultError(f"{file} is not a suite result ({type(exc).__name__}: {exc})") from None


def run_suite(
    runner: Runner,
    samples: Iterable[Sample],
    config: SuiteConfig,
    *,
    batch_size: int = 8,
    progress: Callable[[int], None] | None = None,
) -> SuiteResult:
    """Answer every sample with ``runner`` and score it."""
    records: list[dict[str, Any]] = []
    batch: list[Sample] = []

    def flush() -> None:
        predictions = runner.generate(batch)
        for sample, prediction in zip(batch, predictions, strict=True):
            records.append(
                {
                    "id": sample.id,
                    "task": sample.task,
                    "length": sample.length,
                    "depth": sample.depth,
                    "metric": sample.metric,
                    "prediction": prediction,
                    "answers": sample.answers,
                    "score": score_sample(sample.metric, prediction, sample.answers),
                    "needle_depths": sample.needle_depths,
                }
            )
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for sample in samples:
        batch.append(sample)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    suite = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    return summarize(SuiteResult(runner.name, runner.tokenizer.name, suite, records))


def summarize(result: SuiteResult) -> SuiteResult:
    """Fill the aggregates of ``result`` from its samples (percentages, through the ``evaluate`` modules)."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for record in result.samples:
        groups[(record["task"], record["length"])].append(record)
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for (task, length), records in sorted(groups.items()):
        metric = records[0]["metric"]
        scores[task][str(length)] = compute_metric(
            metric, [r["prediction"] for r in records], [r["answers"] for r in records]
        )
    result.scores = dict(scores)
    lengths = sorted({length for _, length in groups})
    result.average = {
        str(n): round(sum(s[str(n)] for s in scores.values() if str(n) in s) / max(1, len(scores)), 2)
        for n in lengths
    }
    result.overall = round(sum(result.average.values()) / max(1, len(result.average)), 2)
    cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in result.samples:
        if record["depth"] is not None:
            cells[str(record["length"])][f"{record['depth']:g}"].append(100 * record["score"])
    result.heatmap = {
        n: {d: round(sum(v) / len(v), 2) for d, v in sorted(row.items(), key=lambda kv: float(kv[0]))}
        for n, row in sorted(cells.items(), key=lambda kv: int(kv[0]))
    }
    return result


# ------------------------------------------------------------------------------------------------ output


def _length_label(n: int | str) -> str:
    value = int(n)
    return f"{value // 1024}K" if value % 1024 == 0 else str(value)


def markdown_table(result: SuiteResult) -> str:
    """Tasks as rows, lengths as columns, scores in percent; the average and overall last."""
    lengths = sorted({int(n) for row in result.scores.values() for n in row})
    head = "| task | " + " | ".join(_length_label(n) for n in lengths) + " |"
    lines = [
        f"**{result.model}** (tokenizer `{result.tokenizer}`, overall {result.overall:.1f})",
        "",
        head,
        "|---|" + "---:|" * len(lengths),
    ]
    for task, row in result.scores.items():
        cells = [f"{row[str(n)]:.1f}" if str(n) in row else "" for n in lengths]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    lines.append("| **average** | " + " | ".join(f"{result.average[str(n)]:.1f}" for n in lengths) + " |")
    return "\n".join(lines) + "\n"


def compare_table(a: SuiteResult, b: SuiteResult) -> str:
    """Two results side by side: ``a``, ``b`` and ``b - a`` per task and length."""
    lengths = sorted({int(n) for r in (a, b) for row in r.scores.values() for n in row})
    tasks = list(dict.fromkeys([*a.scores, *b.scores]))
    lines = [
        f"A = **{a.model}**, B = **{b.model}**",
        "",
        "| task | " + " | ".join(f"{_length_label(n)} A | B | Δ" for n in lengths) + " |",
        "|---|" + "---:|---:|---:|" * len(lengths),
    ]

    def cell(result: SuiteResult, task: str, n: int) -> float | None:
        return result.scores.get(task, {}).get(str(n))

    def fmt(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    for task in [*tasks, "average"]:
        parts = []
        for n in lengths:
            if task == "average":
                x, y = a.average.get(str(n)), b.average.get(str(n))
            else:
                x, y = cell(a, task, n), cell(b, task, n)
            delta = f"{y - x:+.1f}" if x is not None and y is not None else ""
            parts.append(f"{fmt(x)} | {fmt(y)} | {delta}")
        name = "**average**" if task == "average" else task
        lines.append(f"| {name} | " + " | ".join(parts) + " |")
    lines.append("")
    lines.append(f"overall: A {a.overall:.1f}, B {b.overall:.1f} ({b.overall - a.overall:+.1f})")
    return "\n".join(lines) + "\n"


def save_heatmap(results: Sequence[SuiteResult], path: str | Path) -> None:
    """A PNG with one length x depth heatmap per result (side by side when comparing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4), squeeze=False)
    image = None
    for ax, result in zip(axes[0], results, strict=True):
        lengths = sorted(result.heatmap, key=int)
        depths = sorted({d for row in result.heatmap.values() for d in row}, key=float)
        grid = np.full((len(depths), len(lengths)), np.nan)
        for j, n in enumerate(lengths):
            for i, d in enumerate(depths):
                if d in result.heatmap[n]:
                    grid[i, j] = result.heatmap[n][d]
        image = ax.imshow(grid, vmin=0, vmax=100, cmap="RdYlGn", aspect="auto")
        ax.set_xticks(range(len(lengths)), [_length_label(n) for n in lengths])
        ax.set_yticks(range(len(depths)), [f"{float(d):.0%}" for d in depths])
        ax.set_xlabel("length (tokens)")
        ax.set_ylabel("needle depth")
        ax.set_title(result.model[-40:], fontsize=9)
        for i in range(len(depths)):
            for j in range(len(lengths)):
                if not np.isnan(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes[0].tolist(), label="score (%)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def write_outputs(result: SuiteResult, out: str | Path, compare: SuiteResult | None = None) -> list[Path]:
    """``results.json``, ``results.md`` and ``heatmap.png`` in ``out`` (plus ``compare.md`` with ``compare``)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "results.json", folder / "results.md", folder / "heatmap.png"]
    atomic_write_json(written[0], result.to_dict())
    atomic_write_text(written[1], markdown_table(result))
    save_heatmap([compare, result] if compare is not None else [result], written[2])
    if compare is not None:
        written.append(folder / "compare.md")
        atomic_write_text(written[-1], compare_table(compare, result))
    return written


def write_samples(samples: Iterable[Sample], path: str | Path) -> int:
    """The suite as JSONL (one sample per line) for other harnesses; returns the number written."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(sample.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n
