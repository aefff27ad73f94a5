"""RULER's ``string_match_all``: the share of a sample's references found in the prediction.

A local ``evaluate`` metric module: load it by path (it is never fetched from the Hub)::

    metric = evaluate.load("<litelong_hf>/evaluation/metrics/string_match_all")
    metric.compute(predictions=["x 1 y 2"], references=[["1", "2", "3"]])  # {'string_match_all': 66.67}

Matching is case-insensitive substring search; the score is a percentage averaged over samples.
"""

import evaluate

from litelong_hf.evaluation.scoring import aggregate, metric_info

_DESCRIPTION = "Share of the references found (case-insensitive substring) in each prediction, averaged."
_RETURNS = "string_match_all: mean over samples of 100 * (references found / references), in [0, 100]."


class StringMatchAll(evaluate.Metric):
    """The score of :func:`litelong_hf.evaluation.scoring.string_match_all`, averaged (one definition of it)."""

    def _info(self) -> evaluate.MetricInfo:
        return metric_info(_DESCRIPTION, _RETURNS)

    def _compute(self, predictions: list[str], references: list[list[str]]) -> dict[str, float]:
        return aggregate("string_match_all", predictions, references)
