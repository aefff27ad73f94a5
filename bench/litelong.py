"""LiteLong on the demo corpus, excluding LLM time: rows/s and tokens/s of `litelong-128k` as a ratio to raw
tiktoken tokenization of the same text (target >= 0.4x); LLM requests and tokens per kept topic.

A first run debates the topics with the embedded model (filling the request cache); the timed second run
regenerates every row from cached answers, so it measures retrieval, ordering, packing and writing.
"""

from __future__ import annotations

import shutil
import tempfile
import time

from _common import check, finish

import litelong_hf
from litelong_hf.pipeline import checkpoint_root, merged_report
from litelong_hf.presets import make_config
from litelong_hf.tokens import TokenCounter

SELECTION = {"categories": ["POL"], "max_subcategories": 2, "expansion_factor": 2, "llm_max_tokens": 300}


def main() -> None:
    cache = tempfile.mkdtemp(prefix="bench-litelong-")
    try:
        start = time.perf_counter()
        litelong_hf.load("litelong-128k", cache_dir=cache, **SELECTION)
        first_s = time.perf_counter() - start
        config = make_config("litelong-128k", cache_dir=cache, **SELECTION)
        first = merged_report(config)

        # Forget the rows, keep the LLM answers and the BM25 index.
        shutil.rmtree(checkpoint_root(config))
        for path in __import__("pathlib").Path(cache).glob("litelong_hf*"):
            shutil.rmtree(path)
        start = time.perf_counter()
        ds = litelong_hf.load("litelong-128k", cache_dir=cache, **SELECTION)
        cached_s = time.perf_counter() - start
        second = merged_report(config)

        texts = list(ds["text"])
        encoding = TokenCounter.get()._backend.encoding  # type: ignore[attr-defined]  # raw tiktoken
        start = time.perf_counter()
        raw_tokens = sum(len(ids) for ids in encoding.encode_ordinary_batch(texts))
        raw_s = time.perf_counter() - start
        n_rows, n_tokens = len(ds), len(ds) * 131_072
        kept = max(1, first.stats["topics_kept"])
        print(f"litelong-128k on the demo corpus: {SELECTION}")
        print(f"  first run (debate with the embedded model + rows): {first_s:.1f} s")
        print(
            f"  LLM: {first.llm['requests']} requests, {first.llm['tokens_in']:,} tokens in, "
            f"{first.llm['tokens_out']:,} out for {first.stats['topics_kept']} kept topics: "
            f"{first.llm['requests'] / kept:.2f} requests and "
            f"{(first.llm['tokens_in'] + first.llm['tokens_out']) / kept:,.0f} tokens per kept topic"
        )
        print(
            f"  cached re-run: {n_rows} rows in {cached_s:.2f} s: {n_rows / cached_s:.2f} rows/s, "
            f"{n_tokens / cached_s / 1e6:.2f} M tok/s (LLM requests sent: {second.llm['requests']})"
        )
        print(f"  raw tiktoken on the same text: {raw_tokens / raw_s / 1e6:.2f} M tok/s")
        check("litelong tokens/s / raw tiktoken tokens/s", (n_tokens / cached_s) / (raw_tokens / raw_s), 0.4)
        check(
            "LLM requests in the cached re-run",
            float(second.llm["requests"]),
            0.0,
            higher_is_better=False,
            unit="",
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
