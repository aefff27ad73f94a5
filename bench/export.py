"""MDS export throughput vs writing the same rows with pyarrow.parquet, in the same run (issue 22.1): >= 0.5x.

Rows: real ``random-concat-64k`` rows (65,536 Llama-3 tokens each) generated on the demo corpus by
``litelong-hf generate`` into a temporary folder (its own cache). Measured, best of ``--repeat``
interleaved runs, all from the run directory on disk to a fresh output folder:

- ``mds``: ``litelong_hf.export.export(run, out, format="mds")``: read the shards, make the records (ids as
  uint32, ProLong ``indices`` from ``piece_lengths``, provenance), write with mosaicml-streaming's
  ``MDSWriter``, publish by rename;
- ``pyarrow.parquet`` (the reference): ``pq.write_table(pq.read_table(shard), out, row_group_size=8)``,
  a plain rewrite of the same rows (snappy, pyarrow's default);
- for information, MDS with zstd compression and our ``parquet`` and ``jsonl`` exports.

The ratio is the reference's time over MDS's (= MDS tokens/s over the reference's); the bench exits 1
below 0.5. The MDS output is read back with ``streaming.StreamingDataset`` and checked against the rows.

    .venv/bin/python bench/export.py [--rows 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from _common import best_of_interleaved, check, finish, peak_rss_mb

from litelong_hf.export import export
from litelong_hf.export.streaming_import import import_streaming

CONFIG = "random-concat-64k"
RATIO_TARGET = 0.5


def make_run(folder: Path, rows: int) -> Path:
    """``rows`` real rows of ``CONFIG`` written by the CLI into ``folder/run`` (cache in ``folder/cache``)."""
    env = dict(os.environ, LITELONG_HF_CACHE=str(folder / "cache"), LITELONG_HF_NO_PROGRESS="1")
    cli = Path(sys.executable).with_name("litelong-hf")
    made = subprocess.run(
        [str(cli), "generate", CONFIG, "--num-rows", str(rows), "--out", str(folder / "run")],
        env=env,
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        sys.exit(f"generating the rows failed:\n{made.stderr[-3000:]}")
    return folder / "run"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=16, help="rows of 65,536 tokens to export")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    streaming = import_streaming()  # imported once, outside the timings (transformers makes it ~4 s)
    with tempfile.TemporaryDirectory(prefix="bench-export-") as scratch:
        root = Path(scratch)
        run = make_run(root, args.rows)
        shards = sorted((run / "parquet").glob("*.parquet"))
        table = pq.read_table(shards)
        tokens = sum(len(ids) for ids in table.column("input_ids").to_pylist())
        size_mb = sum(p.stat().st_size for p in shards) / 1e6
        print(f"{table.num_rows} rows, {tokens:,} tokens ({size_mb:.1f} MB of parquet) from {CONFIG}")
        del table

        def fresh(name: str) -> Path:
            out = root / name
            if out.exists():
                shutil.rmtree(out)
            return out

        def reference() -> None:
            out = fresh("reference")
            out.mkdir()
            for i, shard in enumerate(shards):
                pq.write_table(pq.read_table(shard), out / f"part-{i:05d}.parquet", row_group_size=8)

        timings = best_of_interleaved(
            {
                "mds": lambda: export(run, fresh("mds"), format="mds", progress=False),
                "mds zstd": lambda: export(
                    run, fresh("mds-zstd"), format="mds", compression="zstd", progress=False
                ),
                "pyarrow.parquet": reference,
                "parquet (ours)": lambda: export(run, fresh("parquet"), format="parquet", progress=False),
                "jsonl (ours)": lambda: export(run, fresh("jsonl"), format="jsonl", progress=False),
            },
            repeat=args.repeat,
        )
        for name, (seconds, _) in timings.items():
            print(f"  {name:>16}: {seconds:6.2f} s  {tokens / seconds / 1e6:6.2f} M tokens/s")
        export(run, fresh("mds"), format="mds", progress=False)
        dataset = streaming.StreamingDataset(local=str(root / "mds"), shuffle=False, batch_size=1)
        first = pq.read_table(shards[0]).slice(0, 1).to_pylist()[0]
        assert dataset.num_samples == args.rows, dataset.num_samples
        assert dataset[0]["input_ids"].tolist() == first["input_ids"], "MDS ids differ from the rows"
        assert int(dataset[0]["indices"][-1][1]) == sum(first["piece_lengths"])
        print(
            f"  read back {dataset.num_samples} samples with streaming.StreamingDataset: ids and spans match"
        )
        print(f"  peak RSS {peak_rss_mb():,.0f} MiB")
        ratio = timings["pyarrow.parquet"][0] / timings["mds"][0]
        check("MDS export throughput / pyarrow.parquet write", ratio, RATIO_TARGET)
    finish()


if __name__ == "__main__":
    main()
