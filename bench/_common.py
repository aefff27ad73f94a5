"""Small helpers shared by the benchmarks: best-of-N timing, peak RSS, and PASS/FAIL lines."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("LITELONG_HF_NO_PROGRESS", "1")


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Fastest wall time of ``repeat`` calls, and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def best_of_interleaved(fns: dict[str, Callable[[], Any]], repeat: int = 5) -> dict[str, tuple[float, Any]]:
    """Best wall time of each function, alternating between them so background load hits all alike."""
    best: dict[str, tuple[float, Any]] = {name: (float("inf"), None) for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
            if elapsed < best[name][0]:
                best[name] = (elapsed, result)
    return best


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_failures: list[str] = []


def check(name: str, value: float, target: float, *, higher_is_better: bool = True, unit: str = "x") -> None:
    ok = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    print(f"  {'PASS' if ok else 'FAIL'}  {name}: {value:,.2f}{unit} (target {sign} {target:,.2f}{unit})")
    if not ok:
        _failures.append(name)


def finish() -> None:
    if _failures:
        print(f"FAILED targets: {', '.join(_failures)}")
        sys.exit(1)
    print("all targets met")
