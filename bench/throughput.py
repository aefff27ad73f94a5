"""Row throughput at corpus scale (issue 21, item 1): tokens/s of row making against tiktoken.

On a seeded, generated news-like corpus of >= 200,000 documents (``bench/scale.py``'s generator), with the
document store, the document index and NExtLong's chunk pool and chunk index built first (not timed), each
config makes rows in a fresh process: ``nextlong-128k``, ``litelong-128k`` with a topics file (cached
topics, no LLM) and ``random-concat-128k``. Timed: the whole shard path of a run (``pipeline.iter_shard``:
drafts, BM25 mining or retrieval, packing, the parquet writes), after the strategy's resources are open.
The reference, in the same process right after: a plain single-threaded tiktoken ``encode_ordinary`` of
the same rows' texts. Targets (exit 1 on any miss), ratio of the two rates:

* ``nextlong-128k`` >= 0.3x, ``litelong-128k`` (cached topics) >= 0.5x, ``random-concat-128k`` >= 0.7x.

Also printed: the projected hours for 1B tokens on this machine (one process).

Run: ``.venv/bin/python bench/throughput.py`` (a few minutes the first time: the corpus, store and indexes
are built; ``--workdir DIR --keep`` reuses them on the next run). ``--docs`` below 200,000 fails by
definition.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import check, finish, peak_rss_mb

os.environ.setdefault("LITELONG_HF_NO_PROGRESS", "1")

MIN_DOCS = 200_000
TARGETS = {"nextlong-128k": 0.3, "litelong-128k": 0.5, "random-concat-128k": 0.7}
DEFAULT_ROWS = {"nextlong-128k": 16, "litelong-128k": 16, "random-concat-128k": 24}
BILLION = 10**9


def _overrides(name: str, corpus: str, cache: str, topics: str) -> dict[str, Any]:
    out: dict[str, Any] = {"corpus": corpus, "id_column": "id", "cache_dir": cache}
    if name.startswith("litelong"):
        out.update(topics_file=topics, categories=["POL"], max_subcategories=4)
    if name.startswith("random-concat"):
        # The preset's 256 documents per bundle hold ~74K tokens of these short news documents: less than
        # one 128K row, so every bundle would be left over. 4,096 fill ~9 rows each.
        out.update(documents_per_bundle=4096)
    return out


def write_topics(path: Path) -> None:
    """A topics file for the ``POL`` subcategories (several titles each): LiteLong without any LLM."""
    from litelong_hf.layout import write_topics as write
    from litelong_hf.taxonomy import load_taxonomy, select_entries

    entries = select_entries(load_taxonomy("bisac"), top_categories=["POL"])
    titles = [
        "Election campaign and voters",
        "Congress debates health care bill",
        "Immigration policy and courts",
        "Trade tariffs and the economy",
        "Climate policy and energy",
        "Foreign policy and diplomacy",
    ]
    write(path, [{"top": e.top, "sub": e.sub, "title": t} for e in entries for t in titles])


# ------------------------------------------------------------------------------------------------ children


def child_prepare(corpus: str, cache: str, topics: str) -> dict[str, float]:
    """Build (or load) everything the timed runs reuse: store, document index, chunk pool and index."""
    from litelong_hf.presets import make_config
    from litelong_hf.strategies import make_strategy

    out: dict[str, float] = {}
    for name in TARGETS:
        start = time.perf_counter()
        strategy = make_strategy(make_config(name, **_overrides(name, corpus, cache, topics)))
        strategy.num_work_items()
        if name.startswith("litelong"):
            _, docs = strategy.corpus()  # type: ignore[attr-defined]
            strategy.mean_doc_tokens(docs)  # type: ignore[attr-defined]
        out[f"{name}_s"] = time.perf_counter() - start
    out["peak_mb"] = peak_rss_mb()
    return out


def child_rows(name: str, corpus: str, cache: str, topics: str, rows: int) -> dict[str, float]:
    """Make ``rows`` rows of ``name`` through the pipeline's shard path; then the tiktoken reference."""
    import pyarrow.parquet as pq

    from litelong_hf.pipeline import iter_shard
    from litelong_hf.presets import make_config
    from litelong_hf.strategies import make_strategy
    from litelong_hf.tokens import TokenCounter

    with tempfile.TemporaryDirectory(prefix="litelong-throughput-") as shards:
        config = make_config(
            name, **_overrides(name, corpus, cache, topics), num_rows=rows, shards_dir=shards
        )
        warm = make_strategy(config)  # opens the store and indexes once per process (shared by the run)
        warm.num_work_items()
        if name.startswith("litelong"):
            warm.corpus()  # type: ignore[attr-defined]
        counter = TokenCounter.get(config.tokenizer)
        start = time.perf_counter()
        tokens = made = 0
        for table in iter_shard(config, 0):
            tokens += int(table.column("n_tokens")[0].as_py())
            made += 1
        elapsed = time.perf_counter() - start
        path = next(Path(shards).rglob("*.parquet"))
        texts = pq.read_table(path, columns=["text"]).column("text").to_pylist()
    encoding = counter._backend.encoding  # type: ignore[attr-defined]  # the plain tiktoken Encoding
    best = float("inf")
    ref_tokens = 0
    for _ in range(2):
        t0 = time.perf_counter()
        ref_tokens = sum(len(encoding.encode_ordinary(t)) for t in texts)  # one thread
        best = min(best, time.perf_counter() - t0)
    return {
        "rows": float(made),
        "tokens": float(tokens),
        "s": elapsed,
        "ref_tokens": float(ref_tokens),
        "ref_s": best,
        "peak_mb": peak_rss_mb(),
    }


def run_child(*args: str, timeout: int = 3600) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------------------------------ main


def _corpus(folder: Path, n_docs: int) -> None:
    """The generated corpus in ``folder`` (reused when a previous run left one of the same size)."""
    marker = folder / "corpus.json"
    if marker.is_file() and json.loads(marker.read_text()).get("docs") == n_docs:
        return
    from scale import make_corpus

    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    made = make_corpus(folder, n_docs, seed=0)
    marker.write_text(json.dumps({"docs": n_docs, "bytes": made["bytes"]}))
    print(
        f"corpus: {n_docs:,} documents, {made['bytes'] / 1e6:,.0f} MB in {time.perf_counter() - start:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=MIN_DOCS, help="documents of the generated corpus")
    parser.add_argument("--workdir", default=None, help="folder for the corpus and caches (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (reused by --workdir)")
    parser.add_argument("--only", action="append", choices=sorted(TARGETS), help="run only these configs")
    for name, rows in DEFAULT_ROWS.items():
        parser.add_argument(f"--rows-{name.split('-1')[0]}", type=int, default=rows, help=f"rows of {name}")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "prepare":
        print(json.dumps(child_prepare(*args.rest)))
        return
    if args.child == "rows":
        name, corpus, cache, topics, rows = args.rest
        print(json.dumps(child_rows(name, corpus, cache, topics, int(rows))))
        return
    work = Path(args.workdir or tempfile.mkdtemp(prefix="litelong-throughput-"))
    try:
        _bench(work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    finish()


def _bench(work: Path, args: argparse.Namespace) -> None:
    work.mkdir(parents=True, exist_ok=True)
    _corpus(work / "corpus", args.docs)
    check("corpus documents", args.docs, MIN_DOCS, unit="")
    corpus, cache, topics = str(work / "corpus" / "*.parquet"), str(work / "cache"), work / "topics.jsonl"
    write_topics(topics)
    prepared = run_child("prepare", corpus, cache, str(topics))
    print(
        "prepared (store, document index, chunk pool and chunk index; not timed): "
        + ", ".join(f"{k[:-2]} {v:.0f} s" for k, v in prepared.items() if k.endswith("_s"))
    )
    print(
        f"\n{'config':<20} {'rows':>4} {'tokens':>11} {'tokens/s':>10} {'tiktoken/s':>11} {'ratio':>6} {'h/1B':>6}"
    )
    results = {}
    for name in args.only or list(TARGETS):
        rows = getattr(args, f"rows_{name.split('-1')[0].replace('-', '_')}")
        r = run_child("rows", name, corpus, cache, str(topics), str(rows))
        results[name] = r
        rate, ref = r["tokens"] / r["s"], r["ref_tokens"] / r["ref_s"]
        print(
            f"{name:<20} {r['rows']:>4.0f} {r['tokens']:>11,.0f} {rate / 1e3:>9,.0f}K {ref / 1e6:>10,.2f}M "
            f"{rate / ref:>5.3f}x {BILLION / rate / 3600:>6.1f}",
            flush=True,
        )
    print()
    for name, r in results.items():
        check(
            f"{name} tokens/s vs tiktoken",
            (r["tokens"] / r["s"]) / (r["ref_tokens"] / r["ref_s"]),
            TARGETS[name],
        )


if __name__ == "__main__":
    main()
