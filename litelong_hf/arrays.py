"""Arrays read from files and their shape: one exact ``pread`` and the 2-D vector-source basics.

Both the BM25 index (term postings) and the dense vector store (blocks of vectors) read slices of ``.npy``
data with ``pread`` instead of through a memory mapping, so that a scan never leaves the whole file
resident in the process (mapped pages count in its RSS; read pages stay in the OS page cache only).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def pread_array(
    fd: int, offset: int, dtype: np.dtype[Any], lo: int, hi: int, *, error: type[Exception], fix: str
) -> np.ndarray:
    """Items ``lo:hi`` of the ``dtype`` array that starts at byte ``offset`` of the open file ``fd``.

    Raises ``error`` naming ``fix`` when the file holds fewer bytes than asked (a truncated file).
    """
    out = np.empty(max(0, hi - lo), dtype=dtype)
    got = os.preadv(fd, [out.data.cast("B")], offset + lo * dtype.itemsize) if out.nbytes else 0
    if got != out.nbytes:
        raise error(f"The file behind {fd=} is truncated ({got} of {out.nbytes} bytes); {fix}")
    return out


class RowVectors:
    """What every 2-D vector source shares: ``vectors`` of shape ``(rows, dim)``, its length and width."""

    vectors: Any

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])
