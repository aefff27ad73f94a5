"""Peak RSS of exact dense search over a memory-mapped float16 store, at two corpus sizes (issue 20).

For each size the parent writes N random unit vectors (float16, ``dim`` 256) to a ``.npy`` file; a fresh
child process maps it read-only and search 64 queries (k=10) over a real :class:`~litelong_hf.embeddings.store.VectorStore`
through :class:`litelong_hf.index.DenseIndex`'s exact path, which reads the store in blocks of ``BLOCK_ROWS``. Printed: each size's peak RSS, the RSS before the search (interpreter, imports and the caller's id list,
~80 bytes an id, which grows with N by construction) and the search's own peak above it; exit 1 if the
search's own peak at the larger size exceeds 1.25x that at the smaller.
The IVF path above ``EXACT_MAX`` (FAISS holds its inverted lists in memory) is not measured here.

Run: ``.venv/bin/python bench/dense_memory.py`` (about a minute).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import check, finish, peak_rss_mb

from litelong_hf.embeddings.store import DONE, VectorStore

DIM = 256
SIZES = (50_000, 200_000)
BOUND = 1.25


def write_vectors(folder: Path, n: int) -> None:
    """A finished float16 vector store of N seeded random unit vectors, written block by block."""
    folder.mkdir(parents=True)
    path = folder / "vectors.npy"
    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, DIM))
    for start in range(0, n, 20_000):
        block = rng.standard_normal((min(20_000, n - start), DIM)).astype(np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    out.flush()
    del out
    (folder / DONE).write_text(json.dumps({"dtype": "float16"}), encoding="utf-8")


def vm_hwm_mb() -> float:
    """This process's peak resident memory since its ``exec`` (``VmHWM``). Not ``ru_maxrss``: on Linux that
    keeps the high-water mark of the forked parent's copy, which grew with the vectors the parent wrote."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_rss_mb()


def child(n: int, folder: str) -> None:
    from litelong_hf.index import DenseIndex

    rng = np.random.default_rng(1)
    ids = [f"doc-{i:08d}#c0000" for i in range(n)]
    before = vm_hwm_mb()
    index = DenseIndex(ids, VectorStore(Path(folder) / f"store-{n}"))
    queries = rng.standard_normal((64, DIM)).astype(np.float32)
    hits = index.search_vectors(queries, 10)
    print(
        json.dumps(
            {
                "n": n,
                "mode": index.mode,
                "hits": sum(map(len, hits)),
                "before_mb": before,
                "peak_mb": vm_hwm_mb(),
            }
        )
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), sys.argv[3])
        return
    peaks: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for n in SIZES:
            write_vectors(Path(folder) / f"store-{n}", n)  # in this process: the child only searches
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(n), folder],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            peaks[n] = result["peak_mb"] - result["before_mb"]
            print(
                f"{n:>9,} vectors ({result['mode']} search, {result['hits']} hits): peak RSS "
                f"{result['peak_mb']:,.0f} MB, {result['before_mb']:,.0f} MB before the search (interpreter, "
                f"imports, the id list); the search's own peak: {peaks[n]:,.1f} MB"
            )
    ratio = peaks[SIZES[1]] / peaks[SIZES[0]]
    check(f"search peak RSS at {SIZES[1]:,} / at {SIZES[0]:,} vectors", ratio, BOUND, higher_is_better=False)
    finish()


if __name__ == "__main__":
    main()
