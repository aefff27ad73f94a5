"""Topic purity: dominant-label share per row and the ratio against baseline rows."""

from __future__ import annotations

import random

import pytest

from litelong_hf.evaluation.purity import (
    PurityError,
    dominant_label_share,
    purity_ratio,
    row_dominant_share,
)

LABELS = {"a": "sport", "b": "sport", "c": "politics", "d": "politics", "e": "science"}


def test_pure_rows_score_one() -> None:
    assert dominant_label_share([["a", "b"], ["c", "d"]], LABELS) == 1.0


def test_mean_over_rows_of_the_dominant_share() -> None:
    # row 1: sport 2 of 3; row 2: 1 of 3 each -> 1/3
    share = dominant_label_share([["a", "b", "c"], ["a", "c", "e"]], LABELS)
    assert share == pytest.approx((2 / 3 + 1 / 3) / 2)


def test_unlabelled_documents_are_ignored_and_empty_rows_skipped() -> None:
    assert row_dominant_share(["a", "x", "y"], LABELS) == 1.0
    assert row_dominant_share(["x", "y"], LABELS) is None
    assert dominant_label_share([["x"], ["a", "c"], []], LABELS) == 0.5


def test_repeated_documents_count_each_time() -> None:
    assert row_dominant_share(["a", "a", "a", "c"], LABELS) == 0.75


def test_no_labelled_row_is_a_clear_error() -> None:
    with pytest.raises(PurityError, match="label field"):
        dominant_label_share([["x", "y"]], LABELS)


def test_ratio_of_topic_rows_over_random_rows() -> None:
    rng = random.Random(0)
    labels = {f"d{i}": f"L{i % 4}" for i in range(400)}
    by_label: dict[str, list[str]] = {}
    for doc, label in labels.items():
        by_label.setdefault(label, []).append(doc)
    topic_rows = [rng.sample(by_label[f"L{r % 4}"], 10) for r in range(20)]
    random_rows = [rng.sample(sorted(labels), 10) for _ in range(20)]
    ratio = purity_ratio(topic_rows, random_rows, labels)
    # a fully pure row scores 1; a random one about 1/4 to 1/2 with 4 balanced labels
    assert 2.0 < ratio <= 4.0
    assert purity_ratio(random_rows, random_rows, labels) == 1.0


def test_share_is_between_inverse_label_count_and_one() -> None:
    rng = random.Random(1)
    docs = sorted(LABELS)
    for _ in range(200):
        row = [rng.choice(docs) for _ in range(rng.randint(1, 8))]
        share = row_dominant_share(row, LABELS)
        assert share is not None
        assert 1 / 3 <= share <= 1.0
