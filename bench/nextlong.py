"""Benchmark of the NExtLong strategy on the demo corpus; prints ratios measured in the same run.

    python bench/nextlong.py [--rows 60] [--rows-1m 6]

Targets (PASS/FAIL printed for each):

* ``nextlong-128k`` generation speed >= 0.3x raw tokenization of the same text, where the reference is
  ``TokenCounter.get().encode_batch`` on the texts of the rows produced, timed on each batch of 10 rows
  right after it is generated (so both sides see the same load on a shared machine).
* peak RSS while writing ``nextlong-1m`` rows <= 2 GB and flat in the number of rows (measured in a fresh
  subprocess, so the 128K run does not count; RSS after the first row vs after the last).

Also reported: chunk-pool and chunk-index build time, hardness of the mined negatives.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELONG_HF_NO_PROGRESS", "1")

TARGET_SPEED_RATIO = 0.3
TARGET_PEAK_RSS_GB = 2.0
FLAT_TOLERANCE_MB = 150.0  # RSS growth allowed between the first and the last 1M row
REFERENCE_BATCH = 10  # rows per reference encode_batch call


def _config(name: str, cache_dir: str, **overrides: object) -> Any:
    from litelong_hf.presets import make_config

    return make_config(name, cache_dir=cache_dir, **overrides)


def bench_128k(rows: int, cache_dir: str) -> dict[str, Any]:
    from litelong_hf.pipeline import shard_rows
    from litelong_hf.report import RunReport
    from litelong_hf.strategies import make_strategy
    from litelong_hf.strategies.nextlong import load_resources
    from litelong_hf.tokens import TokenCounter

    counter = TokenCounter.get()
    counter.encode("warm up")
    config = _config("nextlong-128k", cache_dir, num_rows=rows)
    start = time.perf_counter()
    resources = load_resources(config)
    setup_s = time.perf_counter() - start

    strategy = make_strategy(config)
    report = RunReport()
    # The reference runs interleaved with generation, on each batch of rows just produced, so both see the
    # same load on a shared machine. Its time is not counted as generation time.
    gen_s = ref_s = 0.0
    n_rows = n_tokens = ref_tokens = 0
    batch: list[str] = []
    rows_iter = iter(shard_rows(strategy, 0, 1, report, rows))
    while True:
        start = time.perf_counter()
        row = next(rows_iter, None)
        gen_s += time.perf_counter() - start
        if row is not None:
            n_rows += 1
            n_tokens += int(row["n_tokens"])
            batch.append(row["text"])
        if batch and (row is None or len(batch) == REFERENCE_BATCH):
            start = time.perf_counter()
            reference = counter.encode_batch(batch)
            ref_s += time.perf_counter() - start
            ref_tokens += sum(len(ids) for ids in reference)
            batch = []
        if row is None:
            break
    return {
        "setup_s": setup_s,
        "chunks": float(len(resources.pool)),
        "rows": float(n_rows),
        "gen_s": gen_s,
        "rows_per_s": n_rows / gen_s,
        "tokens_per_s": n_tokens / gen_s,
        "ref_tokens_per_s": ref_tokens / ref_s,
        "hardness": report.extra.get("hardness", {}),
    }


def bench_index_build(cache_dir: str) -> dict[str, float]:
    """Pool (chunk + count tokens) and BM25 build from scratch, in a fresh cache folder."""
    from litelong_hf.corpus import load_documents
    from litelong_hf.strategies.negatives import BM25ChunkRetriever, ChunkPool
    from litelong_hf.strategies.nextlong import NExtLongConfig, chunk_index_key, mining_index_config
    from litelong_hf.tokens import TokenCounter

    config = NExtLongConfig(cache_dir=cache_dir)
    documents = load_documents(config.corpus_config())
    start = time.perf_counter()
    pool = ChunkPool.from_documents(documents, TokenCounter.get(), chunk_chars=config.chunk_chars)
    pool_s = time.perf_counter() - start
    start = time.perf_counter()
    key = chunk_index_key(config.corpus_config(), config.chunk_chars, config.split_long_lines)
    BM25ChunkRetriever.cached(
        key, pool, mining_index_config(config), cache_dir=cache_dir, show_progress=False
    )
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    BM25ChunkRetriever.cached(
        key, pool, mining_index_config(config), cache_dir=cache_dir, show_progress=False
    )
    load_s = time.perf_counter() - start
    return {"pool_s": pool_s, "build_s": build_s, "load_s": load_s, "chunks": float(len(pool))}


def rss_child(rows: int, cache_dir: str) -> None:
    """In a fresh process: write nextlong-1m rows to parquet, print RSS after each row as JSON lines."""
    import psutil
    import pyarrow.parquet as pq

    from litelong_hf.pipeline import shard_rows
    from litelong_hf.report import RunReport
    from litelong_hf.rows import PRETRAINING_SCHEMA, pretraining_table
    from litelong_hf.strategies import make_strategy

    process = psutil.Process()
    config = _config("nextlong-1m", cache_dir, num_rows=rows)
    strategy = make_strategy(config)
    out = Path(cache_dir) / "rss-1m.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with pq.ParquetWriter(out, PRETRAINING_SCHEMA, compression="zstd") as writer:
        for n, row in enumerate(shard_rows(strategy, 0, 1, RunReport(), rows), 1):
            assert int(row["n_tokens"]) == len(row["input_ids"]) == 1_048_576
            writer.write_table(pretraining_table(row), row_group_size=1)
            del row
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                json.dumps(
                    {
                        "row": n,
                        "rss_mb": process.memory_info().rss / 2**20,
                        "peak_mb": peak_mb,
                        "elapsed_s": time.perf_counter() - start,
                    }
                ),
                flush=True,
            )


def bench_rss(rows: int, cache_dir: str) -> list[dict[str, float]]:
    proc = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(rows), "--cache-dir", cache_dir],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"1M RSS child failed:\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


_FAILURES: list[str] = []


def _verdict(ok: bool, name: str = "") -> str:
    """PASS or FAIL; a FAIL is remembered so the run exits 1 at the end."""
    if not ok:
        _FAILURES.append(name or "target")
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=60, help="nextlong-128k rows to time")
    parser.add_argument(
        "--rows-1m", type=int, default=6, help="nextlong-1m rows written in the RSS subprocess"
    )
    parser.add_argument("--rss-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.cache_dir)
        return

    with tempfile.TemporaryDirectory(prefix="nextlong-bench-") as tmp:
        build = bench_index_build(str(Path(tmp) / "build"))
        print("== chunk pool and index (demo corpus, fresh cache) ==")
        print(f"chunks: {build['chunks']:.0f}")
        print(f"chunk + count tokens: {build['pool_s']:.2f} s")
        print(
            f"chunk index build + save: {build['build_s']:.2f} s   (mmap load afterwards: {build['load_s']:.3f} s)"
        )

        cache = str(Path(tmp) / "run")
        speed = bench_128k(args.rows, cache)
        ratio = speed["tokens_per_s"] / speed["ref_tokens_per_s"]
        print("\n== nextlong-128k on the demo corpus ==")
        print(f"setup (corpus, pool, index) before the first row: {speed['setup_s']:.2f} s")
        print(f"rows: {speed['rows']:.0f} in {speed['gen_s']:.2f} s -> {speed['rows_per_s']:.2f} rows/s")
        print(f"tokens/s: {speed['tokens_per_s']:,.0f}")
        print(
            f"reference encode_batch on the same texts (interleaved, {REFERENCE_BATCH} rows per call): "
            f"{speed['ref_tokens_per_s']:,.0f} tokens/s"
        )
        print(
            f"ratio: {ratio:.2f}x (target >= {TARGET_SPEED_RATIO}x)  {_verdict(ratio >= TARGET_SPEED_RATIO, 'speed')}"
        )
        print(f"hardness: {json.dumps(speed['hardness'])}")

        samples = bench_rss(args.rows_1m, cache)  # reuses the chunk index built above
        print(
            "\n== nextlong-1m peak RSS (fresh subprocess: corpus, pool, mmap index, rows written to parquet) =="
        )
        for s in samples:
            print(
                f"after row {s['row']:.0f}: rss {s['rss_mb']:.0f} MB, peak {s['peak_mb']:.0f} MB, {s['elapsed_s']:.1f} s"
            )
        if not samples:
            print(f"no 1M row was produced  {_verdict(False, '1M row')}")
            sys.exit(1)
        peak_gb = max(s["peak_mb"] for s in samples) / 1024
        # Flat: neither the peak nor the current RSS grows from the first row to the last.
        growth = max(
            samples[-1]["peak_mb"] - samples[0]["peak_mb"],
            max(s["rss_mb"] for s in samples) - samples[0]["rss_mb"],
        )
        print(
            f"peak RSS: {peak_gb:.2f} GB (target <= {TARGET_PEAK_RSS_GB} GB)  {_verdict(peak_gb <= TARGET_PEAK_RSS_GB, 'peak RSS')}"
        )
        print(
            f"RSS growth from row 1 to row {len(samples)} (peak or current): {growth:.0f} MB "
            f"(flat: <= {FLAT_TOLERANCE_MB:.0f} MB)  {_verdict(len(samples) > 1 and growth <= FLAT_TOLERANCE_MB, 'flat RSS')}"
        )
    if _FAILURES:
        print(f"FAILED targets: {', '.join(_FAILURES)}")
        sys.exit(1)
    print("all targets met")


if __name__ == "__main__":
    main()
