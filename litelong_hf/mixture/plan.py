"""The arithmetic of a mixture, on plain numbers: rows per component, how shorter rows fill a row, and the
seeded interleaving. Every mixture row holds exactly ``row_tokens`` tokens, so a component's token share
is its share of the rows.

Example::

    allocate([Fraction(2, 5), Fraction(3, 10), Fraction(3, 10)], 10)   # [4, 3, 3]
    interleave([4, 3, 3], seed=0)                                      # 10 component indices
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from fractions import Fraction

import numpy as np

from .errors import MixtureError


def allocate(shares: Sequence[Fraction], num_rows: int) -> list[int]:
    """Rows per component: the largest-remainder rounding of ``shares x num_rows`` (ties: earlier first).

    The counts sum to ``num_rows`` and each is the floor or the ceiling of its exact share.
    """
    total = sum(shares, Fraction(0))
    exact = [share / total * num_rows for share in shares]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: num_rows - sum(counts)]:
        counts[i] += 1
    return counts


def share_gaps(shares: Sequence[Fraction], counts: Sequence[int]) -> list[float]:
    """``|counts[i] / sum(counts) - share[i]|`` for every component (token shares: rows are equal)."""
    total = sum(shares, Fraction(0))
    rows = sum(counts)
    return [abs(float(Fraction(n, rows) - s / total)) for n, s in zip(counts, shares, strict=True)]


def check_shares(
    labels: Sequence[str], shares: Sequence[Fraction], counts: Sequence[int], tolerance: float
) -> None:
    """Raise :class:`MixtureError` unless every component is within ``tolerance`` of its share and has rows."""
    for label, n in zip(labels, counts, strict=True):
        if n == 0:
            raise MixtureError(
                f"Component {label!r} gets no row of {sum(counts)}; raise --num-rows or its share."
            )
    gaps = share_gaps(shares, counts)
    worst = max(range(len(gaps)), key=lambda i: gaps[i])
    if gaps[worst] > tolerance:
        least = min_rows(shares, tolerance)
        raise MixtureError(
            f"{sum(counts)} rows cannot meet the shares within {tolerance:.2%}: {labels[worst]!r} gets "
            f"{counts[worst]} rows ({counts[worst] / sum(counts):.2%} instead of {float(shares[worst]):.2%}). "
            f"Use --num-rows {least} or more, or a larger --tolerance."
        )


def min_rows(shares: Sequence[Fraction], tolerance: float, limit: int = 1_000_000) -> int:
    """The fewest rows whose allocation meets every share within ``tolerance`` (and gives each a row)."""
    for rows in range(len(shares), limit):
        counts = allocate(shares, rows)
        if min(counts) > 0 and max(share_gaps(shares, counts)) <= tolerance:
            return rows
    return limit


def pack_factor(row_length: int, row_tokens: int, label: str) -> int:
    """How many rows of ``row_length`` tokens make one mixture row; raise if they cannot fill it exactly."""
    if row_length <= 0 or row_length > row_tokens or row_tokens % row_length:
        raise MixtureError(
            f"Component {label!r} has rows of {row_length:,} tokens, which cannot fill {row_tokens:,}-token "
            f"mixture rows exactly; choose --row-tokens a multiple of {row_length:,} (at least it)."
        )
    return row_tokens // row_length


def units_available(row_lengths: Iterable[int], row_tokens: int, label: str) -> int:
    """Mixture rows a component's rows can fill: rows of one length are packed ``row_tokens / length`` at a
    time; an incomplete group at the end is left out."""
    counts = Counter(int(n) for n in row_lengths)
    return sum(n // pack_factor(length, row_tokens, label) for length, n in counts.items())


def rows_supported(shares: Sequence[Fraction], available: Sequence[int | None]) -> int:
    """The most mixture rows whose allocation every component with a known supply (``available``; ``None``:
    unbounded) can fill."""
    bounded = [(s, a) for s, a in zip(shares, available, strict=True) if a is not None]
    if not bounded:
        raise MixtureError(
            "No run directory bounds the mixture's size; pass --num-rows (the rows of the mixture)."
        )
    rows = min(math.floor(a / s) for s, a in bounded) if all(s > 0 for s, _ in bounded) else 0
    while rows > 0 and any(
        a is not None and n > a for n, a in zip(allocate(shares, rows), available, strict=True)
    ):
        rows -= 1
    return rows


def interleave(counts: Sequence[int], seed: int) -> list[int]:
    """A seeded order of ``counts[i]`` rows of each component ``i``, spread evenly: every prefix of the
    order holds each component close to its share (row ``j`` of component ``i`` sits near ``j / counts[i]``
    of the way, jittered by the seed). The same counts and seed give the same order."""
    rng = np.random.default_rng(seed)
    keys: list[tuple[float, int, int]] = []
    for component, n in enumerate(counts):
        jitter = rng.random(n)
        keys.extend(((j + float(jitter[j])) / n, component, j) for j in range(n))
    keys.sort()
    return [component for _, component, _ in keys]


def length_name(row_tokens: int) -> str:
    """``65536`` -> ``64k``, ``1048576`` -> ``1m``: the length part of a config name."""
    if row_tokens % (1 << 20) == 0:
        return f"{row_tokens >> 20}m"
    if row_tokens % 1024 == 0:
        return f"{row_tokens // 1024}k"
    return str(row_tokens)
