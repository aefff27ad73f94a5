"""Many strings of one memory-mapped Arrow string column in few reads (the document store's batched
:meth:`~litelong_hf.docstore.DocumentStore.texts`).

:class:`~litelong_hf.idmap.PreadStrings` reads one string with two ``pread`` calls (its two offsets, then
its bytes). A caller that wants hundreds of texts of one record batch pays that per text; here the offsets
of the whole span are read once, and texts whose bytes lie close together (gaps under ``gap`` bytes) are
read in one call and sliced, so a topic's retrieved documents cost a few reads per record batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .idmap import PreadStrings

GAP_BYTES = 256 * 1024
"""Largest gap between two wanted texts read in one call (reading it costs less than another syscall)."""


def read_many(reader: PreadStrings, batch: int, rows: Sequence[int], *, gap: int = GAP_BYTES) -> list[str]:
    """The strings at ``rows`` (ascending, no repeats) of record batch ``batch`` of ``reader``."""
    if not rows:
        return []
    where = reader._where[batch]  # the layout PreadStrings found: (offsets position, data position, width)
    if where is None:  # not a plain slice of the mapping: read through Arrow
        return [reader.get(batch, row) for row in rows]
    off_pos, data_pos, width = where
    first, last = rows[0], rows[-1]
    raw = os.pread(reader._fd, (last - first + 2) * width, off_pos + first * width)
    offsets = np.frombuffer(raw, dtype=np.int64 if width == 8 else np.int32)
    index = np.asarray(rows, dtype=np.int64) - first
    starts, stops = offsets[index].tolist(), offsets[index + 1].tolist()
    out: list[str] = []
    i = 0
    while i < len(rows):
        j = i + 1
        while j < len(rows) and starts[j] - stops[j - 1] <= gap:
            j += 1
        lo, hi = starts[i], stops[j - 1]
        data = os.pread(reader._fd, hi - lo, data_pos + lo) if hi > lo else b""
        view = memoryview(data)
        out.extend(str(view[a - lo : b - lo], "utf-8") for a, b in zip(starts[i:j], stops[i:j], strict=True))
        i = j
    return out
