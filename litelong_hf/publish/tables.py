"""Pure functions that turn a run report into the rows of the card's tables.

Each function takes plain values (a report dict, an ``extra`` entry) and is robust to absent or oddly
shaped keys: a report written by an older or newer litelong-hf renders what it can and skips the rest.

The ``extra`` entries read here:

================  =====================================================================================
``quality``       data-quality scores of the set next to the same scores for a ``random-concat``
                  baseline (evaluation, ``litelong-hf eval quality``); see :func:`quality_rows`
``qa_gates``      pass rates of hierarchical QA's gates (also read: ``gates``); see :func:`gate_rows`
``hardness``      NExtLong negative hardness (``negative_mean_score`` vs ``random_mean_score``...)
================  =====================================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GateRow",
    "ScoreRow",
    "flatten_numbers",
    "gate_rows",
    "hardness_rows",
    "llm_rows",
    "quality_rows",
    "reuse_buckets",
    "skipped_rows",
]

_SET_KEYS = ("rows", "set", "dataset", "scores", "this", "value", "values")
_VALUE_KEYS = ("value", "set", "dataset", "this", "score")  # per score; "rows" there is usually a count
_BASELINE_KEYS = ("baseline", "random_concat", "random-concat", "reference", "random")
_PASSED_KEYS = ("passed", "pass", "ok", "accepted", "kept")
_FAILED_KEYS = ("failed", "fail", "rejected", "dropped")
_TOTAL_KEYS = ("total", "checked", "tried", "attempts", "count", "n")
_RATE_KEYS = ("rate", "pass_rate", "share")


@dataclass(frozen=True)
class ScoreRow:
    """One score of the set next to the same score of the baseline (either may be missing)."""

    name: str
    value: float | None
    baseline: float | None
    unit: str = ""
    higher_is_better: bool | None = None

    @property
    def ratio(self) -> float | None:
        """``value / baseline`` when both are there and the baseline is not zero."""
        if self.value is None or self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


@dataclass(frozen=True)
class GateRow:
    """Pass rate of one QA gate: ``passed`` of ``total`` (counts may be unknown when only a rate is given)."""

    name: str
    passed: int | None
    total: int | None
    rate: float | None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _first_key(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in mapping), None)


def flatten_numbers(value: Any, prefix: str = "") -> dict[str, float]:
    """Every number in a nested mapping, keyed by its dotted path (``{"a": {"b": 1}}`` → ``{"a.b": 1.0}``)."""
    out: dict[str, float] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            out.update(flatten_numbers(item, f"{prefix}.{key}" if prefix else str(key)))
    else:
        number = _number(value)
        if number is not None and prefix:
            out[prefix] = number
    return out


def _notes(mapping: Mapping[str, Any], prefix: str = "", *, numbers: bool = False) -> list[tuple[str, Any]]:
    """Top-level strings (model names, baseline method...) and, with ``numbers``, bare numbers (row counts,
    target tokens) of a mapping: shown under the table."""
    return [
        (f"{prefix}{k}", v)
        for k, v in mapping.items()
        if (isinstance(v, str) and v) or (numbers and _number(v) is not None)
    ]


def quality_rows(quality: Any) -> tuple[list[ScoreRow], list[tuple[str, Any]]]:
    """Rows ``(score, this set, baseline)`` and notes ``(key, text)`` of ``report.extra["quality"]``.

    Two shapes are understood, at any nesting depth:

    * side by side: ``{"rows": {score: x, ...}, "baseline": {score: y, ...}, "model": "..."}``
      (``set``/``dataset``/``scores`` for the first, ``random_concat``/``reference`` for the second);
    * per score: ``{score: {"value": x, "baseline": y, "unit": "...", "higher_is_better": true}, ...}``
      (what :func:`litelong_hf.evaluation.quality.quality_scores` writes); bare numbers and strings next to
      the scores (``rows``, ``lm``, ``settings``...) become notes.

    >>> rows, _ = quality_rows({"purity": {"value": 0.6, "baseline": 0.3}})
    >>> rows[0].name, rows[0].ratio
    ('purity', 2.0)
    """
    if not isinstance(quality, Mapping):
        return [], []
    set_key = next((k for k in _SET_KEYS if isinstance(quality.get(k), Mapping)), None)
    if set_key is not None:
        return _side_by_side(quality, set_key, _first_key(quality, _BASELINE_KEYS))
    rows: list[ScoreRow] = []
    notes = _notes(quality, numbers=True)
    for key, item in quality.items():
        if not isinstance(item, Mapping):
            continue
        value_key, pair_key = _first_key(item, _VALUE_KEYS), _first_key(item, _BASELINE_KEYS)
        value = _number(item.get(value_key)) if value_key else None
        paired = _number(item.get(pair_key)) if pair_key else None
        if value is not None or paired is not None:
            direction = item.get("higher_is_better")
            unit = item.get("unit")
            rows.append(
                ScoreRow(
                    str(key),
                    value,
                    paired,
                    unit=unit if isinstance(unit, str) else "",
                    higher_is_better=direction if isinstance(direction, bool) else None,
                )
            )
            continue
        inner_rows, inner_notes = quality_rows(item)
        rows += [
            ScoreRow(f"{key}.{r.name}", r.value, r.baseline, r.unit, r.higher_is_better) for r in inner_rows
        ]
        notes += [(f"{key}.{k}", v) for k, v in inner_notes]
    return rows, notes


def _side_by_side(
    quality: Mapping[str, Any], set_key: str, base_key: str | None
) -> tuple[list[ScoreRow], list[tuple[str, Any]]]:
    """``{"rows": {...}, "baseline": {...}}``: one row per score found on either side."""
    values = flatten_numbers(quality[set_key])
    baseline = flatten_numbers(quality[base_key]) if base_key is not None else {}
    names = [*values, *(n for n in baseline if n not in values)]
    notes = _notes(quality)
    if base_key is not None and isinstance(quality[base_key], Mapping):
        notes += _notes(quality[base_key], prefix=f"{base_key}.")
    return [ScoreRow(n, values.get(n), baseline.get(n)) for n in names], notes


def gate_rows(gates: Any) -> tuple[list[GateRow], list[tuple[str, float]]]:
    """Rows per QA gate and other counters (``retried``, ``dropped``...) of ``report.extra["qa_gates"]``.

    A gate is ``{"passed": p, "total": t}`` (or ``checked``/``tried``; ``failed`` adds to the total), or
    ``{"rate": r}``, or a bare rate in [0, 1]. A nested ``{"gates": {...}}`` is unwrapped.

    >>> gate_rows({"question": {"passed": 3, "total": 4}})[0][0].rate
    0.75
    """
    if not isinstance(gates, Mapping):
        return [], []
    if isinstance(gates.get("gates"), Mapping):
        inner_rows, inner_counters = gate_rows(gates["gates"])
        outer = {k: v for k, v in gates.items() if k != "gates"}
        return inner_rows, inner_counters + [
            (k, n) for k, v in outer.items() if (n := _number(v)) is not None
        ]
    rows: list[GateRow] = []
    counters: list[tuple[str, float]] = []
    for name, item in gates.items():
        if isinstance(item, Mapping):
            passed = _number(item.get(_first_key(item, _PASSED_KEYS) or ""))
            failed = _number(item.get(_first_key(item, _FAILED_KEYS) or ""))
            total = _number(item.get(_first_key(item, _TOTAL_KEYS) or ""))
            rate = _number(item.get(_first_key(item, _RATE_KEYS) or ""))
            if total is None and passed is not None and failed is not None:
                total = passed + failed
            if rate is None and passed is not None and total:
                rate = passed / total
            if rate is None and passed is None:
                continue
            rows.append(
                GateRow(
                    _gate_name(str(name)),
                    int(passed) if passed is not None else None,
                    int(total) if total is not None else None,
                    rate,
                )
            )
        elif (number := _number(item)) is not None:
            if 0.0 <= number <= 1.0 and isinstance(item, float):
                rows.append(GateRow(_gate_name(str(name)), None, None, number))
            else:
                counters.append((str(name), number))
    return rows, counters


def _gate_name(key: str) -> str:
    """``grounding_pass_rate`` → ``grounding``; ``kept_rate`` → ``kept``."""
    for suffix in ("_pass_rate", "_rate"):
        if key.endswith(suffix) and len(key) > len(suffix):
            return key.removesuffix(suffix)
    return key


def hardness_rows(hardness: Any) -> list[ScoreRow]:
    """NExtLong's ``report.extra["hardness"]`` as (chosen negatives, random chunks) pairs."""
    if not isinstance(hardness, Mapping):
        return []
    pairs = (
        ("mean BM25 score against the meta-chunk", "negative_mean_score", "random_mean_score"),
        ("mean embedding cosine against the meta-chunk", "negative_mean_cosine", "random_mean_cosine"),
        ("share with the meta-document's label", "same_label_share", "random_same_label_share"),
        ("share of candidates dropped as near-copies", "near_copy_share", ""),
    )
    rows = []
    for name, negative_key, random_key in pairs:
        negative, random = _number(hardness.get(negative_key)), _number(hardness.get(random_key))
        if negative is not None or random is not None:
            rows.append(ScoreRow(name, negative, random))
    return rows


def skipped_rows(skipped: Any) -> list[tuple[str, str, int]]:
    """``(input kind, reason, count)`` from a report's ``skipped`` mapping."""
    if not isinstance(skipped, Mapping):
        return []
    return [
        (str(kind), str(reason), int(count))
        for kind, reasons in skipped.items()
        if isinstance(reasons, Mapping)
        for reason, count in reasons.items()
        if _number(count) is not None
    ]


def llm_rows(llm: Any) -> list[tuple[str, Any]]:
    """A report's LLM counters, one level of nesting flattened to ``role.counter``."""
    if not isinstance(llm, Mapping):
        return []
    rows = [(str(k), v) for k, v in llm.items() if not isinstance(v, Mapping | list)]
    rows += [
        (f"{k}.{kk}", vv)
        for k, v in llm.items()
        if isinstance(v, Mapping)
        for kk, vv in v.items()
        if not isinstance(vv, Mapping | list)
    ]
    return rows


_REUSE_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3", 3, 3),
    ("4", 4, 4),
    ("5–9", 5, 9),
    ("10–99", 10, 99),
    ("100+", 100, 10**18),
)


def reuse_buckets(distribution: Mapping[int, int]) -> list[tuple[str, int]]:
    """Reuse distribution bucketed for display: 1, 2, 3, 4, 5–9, 10–99, 100+ rows."""
    rows = []
    for label, low, high in _REUSE_BUCKETS:
        count = sum(n for k, n in distribution.items() if low <= k <= high)
        if count:
            rows.append((label, count))
    return rows
