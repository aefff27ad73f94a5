"""Packing 1M-token rows from the demo corpus.

Targets: end-to-end tokens/s >= 0.5x raw tiktoken tokenization of the same text; peak RSS <= 1.5 GB and
flat as the number of rows grows (each size measured in a fresh process, rows written to parquet).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import check, finish, peak_rss_mb

TARGET = 1_048_576


def pieces() -> Iterator:
    from litelong_hf.corpus import CorpusConfig, load_documents
    from litelong_hf.packing import Piece

    docs = load_documents(CorpusConfig())
    # The demo corpus holds ~2.5 rows of 1M tokens: cycle it (new ids each pass) for longer runs.
    for rep in itertools.count():
        for d in docs:
            yield Piece(d.text, f"{d.id}/{rep}")


def run_child(n_rows: int) -> dict:
    """Pack ``n_rows`` rows into a parquet file; report time, tokens, RSS."""
    import pyarrow.parquet as pq

    from litelong_hf.packing import PackingConfig, RowPacker
    from litelong_hf.rows import PRETRAINING_SCHEMA, pretraining_row, pretraining_table
    from litelong_hf.tokens import TokenCounter

    counter = TokenCounter.get()
    packer = RowPacker(counter, PackingConfig(TARGET))
    texts: list[str] = []
    start = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as tmp,
        pq.ParquetWriter(Path(tmp) / "rows.parquet", PRETRAINING_SCHEMA) as w,
    ):
        for i, row in enumerate(itertools.islice(packer.pack(pieces()), n_rows)):
            w.write_table(
                pretraining_table(
                    pretraining_row(row, id=str(i), tokenizer="llama-3", strategy="bench", config_hash="x")
                ),
                row_group_size=1,
            )
            if n_rows > 1 and i < 2:
                texts.append(row.text)
    elapsed = time.perf_counter() - start
    result = {"rows": n_rows, "seconds": elapsed, "peak_rss_mb": peak_rss_mb()}
    if texts:
        # Reference: raw tiktoken on the same text, in the same process.
        encoding = counter._backend.encoding  # type: ignore[attr-defined]
        start = time.perf_counter()
        n_tok = sum(len(ids) for ids in encoding.encode_ordinary_batch(texts))
        result["raw_tok_per_s"] = n_tok / (time.perf_counter() - start)
    return result


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(run_child(int(sys.argv[2]))))
        return
    results = {}
    for n in (1, 10, 20):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True
        )
        results[n] = json.loads(out.stdout.strip().splitlines()[-1])
    ten = results[10]
    ours = ten["rows"] * TARGET / ten["seconds"]
    print(f"packing {TARGET:,}-token rows from the demo corpus (written to parquet, one row per row group)")
    print(f"  1 row:   {results[1]['seconds']:.2f} s, peak RSS {results[1]['peak_rss_mb']:.0f} MiB")
    print(f"  10 rows: {ten['seconds']:.2f} s, peak RSS {ten['peak_rss_mb']:.0f} MiB")
    print(f"  20 rows: {results[20]['seconds']:.2f} s, peak RSS {results[20]['peak_rss_mb']:.0f} MiB")
    print(
        f"  end to end: {ours / 1e6:.2f} M tok/s; raw tiktoken on the same text: {ten['raw_tok_per_s'] / 1e6:.2f} M tok/s"
    )
    check("packing / raw tiktoken tokens/s", ours / ten["raw_tok_per_s"], 0.5)
    check("peak RSS at 10 rows", ten["peak_rss_mb"], 1536, higher_is_better=False, unit=" MiB")
    # The first rows fill the tokenizer batch and allocator pools; after that RSS must not grow with rows.
    check(
        "RSS growth 10 -> 20 rows",
        results[20]["peak_rss_mb"] / ten["peak_rss_mb"],
        1.05,
        higher_is_better=False,
    )
    finish()


if __name__ == "__main__":
    main()
