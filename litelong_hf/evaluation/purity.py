"""Topic purity of rows on a labelled corpus: how much of a row shares one label.

A row of a topic-coherent method (LiteLong) should draw most of its documents from one corpus label
(a news category, a subject); a random concatenation draws them in proportion to the label
frequencies. ``purity_ratio`` compares the two on the same corpus.

>>> labels = {"a": "sport", "b": "sport", "c": "politics", "d": "politics"}
>>> dominant_label_share([["a", "b", "c"], ["c", "d"]], labels)
0.8333333333333333
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

__all__ = ["PurityError", "dominant_label_share", "purity_ratio", "row_dominant_share"]


class PurityError(ValueError):
    """No row had a labelled document, so there is nothing to measure."""


def row_dominant_share(doc_ids: Sequence[str], labels: Mapping[str, str]) -> float | None:
    """Share of a row's labelled documents that carry its most common label (``None``: none labelled).

    Documents without a label are ignored; a document that appears twice in a row counts twice
    (it contributes twice the tokens).
    """
    counts = Counter(labels[doc_id] for doc_id in doc_ids if doc_id in labels)
    total = sum(counts.values())
    if total == 0:
        return None
    return counts.most_common(1)[0][1] / total


def dominant_label_share(rows_doc_ids: Sequence[Sequence[str]], labels: Mapping[str, str]) -> float:
    """Mean over rows of the share of a row's documents carrying the row's most common label.

    Documents without a label are ignored; rows with no labelled documents are skipped. Raises
    ``PurityError`` when no row has a labelled document.
    """
    shares = [
        share
        for share in (row_dominant_share(doc_ids, labels) for doc_ids in rows_doc_ids)
        if share is not None
    ]
    if not shares:
        raise PurityError(
            "no row has a document with a label: check that the label field of the corpus is set "
            "and that the rows' document ids are the corpus ids"
        )
    return sum(shares) / len(shares)


def purity_ratio(
    rows: Sequence[Sequence[str]],
    baseline_rows: Sequence[Sequence[str]],
    labels: Mapping[str, str],
) -> float:
    """``dominant_label_share(rows) / dominant_label_share(baseline_rows)`` on the same labels.

    ``baseline_rows`` are usually random concatenations of the same corpus at the same length; a
    ratio of 2.5 means the rows are 2.5 times as dominated by one label as random rows are.
    """
    return dominant_label_share(rows, labels) / dominant_label_share(baseline_rows, labels)
