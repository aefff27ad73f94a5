"""RULER's ``string_match_part``: whether any of a sample's references is found in the prediction.

A local ``evaluate`` metric module: load it by path (it is never fetched from the Hub)::

    metric = evaluate.load("<litelong_hf>/evaluation/metrics/string_match_part")
    metric.compute(predictions=["x 1 y"], references=[["1", "2"]])  # {'string_match_part': 100.0}

Matching is case-insensitive substring search; the score is a percentage averaged over samples.
"""

import evaluate

from litelong_hf.evaluation.scoring import aggregate, metric_info

_DESCRIPTION = "Whether any reference occurs (case-insensitive substring) in each prediction, averaged."
_RETURNS = "string_match_part: mean over samples of 100 * (1 if any reference is found else 0), in [0, 100]."


class StringMatchPart(evaluate.Metric):
    """The score of :func:`litelong_hf.evaluation.scoring.string_match_part`, averaged (one definition of it)."""

    def _info(self) -> evaluate.MetricInfo:
        return metric_info(_DESCRIPTION, _RETURNS)

    def _compute(self, predictions: list[str], references: list[list[str]]) -> dict[str, float]:
        return aggregate("string_match_part", predictions, references)
