"""``last_anchor`` against its definition: the last position ``p`` in ``[start, stop - 2]`` with
``is_anchor(text, p)`` (the direct tries over the last spaces and the regex scan behind them agree)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from litelong_hf.boundaries import is_anchor, last_anchor

_TEXT = st.text(alphabet=list("ab 1._\n½é日") + [" "] * 3, max_size=60)


def _brute(text: str, start: int, stop: int | None) -> int | None:
    end = len(text) if stop is None else min(stop, len(text))
    found = [p for p in range(start, end - 1) if is_anchor(text, p)]
    return found[-1] if found else None


@given(_TEXT, st.integers(0, 62), st.one_of(st.none(), st.integers(0, 62)), st.sampled_from([2, 4, 256]))
def test_last_anchor_is_the_last_anchor_before_stop(
    text: str, start: int, stop: int | None, span: int
) -> None:
    assert last_anchor(text, start, stop, span=span) == _brute(text, start, stop)


def test_last_anchor_past_many_spaces_that_are_not_anchors() -> None:
    text = "alpha beta" + " 1 ." * 50  # more non-anchor spaces than the direct tries: the scan finds it
    assert last_anchor(text) == 5
    assert last_anchor("x" * 1000 + " y" + "." * 5000) == 1000
    assert last_anchor("a b", 0, 2) is None  # the letter after the space must lie before ``stop``
