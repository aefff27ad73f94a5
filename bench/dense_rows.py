"""NExtLong rows mined by ``bm25``, ``dense`` and ``hybrid`` retrieval on the demo corpus, side by side.

    python bench/dense_rows.py                      # 4 nextlong-64k rows per retriever
    python bench/dense_rows.py --rows 2 --no-dependency

For each retriever: rows/s, the hardness report (mean BM25 score and mean embedding cosine of the chosen
negatives vs random chunks of other documents, near-copy share; every run reports cosines,
``hardness_cosine: true``) and the long-range dependency score of the rows (``litelong_hf.evaluation``,
as ``litelong-hf eval quality`` computes it: the embedded SmolLM2, nats/token) next to ``random-concat``
rows of the same corpus and length. Exit 1 when the dense negatives' cosine hardness (mean cosine minus
that of the random chunks) is below 1.2x BM25's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

RETRIEVERS = ("bm25", "dense", "hybrid")
GOAL = 1.2


def _rows(
    retriever: str, rows: int, target: int, cache_dir: str
) -> tuple[list[dict[str, Any]], dict[str, Any], float]:
    from litelong_hf.pipeline import shard_rows
    from litelong_hf.presets import make_config
    from litelong_hf.report import RunReport
    from litelong_hf.strategies import make_strategy
    from litelong_hf.strategies.nextlong import load_resources

    config = make_config(
        "nextlong-64k", retriever=retriever, hardness_cosine=True, target_tokens=target, cache_dir=cache_dir
    )
    load_resources(config)  # vectors and indexes are built (once) outside the timed part
    report = RunReport()
    strategy = make_strategy(config)
    start = time.perf_counter()
    made = [dict(r) for r in shard_rows(strategy, 0, 1, report, rows)]
    seconds = time.perf_counter() - start
    return made, strategy.summarize(report)["hardness"], seconds


def _dependency(texts_by_set: dict[str, list[str]], window: int) -> dict[str, float | None]:
    from litelong_hf.evaluation.dependency import DependencyConfig, dependency_gain, make_lm

    config = DependencyConfig(window=window)
    lm = make_lm("embedded", config.window)
    out: dict[str, float | None] = {}
    for name, texts in texts_by_set.items():
        result = dependency_gain(lm, texts, config)
        out[name] = None if result.gain is None else round(result.gain, 4)
    return out


def _margin(hardness: dict[str, Any]) -> float | None:
    """Cosine hardness: mean cosine of the negatives minus that of random chunks (embeddings are anisotropic:
    unrelated chunks are far from cosine 0, so the margin, not the raw mean, is what a retriever adds)."""
    negative, random = hardness.get("negative_mean_cosine"), hardness.get("random_mean_cosine")
    return None if negative is None or random is None else float(negative) - float(random)


def _fmt(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4, help="nextlong-64k rows per retriever")
    parser.add_argument("--target", type=int, default=65_536, help="tokens per row")
    parser.add_argument("--cache-dir", default=None, help="reuse a cache (vectors, indexes) across runs")
    parser.add_argument("--no-dependency", action="store_true", help="skip the LM dependency score")
    parser.add_argument("--window", type=int, default=2048, help="dependency window (LM tokens)")
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELONG_HF_NO_PROGRESS", "1")
    with tempfile.TemporaryDirectory(prefix="litelong-dense-rows-") as scratch:
        cache = args.cache_dir or scratch
        results: dict[str, tuple[list[dict[str, Any]], dict[str, Any], float]] = {}
        for retriever in RETRIEVERS:
            results[retriever] = _rows(retriever, args.rows, args.target, cache)
        dependency: dict[str, float | None] = {}
        if not args.no_dependency:
            from litelong_hf.corpus import CorpusConfig
            from litelong_hf.evaluation.quality import strategy_baseline_rows

            texts = {r: [row["text"] for row in rows] for r, (rows, _, _) in results.items()}
            base = strategy_baseline_rows(CorpusConfig(), args.rows, args.target, "llama-3", 0)
            texts["random-concat"] = [v.text for v in base]
            dependency = _dependency(texts, args.window)
    print(f"\n== nextlong-{args.target // 1024}k on the demo corpus, {args.rows} rows per retriever ==")
    print(
        "| retriever | rows/s | BM25 negatives / random | cosine negatives / random | cosine ratio "
        "| near-copy share | dependency (nats/token) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for retriever, (rows, h, seconds) in results.items():
        ratio = (
            h["negative_mean_cosine"] / h["random_mean_cosine"]
            if h.get("negative_mean_cosine") is not None and h.get("random_mean_cosine")
            else None
        )
        print(
            f"| {retriever} | {len(rows) / seconds:.2f} | {_fmt(h['negative_mean_score'], 1)} / "
            f"{_fmt(h['random_mean_score'], 1)} | {_fmt(h['negative_mean_cosine'])} / "
            f"{_fmt(h['random_mean_cosine'])} | {_fmt(ratio, 2)} | {_fmt(h['near_copy_share'], 4)} "
            f"| {_fmt(dependency.get(retriever), 4)} |"
        )
    if dependency:
        print(f"| random-concat | – | – | – | – | – | {_fmt(dependency.get('random-concat'), 4)} |")
    dense, bm25 = (_margin(results[r][1]) for r in ("dense", "bm25"))
    times = dense / bm25 if dense is not None and bm25 else None
    ok = times is not None and times >= GOAL
    print(
        f"cosine hardness (negatives minus random chunks, same random chunks for every retriever): dense "
        f"{_fmt(dense)} vs BM25 {_fmt(bm25)} = {_fmt(times, 2)}x (goal >= {GOAL}x) {'OK' if ok else 'BELOW GOAL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
