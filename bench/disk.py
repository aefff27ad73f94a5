"""Bytes a run writes per byte of its shard parquet (the one copy of the rows), for `generate` and `load`.

Target: <= 1.3x for both. Counts every byte that appears under the cache and the output folder during the
step (new files and growth of existing ones; a file with several hard links counted once), after a warm-up
run that builds the inputs every run shares (document store, BM25 index, tokenizer). The reference is the
size of the shard parquet files of the measured run. Also prints what the layout before the row store
wrote for the same rows (shard parquet + `datasets` Arrow cache + DIR/dataset + DIR/parquet), re-made here.

    python bench/disk.py                      # nextlong-64k, demo corpus, 4 rows
    python bench/disk.py --config litelong-64k --rows 2
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from _common import check, finish

TARGET = 1.3


def snapshot(*roots: Path) -> dict[tuple[int, int], int]:
    """Size of every file under ``roots``, keyed by (device, inode): hard links are one file."""
    sizes: dict[tuple[int, int], int] = {}
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                info = os.lstat(os.path.join(folder, name))
                sizes[(info.st_dev, info.st_ino)] = info.st_size
    return sizes


def written(before: dict[tuple[int, int], int], after: dict[tuple[int, int], int]) -> int:
    """Bytes that appeared between two snapshots: new files, and the growth of the ones already there."""
    return sum(max(0, size - before.get(key, 0)) for key, size in after.items())


def parquet_bytes(paths: list[str]) -> int:
    return sum(Path(p).stat().st_size for p in paths)


def old_layout_bytes(dataset: object, shard_bytes: int, folder: Path) -> int:
    """What the layout before the row store wrote: the shard parquet, the `datasets` Arrow cache,
    DIR/dataset (the same Arrow again) and DIR/parquet (re-encoded)."""
    import datasets

    from litelong_hf.progress import quiet_libraries

    assert isinstance(dataset, datasets.Dataset)
    with quiet_libraries():
        dataset.save_to_disk(str(folder / "dataset"))
        dataset.to_parquet(str(folder / "train.parquet"), batch_size=4)
    arrow = sum(p.stat().st_size for p in (folder / "dataset").rglob("*.arrow"))
    return shard_bytes + 2 * arrow + (folder / "train.parquet").stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="nextlong-64k")
    parser.add_argument("--rows", type=int, default=4)
    args = parser.parse_args()

    import litelong_hf
    from litelong_hf.pipeline import shard_files
    from litelong_hf.presets import make_config
    from litelong_hf.publish.rundir import write_run_dir
    from litelong_hf.run import generate

    with tempfile.TemporaryDirectory(prefix="litelong-disk-") as tmp:
        cache, runs = Path(tmp) / "cache", Path(tmp) / "runs"
        runs.mkdir()
        # Warm-up (not counted): the store, the index and the tokenizer every run of this corpus shares.
        # `num_rows` is no part of the config hash, so each step below makes shard files of its own.
        litelong_hf.load(args.config, num_rows=1, cache_dir=str(cache))

        print(f"{args.config}, {args.rows} rows, demo corpus")
        before = snapshot(cache, runs)
        run = generate(args.config, num_rows=args.rows, cache_dir=str(cache))
        write_run_dir(run, runs / "out")
        total, shards = written(before, snapshot(cache, runs)), parquet_bytes(run.shard_files)
        linked = all(p.stat().st_nlink > 1 for p in (runs / "out" / "parquet").glob("*.parquet"))
        print(f"  generate --out DIR: wrote {total:,} bytes for {shards:,} bytes of shard parquet")
        print(f"    DIR/parquet hard-linked to the shards: {linked}")
        check(
            "generate: bytes written per byte of shard parquet",
            total / shards,
            TARGET,
            higher_is_better=False,
        )

        load_rows = max(1, args.rows - 1)
        config = make_config(args.config, num_rows=load_rows, cache_dir=str(cache))
        before = snapshot(cache, runs)
        ds = litelong_hf.load(args.config, num_rows=load_rows, cache_dir=str(cache))
        assert len(ds) == load_rows and ds[0]["id"]  # read the rows: nothing may be written lazily
        total = written(before, snapshot(cache, runs))
        shards = parquet_bytes([shard_files(config, s).rows for s in range(config.num_shards)])
        print(f"  load: wrote {total:,} bytes for {shards:,} bytes of shard parquet")
        check("load: bytes written per byte of shard parquet", total / shards, TARGET, higher_is_better=False)

        old = old_layout_bytes(run.dataset, parquet_bytes(run.shard_files), Path(tmp) / "old")
        print(
            f"  reference: the layout before the row store wrote {old:,} bytes for the generate run, "
            f"{old / parquet_bytes(run.shard_files):.2f}x its shard parquet"
        )
    finish()


if __name__ == "__main__":
    main()
