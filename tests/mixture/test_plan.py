"""The arithmetic of a mixture: rows per component, shares, packing factors, the seeded interleaving."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from litelong_hf.mixture import MixtureError
from litelong_hf.mixture.plan import (
    allocate,
    check_shares,
    interleave,
    length_name,
    min_rows,
    pack_factor,
    rows_supported,
    share_gaps,
    units_available,
)

weights = st.lists(st.integers(1, 50), min_size=1, max_size=6)


@given(weights, st.integers(1, 5000))
def test_allocation_sums_and_rounds_each_share_down_or_up(raw: list[int], rows: int) -> None:
    shares = [Fraction(w, sum(raw)) for w in raw]
    counts = allocate(shares, rows)
    assert sum(counts) == rows
    for share, n in zip(shares, counts, strict=True):
        assert abs(n - share * rows) < 1


@given(weights, st.integers(100, 5000))
def test_a_hundred_rows_or_more_meet_every_share_within_one_percent(raw: list[int], rows: int) -> None:
    shares = [Fraction(w, sum(raw)) for w in raw]
    assert max(share_gaps(shares, allocate(shares, rows))) <= 0.01


def test_too_few_rows_is_refused_naming_the_rows_that_would_do() -> None:
    shares = [Fraction(1, 3), Fraction(2, 3)]
    with pytest.raises(MixtureError, match=r"--num-rows (\d+) or more"):
        check_shares(["a", "b"], shares, allocate(shares, 10), 0.01)
    least = min_rows(shares, 0.01)
    check_shares(["a", "b"], shares, allocate(shares, least), 0.01)
    with pytest.raises(MixtureError, match="gets no row"):
        check_shares(["a", "b"], [Fraction(1, 100), Fraction(99, 100)], [0, 10], 0.5)


@given(st.lists(st.integers(0, 40), min_size=1, max_size=5), st.integers(0, 2**32 - 1))
def test_interleaving_is_seeded_complete_and_spread(counts: list[int], seed: int) -> None:
    order = interleave(counts, seed)
    assert order == interleave(counts, seed)
    assert [order.count(i) for i in range(len(counts))] == counts
    total = sum(counts)
    for prefix in range(1, total + 1):
        for i, n in enumerate(counts):
            # Row j of component i sits in ((j, j + 1) / n) of the way: every prefix is within 1 row per
            # component of its exact share, plus at most one row for each other component.
            assert abs(order[:prefix].count(i) - n * prefix / total) <= len(counts) + 1


def test_another_seed_gives_another_order() -> None:
    assert interleave([30, 20, 10], 0) != interleave([30, 20, 10], 1)


def test_pack_factor_and_units() -> None:
    assert pack_factor(65536, 524288, "x") == 8
    assert pack_factor(256, 256, "x") == 1
    for bad in (300, 512, 0):
        with pytest.raises(MixtureError, match="multiple of"):
            pack_factor(bad, 256, "x")
    assert units_available([128] * 7 + [256] * 2, 256, "x") == 3 + 2


def test_rows_supported_is_the_largest_allocation_the_runs_can_fill() -> None:
    shares = [Fraction(1, 2), Fraction(1, 2)]
    assert rows_supported(shares, [10, None]) == 20
    assert rows_supported(shares, [10, 3]) == 6
    with pytest.raises(MixtureError, match="--num-rows"):
        rows_supported(shares, [None, None])


def test_length_names() -> None:
    assert [length_name(n) for n in (65536, 524288, 1 << 20, 1000)] == ["64k", "512k", "1m", "1000"]
