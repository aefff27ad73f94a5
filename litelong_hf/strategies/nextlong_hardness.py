"""NExtLong's hardness report: how hard the mined negatives are against random chunks (mergeable counters).

:func:`tally_hardness` counts one mined row into ``report.stats`` (integers, so shard reports add up
exactly); :func:`hardness_summary` turns the added-up counters into ``report.extra["hardness"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..report import RunReport
from .negatives import MinedRow, hardness_sample

if TYPE_CHECKING:
    from .nextlong_resources import NExtLongResources

_SCORE_SCALE = 1_000_000  # scores are summed as integers (micro-units) so shard reports add up exactly


HARDNESS_STATS = (  # the integer counters in report.stats that hardness_summary reads
    "nextlong_negative_score_e6",
    "nextlong_negatives_scored",
    "nextlong_random_score_e6",
    "nextlong_random_scored",
    "nextlong_negatives_same_label",
    "nextlong_negatives_labelled",
    "nextlong_random_same_label",
    "nextlong_random_labelled",
    "nextlong_negative_cosine_e6",
    "nextlong_negatives_cosined",
    "nextlong_random_cosine_e6",
    "nextlong_random_cosined",
    "nextlong_near_copies",
)


def hardness_summary(stats: Mapping[str, float], retriever: str | None = None) -> dict[str, Any]:
    """``report.extra["hardness"]`` from the (mergeable) counters in ``report.stats``.

    ``negative_mean_score`` vs ``random_mean_score``: mean BM25 score, against the meta-chunk as query, of
    the chosen negatives and of random chunks of other documents (BM25 whatever ``retriever`` mined).
    ``negative_mean_cosine`` vs ``random_mean_cosine``: the same in embedding cosine (``None`` when the run
    has no embeddings: see ``hardness_cosine``). ``near_copy_share``: candidates dropped as near-copies over
    those plus the negatives kept. ``same_label_share`` vs ``random_same_label_share``: share of negatives
    (random chunks) whose document has the meta-document's label (``label_field``). After merging shard
    reports, call this again on the merged stats.
    """

    def ratio(num: str, den: str, scale: float = 1.0) -> float | None:
        d = stats.get(den, 0)
        return round(stats.get(num, 0) / scale / d, 4) if d else None

    negative = ratio("nextlong_negative_score_e6", "nextlong_negatives_scored", _SCORE_SCALE)
    random = ratio("nextlong_random_score_e6", "nextlong_random_scored", _SCORE_SCALE)
    cosine = ratio("nextlong_negative_cosine_e6", "nextlong_negatives_cosined", _SCORE_SCALE)
    random_cosine = ratio("nextlong_random_cosine_e6", "nextlong_random_cosined", _SCORE_SCALE)
    near = int(stats.get("nextlong_near_copies", 0))
    kept = int(stats.get("nextlong_negatives_scored", 0))
    out: dict[str, Any] = {"retriever": retriever} if retriever is not None else {}
    out.update(
        {
            "negative_mean_score": negative,
            "random_mean_score": random,
            "score_ratio": round(negative / random, 3) if negative is not None and random else None,
            "negatives_scored": kept,
            "random_scored": int(stats.get("nextlong_random_scored", 0)),
            "same_label_share": ratio("nextlong_negatives_same_label", "nextlong_negatives_labelled"),
            "random_same_label_share": ratio("nextlong_random_same_label", "nextlong_random_labelled"),
            "negative_mean_cosine": cosine,
            "random_mean_cosine": random_cosine,
            "near_copies": near,
            "near_copy_share": round(near / (near + kept), 4) if near + kept else None,
        }
    )
    return out


def tally_hardness(
    row: MinedRow,
    resources: NExtLongResources,
    samples: int,
    rng: np.random.Generator,
    report: RunReport,
) -> None:
    """Count the hardness figures of one mined row into ``report.stats`` (integers, mergeable)."""
    pool = resources.pool
    label = pool.labels.get(row.doc_id)
    queries = [pool.texts[g.meta] for g in row.groups]
    negatives = [[hit.doc_id for hit in g.negatives] for g in row.groups]
    if resources.kind == "bm25":  # the hits' own scores are BM25 scores
        bm25 = [[hit.score for hit in g.negatives] for g in row.groups]
    else:
        bm25 = resources.bm25.score(queries, negatives)
    same = labelled = 0
    for group in row.groups:
        for position in group.negative_positions(pool):
            other = pool.label_of_chunk(position)
            if label is not None and other is not None:
                labelled += 1
                same += other == label
    report.count("nextlong_negative_score_e6", round(sum(map(sum, bm25)) * _SCORE_SCALE))
    report.count("nextlong_negatives_scored", row.n_negatives)
    report.count("nextlong_negatives_same_label", same)
    report.count("nextlong_negatives_labelled", labelled)
    report.count("nextlong_near_copies", row.near_copies)
    dense = resources.dense
    if dense is not None:
        cosines = dense.score(queries, negatives)
        report.count("nextlong_negative_cosine_e6", round(sum(map(sum, cosines)) * _SCORE_SCALE))
        report.count("nextlong_negatives_cosined", sum(map(len, cosines)))
    if samples <= 0:
        return
    drawn = [hardness_sample(pool, row.doc_id, samples, rng) for _ in row.groups]
    drawn_ids = [[pool.chunk_ids[p] for p in draw] for draw in drawn]
    scores = resources.bm25.score(queries, drawn_ids)
    report.count("nextlong_random_score_e6", round(sum(map(sum, scores)) * _SCORE_SCALE))
    report.count("nextlong_random_scored", sum(map(len, scores)))
    if dense is not None:
        cosines = dense.score(queries, drawn_ids)
        report.count("nextlong_random_cosine_e6", round(sum(map(sum, cosines)) * _SCORE_SCALE))
        report.count("nextlong_random_cosined", sum(map(len, cosines)))
    if label is not None:
        others = [pool.label_of_chunk(p) for draw in drawn for p in draw]
        report.count("nextlong_random_same_label", sum(o == label for o in others))
        report.count("nextlong_random_labelled", sum(o is not None for o in others))
