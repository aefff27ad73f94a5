"""RULER-style suite generation per 1M prompt tokens vs raw tokenization of the same text.

Generation builds every sample at an exact token length (haystack sizing, needle insertion, exact-count
re-encoding, needle depth measurement). The reference is one plain ``TokenCounter.encode`` of the finished
prompts, measured in the same run. Target: generation costs at most 6x the raw tokenization.
"""

from __future__ import annotations

import time

from _common import check, finish

from litelong_hf.evaluation.ruler import SuiteConfig, generate_suite
from litelong_hf.tokens import TokenCounter

TARGET = 6.0


def main() -> None:
    counter = TokenCounter.get("llama-3")
    config = SuiteConfig(tasks=("all",), lengths=(8192, 32768), depths=(0.0, 0.25, 0.5, 0.75, 1.0), samples=1)
    list(generate_suite(SuiteConfig(tasks=("all",), lengths=(1024,), depths=(0.5,)), counter))  # warm caches
    start = time.perf_counter()
    samples = list(generate_suite(config, counter))
    generation_s = time.perf_counter() - start
    texts = [s.input for s in samples]
    start = time.perf_counter()
    tokens = sum(len(counter.encode(t)) for t in texts)
    raw_s = time.perf_counter() - start
    assert tokens == sum(s.length for s in samples)
    per_m = generation_s / tokens * 1e6
    raw_per_m = raw_s / tokens * 1e6
    print(
        f"suite: {len(samples)} samples, {tokens:,} tokens ({', '.join(map(str, config.lengths))} x all tasks)"
    )
    print(f"  generation:        {generation_s:.2f} s  ({per_m:.2f} s per 1M tokens)")
    print(f"  raw tokenization:  {raw_s:.2f} s  ({raw_per_m:.2f} s per 1M tokens)")
    check("generation / raw tokenization time", per_m / raw_per_m, TARGET, higher_is_better=False)
    finish()


if __name__ == "__main__":
    main()
