"""RULER's ``string_match_all``: the share of a sample's references found in the prediction.

A local ``evaluate`` metric module: load it by path (it is never fetched from the Hub)::

    metric = evaluate.load("<litelong_hf>/evaluation/metrics/string_match_all")
    metric.compute(predictions=["x 1 y 2"], references=[["1", "2", "3"]])  # {'string_match_all': 66.67}

Matching is case-insensitive substring search; the score is a percentage averaged over samples.
"""

import datasets
import evaluate

_DESCRIPTION = "Share of the references found (case-insensitive substring) in each prediction, averaged."
_CITATION = "Hsieh et al., RULER: What's the Real Context Size of Your Long-Context Language Models? (2024)"
_KWARGS = """
Args:
    predictions: list of generated strings.
    references: list of lists of reference strings (one list per prediction).
Returns:
    string_match_all: mean over samples of 100 * (references found / references), in [0, 100].
"""


class StringMatchAll(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": datasets.Sequence(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions: list[str], references: list[list[str]]) -> dict[str, float]:
        scores = []
        for prediction, refs in zip(predictions, references, strict=True):
            text = prediction.lower()
            found = sum(1 for ref in refs if ref.lower() in text)
            scores.append(found / len(refs) if refs else 0.0)
        return {"string_match_all": round(100 * sum(scores) / len(scores), 2) if scores else 0.0}
