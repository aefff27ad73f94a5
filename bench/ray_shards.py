"""8 shards of nextlong-64k on a local Ray cluster vs the same shards in this process.

Target: Ray throughput >= 0.8x the in-process run on this machine (2 cores), with identical rows. Both
runs share the cached corpus store and BM25 index (built once before timing); each writes its own shard
checkpoints. Ray's time includes starting the local cluster and its workers.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq
from _common import check, finish

SHARDS = 8


def shard_tables(config: object) -> list[pa.Table]:
    from litelong_hf.pipeline import shard_files

    return [pq.read_table(shard_files(config, s).rows) for s in range(SHARDS)]  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=160, help="rows in all (spread over the 8 shards)")
    args = parser.parse_args()
    from litelong_hf.executors import run_on_ray
    from litelong_hf.pipeline import run_shard
    from litelong_hf.presets import make_config

    with tempfile.TemporaryDirectory() as cache:
        common = {"num_shards": SHARDS, "num_rows": args.rows, "cache_dir": cache}
        # Warm the shared caches (corpus store, chunk index) outside the timings.
        run_shard(make_config("nextlong-64k", num_rows=1, num_shards=1, cache_dir=cache), 0)

        local = make_config("nextlong-64k", shards_dir=f"{cache}/local", **common)
        start = time.perf_counter()
        for shard in range(SHARDS):
            run_shard(local, shard)
        local_seconds = time.perf_counter() - start

        on_ray = make_config("nextlong-64k", shards_dir=f"{cache}/ray", **common)
        start = time.perf_counter()
        run_on_ray(on_ray, num_cpus=2)
        ray_seconds = time.perf_counter() - start

        tokens = args.rows * 65_536
        print(f"  {args.rows} rows of 65,536 tokens in {SHARDS} shards")
        print(f"  in process: {local_seconds:.1f} s ({tokens / local_seconds / 1e6:.2f} M tok/s)")
        print(
            f"  Ray (local cluster, 2 CPUs, incl. start-up): {ray_seconds:.1f} s ({tokens / ray_seconds / 1e6:.2f} M tok/s)"
        )
        same = all(a.equals(b) for a, b in zip(shard_tables(local), shard_tables(on_ray), strict=True))
        print(f"  identical rows: {same}")
        check("Ray / in-process throughput", local_seconds / ray_seconds, 0.8)
        check("identical rows (1 = yes)", float(same), 1.0)
    finish()


if __name__ == "__main__":
    main()
