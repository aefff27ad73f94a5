"""The vector store: the unit vectors of one corpus snapshot under one model, computed once, on disk.

A store folder (``layout.embedding_store_dir(key)``, the key naming the chunked corpus snapshot and the model
fingerprint) is filled batch by batch: ``batches/b-000042.npy`` appears whole (atomic rename) the moment its
batch is embedded, so a killed pass started again embeds only the batches that have no file. When every
batch is there they are joined into ``vectors.npy`` (``float16``, or ``int8`` with one float32 scale per
vector in ``scales.npy``), memory-mapped read-only by every search, and ``store.json`` is written last: its
presence marks a finished store. Memory while building: one batch; while reading: the pages touched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .. import layout
from ..arrays import RowVectors, pread_array
from ..progress import stage
from .config import DTYPES, EmbeddingError

STORE_FORMAT = 1
DONE = "store.json"
PLAN = "plan.json"


class Embedder(Protocol):
    """What every embedding backend offers: unit float32 vectors, and a fingerprint of what makes them."""

    name: str

    def fingerprint(self) -> str: ...

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray: ...


def ids_digest(ids: Sequence[str]) -> str:
    """SHA-256 of the ids in order (pure): a store answers only for exactly the items it was made from."""
    sha = hashlib.sha256()
    for item in ids:
        sha.update(item.encode("utf-8"))
        sha.update(b"\n")
    return sha.hexdigest()


def quantize_int8(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-vector int8 codes and float32 scales (``codes * scale`` restores the vector; pure)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    peak = np.abs(vectors).max(axis=1) if len(vectors) else np.zeros(0, dtype=np.float32)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    codes = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales


def batch_ranges(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of every batch of ``n`` items (pure)."""
    return [(start, min(n, start + batch_size)) for start in range(0, n, batch_size)]


class VectorStore(RowVectors):
    """A finished store, memory-mapped: ``block(start, stop)`` and ``rows(positions)`` give float32 vectors."""

    def __init__(self, folder: Path) -> None:
        meta_path = folder / DONE
        if not meta_path.is_file():
            raise EmbeddingError(f"{folder} holds no finished vector store; build it with VectorStore.build.")
        self.folder = folder
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.dtype = str(self.meta["dtype"])
        self.vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        self._offset = int(self.vectors.offset)  # bytes of the .npy header: where row 0 starts
        self.scales = np.load(folder / "scales.npy", mmap_mode="r") if self.dtype == "int8" else None

    def block(self, start: int, stop: int) -> np.ndarray:
        """Vectors ``start:stop`` as float32, read with ``pread`` (not through the mapping).

        A scan of every block (exact search) through the mapping would leave the whole file resident in this
        process (mapped pages count in its RSS); read into a buffer, the pages stay in the OS page cache
        only, so search memory is one block whatever the store's size (``bench/dense_memory.py``).
        """
        stop = min(stop, len(self))
        dtype = self.vectors.dtype
        with open(self.folder / "vectors.npy", "rb") as handle:
            codes = pread_array(
                handle.fileno(),
                self._offset,
                dtype,
                start * self.dim,
                max(start, stop) * self.dim,
                error=EmbeddingError,
                fix=f"delete {self.folder} to rebuild the vector store.",
            ).reshape(-1, self.dim)
        return self._restore(codes, None if self.scales is None else np.asarray(self.scales[start:stop]))

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """The vectors at ``positions`` as float32."""
        positions = np.asarray(positions, dtype=np.int64)
        scales = None if self.scales is None else np.asarray(self.scales[positions])
        return self._restore(np.asarray(self.vectors[positions]), scales)

    @staticmethod
    def _restore(codes: np.ndarray, scales: np.ndarray | None) -> np.ndarray:
        vectors = codes.astype(np.float32)
        return vectors * scales[:, None] if scales is not None else vectors

    def check_ids(self, ids: Sequence[str]) -> None:
        """Raise :class:`EmbeddingError` unless the store was made from exactly ``ids``, in order."""
        if self.meta.get("count") == len(ids) and self.meta.get("ids_sha256") == ids_digest(ids):
            return
        raise EmbeddingError(
            f"The vector store {self.folder} holds {self.meta.get('count')} vectors that are not those of the "
            f"{len(ids)} chunks given (the corpus changed); delete that folder and run again."
        )

    @classmethod
    def get_or_build(
        cls,
        folder: Path,
        ids: Sequence[str],
        texts: Sequence[str],
        embedder: Embedder,
        *,
        dtype: str = "float16",
        batch_size: int = 64,
        show_progress: bool = True,
        on_batch: Callable[[int], None] | None = None,
    ) -> VectorStore:
        """The store in ``folder``, embedding (and resuming) what is missing first.

        ``on_batch(i)`` runs after batch ``i`` is safely on disk (fault injection in tests:
        :class:`litelong_hf.testing.faults.CrashOnce`)."""
        if dtype not in DTYPES:
            raise EmbeddingError(f"vector dtype must be 'float16' or 'int8'; got {dtype!r}.")
        if len(ids) != len(texts):
            raise EmbeddingError(f"{len(ids)} ids but {len(texts)} texts: pass one id per text.")
        if not len(ids):
            raise EmbeddingError("Cannot embed an empty pool: the documents have no text.")
        try:
            layout.check_writable(folder.parent)
        except OSError as exc:
            raise EmbeddingError(
                f"Cannot write vectors under {folder.parent} ({exc.strerror or exc}); pass a writable cache_dir "
                "(CLI: --cache-dir) or set LITELONG_HF_CACHE."
            ) from None
        plan = {
            "format": STORE_FORMAT,
            "count": len(ids),
            "ids_sha256": ids_digest(ids),
            "model": embedder.fingerprint(),
            "dtype": dtype,
            "batch_size": batch_size,
        }

        def build(target: Path) -> None:
            _fill(target, plan, texts, embedder, show_progress, on_batch)

        layout.build_once(folder, DONE, build, in_place=True)
        store = cls(folder)
        store.check_ids(ids)
        return store


def _fill(
    folder: Path,
    plan: dict[str, object],
    texts: Sequence[str],
    embedder: Embedder,
    show_progress: bool,
    on_batch: Callable[[int], None] | None,
) -> None:
    """Embed every batch without a file, then join the batches and write ``store.json`` last."""
    batches = folder / "batches"
    plan_path = folder / PLAN
    if plan_path.is_file() and json.loads(plan_path.read_text(encoding="utf-8")) != plan:
        shutil.rmtree(batches, ignore_errors=True)  # another pool or batching: its batches mean nothing here
    batches.mkdir(parents=True, exist_ok=True)
    layout.atomic_write_json(plan_path, plan)
    ranges = batch_ranges(int(plan["count"]), int(plan["batch_size"]))  # type: ignore[call-overload]
    int8 = plan["dtype"] == "int8"
    done = {i for i in range(len(ranges)) if (batches / f"b-{i:06d}.npy").is_file()}
    finished = sum(stop - start for i, (start, stop) in enumerate(ranges) if i in done)
    with stage("embed", int(plan["count"]), unit="chunks", enabled=show_progress) as bar:  # type: ignore[call-overload]
        bar.set_completed(finished)
        for i, (start, stop) in enumerate(ranges):
            if i in done:
                continue
            vectors = embedder.embed(list(texts[start:stop]))
            if vectors.shape[0] != stop - start:
                raise EmbeddingError(
                    f"the embedder returned {vectors.shape[0]} vectors for {stop - start} texts."
                )
            if int8:
                codes, scales = quantize_int8(vectors)
                _save(batches / f"b-{i:06d}.scale.npy", scales)
                _save(batches / f"b-{i:06d}.npy", codes)
            else:
                _save(batches / f"b-{i:06d}.npy", vectors.astype(np.float16))
            bar.advance(stop - start)
            if on_batch is not None:
                on_batch(i)
    first = np.load(batches / "b-000000.npy", mmap_mode="r")
    dim = int(first.shape[1])
    with layout.atomic_path(folder / "vectors.npy") as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=first.dtype, shape=(int(plan["count"]), dim))  # type: ignore[call-overload]
        for i, (start, stop) in enumerate(ranges):
            out[start:stop] = np.load(batches / f"b-{i:06d}.npy")
        out.flush()
        del out
    if int8:
        scales = np.concatenate([np.load(batches / f"b-{i:06d}.scale.npy") for i in range(len(ranges))])
        _save(folder / "scales.npy", scales)
    layout.atomic_write_json(folder / DONE, {**plan, "dim": dim, "embedder": embedder.name})
    shutil.rmtree(batches, ignore_errors=True)


def _save(path: Path, array: np.ndarray) -> None:
    with layout.atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)
