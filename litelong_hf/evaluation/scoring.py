"""RULER's two scores, as pure functions and as local ``evaluate`` metric modules loaded by path.

The ``evaluate`` built-ins are fetched from the Hub at load time (they fail offline), so the two metrics
ship inside the package (``metrics/<name>/<name>.py``) and :func:`load_metric` loads them by folder with
the Hub switched off. The pure functions here compute exactly the same numbers per sample; the suite uses
them for per-sample scores and the ``evaluate`` modules for the published aggregate.

>>> string_match_all("the values are 12 and 7", ["12", "7", "3"])
0.6666666666666666
>>> string_match_part("the value is 12", ["12", "7"])
1.0
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

MetricName = Literal["string_match_all", "string_match_part"]
METRICS: tuple[MetricName, ...] = ("string_match_all", "string_match_part")
METRICS_DIR = Path(__file__).resolve().parent / "metrics"


class MetricError(ValueError):
    """A metric name is unknown or its module cannot be loaded; the message names the fix."""


def string_match_all(prediction: str, references: Sequence[str]) -> float:
    """Share of ``references`` found (case-insensitive substring) in ``prediction``, in [0, 1]."""
    if not references:
        return 0.0
    text = prediction.lower()
    return sum(1 for ref in references if ref.lower() in text) / len(references)


def string_match_part(prediction: str, references: Sequence[str]) -> float:
    """1.0 when any of ``references`` occurs (case-insensitive substring) in ``prediction``, else 0.0."""
    text = prediction.lower()
    return 1.0 if any(ref.lower() in text for ref in references) else 0.0


def score_sample(metric: str, prediction: str, references: Sequence[str]) -> float:
    """The per-sample score of ``metric`` (one of :data:`METRICS`), in [0, 1]."""
    if metric == "string_match_all":
        return string_match_all(prediction, references)
    if metric == "string_match_part":
        return string_match_part(prediction, references)
    raise MetricError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")


CITATION = "Hsieh et al., RULER: What's the Real Context Size of Your Long-Context Language Models? (2024)"


def aggregate(
    metric: str, predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> dict[str, float]:
    """``{metric: percentage}``: the mean per-sample score of ``metric`` x 100, rounded to 2 places (what the
    ``evaluate`` modules return; 0.0 for no samples)."""
    scores = [score_sample(metric, p, refs) for p, refs in zip(predictions, references, strict=True)]
    return {metric: round(100 * sum(scores) / len(scores), 2) if scores else 0.0}


def metric_info(description: str, returns: str) -> Any:
    """The ``evaluate.MetricInfo`` of a packaged metric: predictions are strings, references lists of them;
    ``returns`` says what its score is."""
    import datasets
    import evaluate

    inputs = (
        "\nArgs:\n    predictions: list of generated strings.\n    references: list of lists of reference "
        f"strings (one list per prediction).\nReturns:\n    {returns}\n"
    )
    return evaluate.MetricInfo(
        description=description,
        citation=CITATION,
        inputs_description=inputs,
        features=datasets.Features(
            {
                "predictions": datasets.Value("string"),
                "references": datasets.Sequence(datasets.Value("string")),
            }
        ),
    )


def metric_path(name: str) -> Path:
    """Folder of the packaged ``evaluate`` module of metric ``name``."""
    if name not in METRICS:
        raise MetricError(f"unknown metric {name!r}; use one of {', '.join(METRICS)}")
    return METRICS_DIR / name


def load_metric(name: str) -> Any:
    """The packaged metric ``name`` as an ``evaluate.EvaluationModule``, loaded offline by path.

    Sets ``HF_HUB_OFFLINE=1`` and ``HF_EVALUATE_OFFLINE=1`` for the load when they are unset: a local
    module never needs the network, and ``evaluate`` would otherwise try the Hub first.
    """
    folder = metric_path(name)
    try:
        import datasets  # noqa: F401  (evaluate needs datasets imported first; one import per line)
        import evaluate
    except ImportError as exc:
        raise MetricError(f"metric {name!r} needs `evaluate`: pip install 'litelong-hf[eval]'") from exc
    previous = {key: os.environ.get(key) for key in ("HF_HUB_OFFLINE", "HF_EVALUATE_OFFLINE")}
    for key in previous:
        os.environ.setdefault(key, "1")
    try:
        return evaluate.load(str(folder))
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)


@cache
def _loaded(name: str) -> Any:
    return load_metric(name)


def compute_metric(name: str, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """The aggregate score (a percentage) of ``name`` through its ``evaluate`` module (loaded once)."""
    result = _loaded(name).compute(predictions=list(predictions), references=[list(r) for r in references])
    return float(result[name])
