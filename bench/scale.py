"""Scale benchmark (issue 12): a corpus of >= 500,000 synthetic news-like documents (>= 600 MB of text).

The corpus is generated here, seeded, from the sentences of the bundled demo articles (each document mixes
sentences of one outlet, so BM25 has real neighbours), as parquet files; a corpus 10x smaller is made the
same way. Every measured step runs in a fresh subprocess so its peak RSS is its own. Targets (exit 1 on any
miss):

* sharded BM25 index build (from the disk-backed store) vs plain bm25s tokenizing and indexing the same
  texts in one process: >= 0.7x its speed;
* peak RSS of the index build <= 3 GB;
* peak RSS of ``nextlong-128k`` generating 4 rows with the memory-mapped chunk index <= 1.5 GB, and within
  20% of the same run on the corpus 10x smaller;
* first row of ``litelong-128k`` with cached topics (a topics file) on the large corpus in <= 30 s.

Run: ``.venv/bin/python bench/scale.py`` (several minutes; ``--docs 50000`` for a quick look, which does
not meet the size the targets are defined for and therefore fails).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELONG_HF_NO_PROGRESS", "1")

MIN_DOCS = 500_000
MIN_BYTES = 600 * 10**6
TARGET_BUILD_RATIO = 0.7
TARGET_BUILD_RSS_GB = 3.0
TARGET_NEXTLONG_RSS_GB = 1.5
TARGET_NEXTLONG_GROWTH = 1.2
TARGET_FIRST_ROW_S = 30.0
PART_DOCS = 50_000
SHARD_DOCS = 100_000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------------ corpus


def make_corpus(folder: Path, n_docs: int, seed: int) -> dict[str, float]:
    """``n_docs`` documents of 3-15 sentences of one outlet's demo articles, as parquet parts."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from litelong_hf.corpus import CorpusConfig, iter_documents

    by_outlet: dict[str, list[str]] = {}
    for doc in iter_documents(CorpusConfig()):
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", doc.text) if len(s.strip()) > 20]
        by_outlet.setdefault(str(doc.meta.get("source") or "other"), []).extend(sentences)
    outlets = sorted(by_outlet)
    pools = [np.asarray(by_outlet[o], dtype=object) for o in outlets]
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    total_bytes = 0
    for start in range(0, n_docs, PART_DOCS):
        n = min(PART_DOCS, n_docs - start)
        which = rng.integers(0, len(outlets), n)
        lengths = rng.integers(3, 16, n)
        texts = []
        for o, k in zip(which.tolist(), lengths.tolist(), strict=True):
            pool = pools[o]
            texts.append(" ".join(pool[rng.integers(0, len(pool), k)].tolist()))
        total_bytes += sum(len(t.encode()) for t in texts)
        table = pa.table(
            {
                "id": [f"syn-{i:08d}" for i in range(start, start + n)],
                "text": texts,
                "source": [outlets[o] for o in which.tolist()],
            }
        )
        pq.write_table(table, folder / f"part-{start // PART_DOCS:04d}.parquet")
    return {"docs": float(n_docs), "bytes": float(total_bytes)}


# ------------------------------------------------------------------------------------------------ children


def _spec(corpus: str) -> Any:
    from litelong_hf.corpus import CorpusConfig

    return CorpusConfig(source=corpus, id_column="id")


def child_store(corpus: str, cache: str) -> dict[str, float]:
    from litelong_hf.corpus import open_store

    start = time.perf_counter()
    store = open_store(_spec(corpus), cache_dir=cache)
    return {"store_s": time.perf_counter() - start, "docs": float(len(store)), "mb": store.n_bytes / 1e6}


def child_build(corpus: str, cache: str) -> dict[str, float]:
    from litelong_hf import layout
    from litelong_hf.corpus import open_store
    from litelong_hf.index import get_or_build_index
    from litelong_hf.presets import make_config

    config = make_config("litelong-128k", corpus=corpus, id_column="id", cache_dir=cache)
    store = open_store(config.corpus_config(), cache_dir=cache)
    rss_before = _peak_mb()
    start = time.perf_counter()
    index = get_or_build_index(
        layout.document_index_key(store.fingerprint),  # LiteLong's key: its run below reuses this index
        batches=store.batches,
        config=config.index_config(),
        total=len(store),
        cache_dir=cache,
        shard_docs=SHARD_DOCS,
    )
    return {
        "build_s": time.perf_counter() - start,
        "shards": float(len(index.shards)),
        "peak_mb": _peak_mb(),
        "rss_before_mb": rss_before,
    }


def child_reference(corpus: str, cache: str) -> dict[str, float]:
    """Plain bm25s, one process: the same tokenizer settings, then ``BM25.index`` over every document."""
    import bm25s

    from litelong_hf.corpus import open_store
    from litelong_hf.index import make_term_tokenizer
    from litelong_hf.presets import make_config

    config = make_config("litelong-128k", corpus=corpus, id_column="id", cache_dir=cache)
    store = open_store(config.corpus_config(), cache_dir=cache)
    texts = [t for _, batch in store.batches(8192) for t in batch]  # reading is not timed
    index_config = config.index_config()
    start = time.perf_counter()
    tokenizer = make_term_tokenizer(index_config)
    ids = tokenizer.tokenize(texts, update_vocab=True, return_as="ids", show_progress=False)
    retriever = bm25s.BM25(method=index_config.method, k1=index_config.k1, b=index_config.b)
    retriever.index((ids, tokenizer.get_vocab_dict()), show_progress=False)
    return {"ref_s": time.perf_counter() - start, "peak_mb": _peak_mb()}


def _rss_parts() -> dict[str, float]:
    """Current anonymous and file-backed resident memory (MB), from /proc (Linux)."""
    out: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                out[key] = float(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def child_nextlong(corpus: str, cache: str, rows: int) -> dict[str, float]:
    from litelong_hf.pipeline import shard_rows
    from litelong_hf.presets import make_config
    from litelong_hf.report import RunReport
    from litelong_hf.strategies import make_strategy

    config = make_config("nextlong-128k", corpus=corpus, id_column="id", cache_dir=cache, num_rows=rows)
    report = RunReport()
    start = time.perf_counter()
    made = list(shard_rows(make_strategy(config), 0, 1, report, rows))
    return {
        "rows": float(len(made)),
        "tokens": float(sum(len(r["input_ids"]) for r in made)),
        "s": time.perf_counter() - start,
        "peak_mb": _peak_mb(),
        **_rss_parts(),
    }


def child_litelong(corpus: str, cache: str, topics: str) -> dict[str, float]:
    start = time.perf_counter()
    from litelong_hf.pipeline import shard_rows
    from litelong_hf.presets import make_config
    from litelong_hf.report import RunReport
    from litelong_hf.strategies import make_strategy

    config = make_config(
        "litelong-128k",
        corpus=corpus,
        id_column="id",
        cache_dir=cache,
        topics_file=topics,
        categories=["POL"],
        max_subcategories=2,
        num_rows=1,
    )
    report = RunReport()
    row = next(iter(shard_rows(make_strategy(config), 0, 1, report, 1)))
    return {
        "first_row_s": time.perf_counter() - start,
        "tokens": float(len(row["input_ids"])),
        "peak_mb": _peak_mb(),
    }


def child_ingest(corpus: str, cache: str, num_proc: str) -> dict[str, float]:
    """Store + document index of a corpus from an empty cache, with ``num_proc`` workers (issue 21)."""
    from litelong_hf import layout
    from litelong_hf.corpus import open_store
    from litelong_hf.index import get_or_build_index
    from litelong_hf.ingest import build_settings
    from litelong_hf.presets import make_config

    config = make_config("litelong-128k", corpus=corpus, id_column="id", cache_dir=cache)
    start = time.perf_counter()
    with build_settings(num_proc=int(num_proc)):
        store = open_store(config.corpus_config(), cache_dir=cache)
        stored = time.perf_counter()
        index = get_or_build_index(
            layout.document_index_key(store.fingerprint),
            batches=store.batches,
            config=config.index_config(),
            total=len(store),
            cache_dir=cache,
        )
    hits = index.search(["election campaign voters", "health care bill"], k=10)
    return {
        "store_s": stored - start,
        "build_s": time.perf_counter() - start,
        "peak_mb": _peak_mb(),
        "children_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "hits": float(sum(len(h) for h in hits)),
        "hit_sum": float(sum(x.score for h in hits for x in h)),
    }


def child_generate(corpus: str, cache: str, rows: str) -> dict[str, float]:
    """A whole first ``generate nextlong-64k`` (ingest, chunk pool, chunk index, rows) from an empty cache."""
    from litelong_hf.run import generate

    start = time.perf_counter()
    run = generate("nextlong-64k", corpus=corpus, id_column="id", cache_dir=cache, num_rows=int(rows))
    return {
        "s": time.perf_counter() - start,
        "rows": float(len(run.dataset)),
        "peak_mb": _peak_mb(),
        "children_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


CHILDREN = {"store": child_store, "build": child_build, "reference": child_reference}
TARGET_PARALLEL_RATIO = 1.6
TARGET_GENERATE_RSS_GB = 1.5
TARGET_GENERATE_GROWTH = 1.15
MEMORY_DOCS = 200_000
MEMORY_LARGE_DOCS = 2_000_000


def run_child(name: str, *args: str, timeout: int = 3600) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {name} failed:\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------------------------------ main

_FAILURES: list[str] = []


def check(name: str, value: float, target: float, *, higher_is_better: bool, unit: str) -> None:
    ok = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    print(
        f"  {'PASS' if ok else 'FAIL'}  {name}: {value:,.2f}{unit} (target {sign} {target:,.2f}{unit})",
        flush=True,
    )
    if not ok:
        _FAILURES.append(name)


def write_topics(path: Path) -> None:
    from litelong_hf.layout import write_topics as write
    from litelong_hf.taxonomy import load_taxonomy, select_entries

    entries = select_entries(load_taxonomy("bisac"), top_categories=["POL"])  # whichever 2 the run picks
    titles = [
        "Election campaign and voters",
        "Congress debates health care bill",
        "Immigration policy and courts",
    ]
    write(path, [{"top": e.top, "sub": e.sub, "title": t} for e in entries for t in titles])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=MIN_DOCS, help="documents of the large corpus")
    parser.add_argument("--rows", type=int, default=4, help="nextlong-128k rows per run")
    parser.add_argument(
        "--workdir", default=None, help="folder for the corpora and caches (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--only",
        default="scale,parallel,memory",
        help="sections to run: scale (issue 12's targets), parallel (build ratio), memory (generate RSS)",
    )
    parser.add_argument("--memory-docs", type=int, default=MEMORY_DOCS, help="documents of the memory corpus")
    parser.add_argument(
        "--memory-large-docs",
        type=int,
        default=MEMORY_LARGE_DOCS,
        help="documents of the large memory corpus",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "ingest":
            result = child_ingest(args.rest[0], args.rest[1], args.rest[2])
        elif args.child == "generate":
            result = child_generate(args.rest[0], args.rest[1], args.rest[2])
        elif args.child == "nextlong":
            result = child_nextlong(args.rest[0], args.rest[1], int(args.rest[2]))
        elif args.child == "litelong":
            result = child_litelong(args.rest[0], args.rest[1], args.rest[2])
        else:
            result = CHILDREN[args.child](args.rest[0], args.rest[1])
        print(json.dumps(result))
        return

    work = Path(args.workdir or tempfile.mkdtemp(prefix="litelong-scale-"))
    sections = set(args.only.split(","))
    try:
        if "scale" in sections:
            _bench(work, args.docs, args.rows)
        if "parallel" in sections:
            _bench_parallel(work, args.memory_docs)
        if "memory" in sections:
            _bench_memory(work, args.memory_docs, args.memory_large_docs)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if _FAILURES:
        print(f"FAILED targets: {', '.join(_FAILURES)}")
        sys.exit(1)
    print("all targets met")


def _bench(work: Path, n_docs: int, rows: int) -> None:
    large, small = work / "large", work / "small"
    start = time.perf_counter()
    made = make_corpus(large, n_docs, seed=0)
    made_small = make_corpus(small, n_docs // 10, seed=1)
    print(f"== corpora (generated in {time.perf_counter() - start:.0f} s) ==")
    print(f"large: {made['docs']:,.0f} documents, {made['bytes'] / 1e6:,.0f} MB of text")
    print(f"small: {made_small['docs']:,.0f} documents, {made_small['bytes'] / 1e6:,.0f} MB of text")
    check("large corpus documents", made["docs"], MIN_DOCS, higher_is_better=True, unit="")
    check("large corpus text", made["bytes"] / 1e6, MIN_BYTES / 1e6, higher_is_better=True, unit=" MB")
    large_glob, small_glob = str(large / "*.parquet"), str(small / "*.parquet")
    cache, cache_small = str(work / "cache"), str(work / "cache-small")

    store = run_child("store", large_glob, cache)
    print(
        f"\n== document store (read once, memory-mapped) ==\nlarge: {store['docs']:,.0f} docs in {store['store_s']:.1f} s"
    )
    run_child("store", small_glob, cache_small)

    build = run_child("build", large_glob, cache)
    reference = run_child("reference", large_glob, cache)
    print("\n== BM25 index of the large corpus ==")
    print(
        f"sharded build: {build['build_s']:.1f} s, {build['shards']:.0f} shards, peak RSS {build['peak_mb']:,.0f} MB"
    )
    print(
        f"plain bm25s (tokenize + index, one process): {reference['ref_s']:.1f} s, peak RSS {reference['peak_mb']:,.0f} MB"
    )
    check(
        "build speed vs plain bm25s",
        reference["ref_s"] / build["build_s"],
        TARGET_BUILD_RATIO,
        higher_is_better=True,
        unit="x",
    )
    check(
        "index build peak RSS",
        build["peak_mb"] / 1024,
        TARGET_BUILD_RSS_GB,
        higher_is_better=False,
        unit=" GB",
    )

    print("\n== nextlong-128k, 4 rows (chunk index built by a first run, then a measured run) ==")
    for glob, folder in ((small_glob, cache_small), (large_glob, cache)):
        run_child("nextlong", glob, folder, str(rows))  # builds the chunk index once
    small_run = run_child("nextlong", small_glob, cache_small, str(rows))
    large_run = run_child("nextlong", large_glob, cache, str(rows))
    for name, r in (("small", small_run), ("large", large_run)):
        print(
            f"{name}: {r['rows']:.0f} rows, {r['tokens']:,.0f} tokens in {r['s']:.1f} s, peak RSS {r['peak_mb']:,.0f} MB "
            f"(at the end: {r.get('RssAnon', 0):,.0f} MB anonymous, {r.get('RssFile', 0):,.0f} MB file-backed)"
        )
    check(
        "nextlong peak RSS (large corpus)",
        large_run["peak_mb"] / 1024,
        TARGET_NEXTLONG_RSS_GB,
        higher_is_better=False,
        unit=" GB",
    )
    check(
        "nextlong peak RSS large / small corpus",
        large_run["peak_mb"] / small_run["peak_mb"],
        TARGET_NEXTLONG_GROWTH,
        higher_is_better=False,
        unit="x",
    )

    topics = work / "topics.jsonl"
    write_topics(topics)
    first = run_child("litelong", large_glob, cache, str(topics))
    print("\n== litelong-128k first row, topics file, large corpus (store and index cached) ==")
    print(
        f"first row ({first['tokens']:,.0f} tokens) after {first['first_row_s']:.1f} s, peak RSS {first['peak_mb']:,.0f} MB"
    )
    check("litelong first row", first["first_row_s"], TARGET_FIRST_ROW_S, higher_is_better=False, unit=" s")


def _corpus(work: Path, n_docs: int, seed: int) -> str:
    """The seeded corpus of ``n_docs`` documents under ``work`` (generated once, reused by a later run)."""
    folder = work / f"corpus-{n_docs}-{seed}"
    if not (folder / "done").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        made = make_corpus(folder, n_docs, seed=seed)
        (folder / "done").write_text(json.dumps(made))
    made = json.loads((folder / "done").read_text())
    print(f"corpus: {made['docs']:,.0f} documents, {made['bytes'] / 1e6:,.0f} MB of text ({folder})")
    return str(folder / "*.parquet")


def _bench_parallel(work: Path, n_docs: int) -> None:
    """Store + document index from an empty cache: one process vs 2 workers (issue 21, item 2)."""
    print("\n== parallel ingest + index build (store and document index, empty cache) ==")
    corpus = _corpus(work, n_docs, seed=2)
    runs = {}
    for procs in (1, 2):
        cache = work / f"cache-parallel-{procs}"
        shutil.rmtree(cache, ignore_errors=True)
        runs[procs] = run_child("ingest", corpus, str(cache), str(procs))
        r = runs[procs]
        print(
            f"num_proc={procs}: store {r['store_s']:.1f} s, store + index {r['build_s']:.1f} s, peak RSS "
            f"{r['peak_mb']:,.0f} MB (workers {r['children_peak_mb']:,.0f} MB)"
        )
        shutil.rmtree(cache, ignore_errors=True)
    same = runs[1]["hits"] == runs[2]["hits"] and runs[1]["hit_sum"] == runs[2]["hit_sum"]
    print(f"same search results: {same}")
    if not same:
        _FAILURES.append("parallel build results")
    check(
        "parallel build speed-up (2 workers)",
        runs[1]["build_s"] / runs[2]["build_s"],
        TARGET_PARALLEL_RATIO,
        higher_is_better=True,
        unit="x",
    )


def _bench_memory(work: Path, n_docs: int, large_docs: int) -> None:
    """Peak RSS of a whole first generate on two corpus sizes (issue 21, item 3)."""
    print("\n== whole first generate nextlong-64k --num-rows 2 (ingest, chunk pool, chunk index, rows) ==")
    peaks = []
    sizes = [(n_docs, 2)] + ([(large_docs, 3)] if large_docs > 0 else [])  # 0: the small corpus only
    for docs, seed in sizes:
        corpus = _corpus(work, docs, seed=seed)
        cache = work / f"cache-generate-{docs}"
        shutil.rmtree(cache, ignore_errors=True)
        r = run_child("generate", corpus, str(cache), "2", timeout=4 * 3600)
        shutil.rmtree(cache, ignore_errors=True)
        peak = max(r["peak_mb"], r["children_peak_mb"])
        peaks.append(peak)
        print(f"{docs:,} docs: {r['rows']:.0f} rows in {r['s']:.0f} s, peak RSS {peak:,.0f} MB")
    check("generate peak RSS", peaks[0] / 1024, TARGET_GENERATE_RSS_GB, higher_is_better=False, unit=" GB")
    if len(peaks) < 2:
        _FAILURES.append("generate peak RSS on the large corpus (not run: --memory-large-docs 0)")
        return
    check(
        "generate peak RSS large / small corpus",
        peaks[1] / peaks[0],
        TARGET_GENERATE_GROWTH,
        higher_is_better=False,
        unit="x",
    )


if __name__ == "__main__":
    main()
