"""RULER's scores: pure functions and the packaged evaluate modules, loaded with the network off."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from litelong_hf.evaluation.scoring import (
    MetricError,
    compute_metric,
    load_metric,
    score_sample,
    string_match_all,
    string_match_part,
)


def test_string_match_all_counts_each_reference_case_insensitively() -> None:
    assert string_match_all("Values: ABC and 42", ["abc", "42"]) == 1.0
    assert string_match_all("only 42", ["abc", "42"]) == 0.5
    assert string_match_all("nothing", ["abc"]) == 0.0
    assert string_match_all("anything", []) == 0.0


def test_string_match_part_needs_any_reference() -> None:
    assert string_match_part("it is 42", ["abc", "42"]) == 1.0
    assert string_match_part("it is 43", ["abc", "42"]) == 0.0


def test_unknown_metric_is_a_clear_error() -> None:
    with pytest.raises(MetricError, match="string_match_all"):
        score_sample("exact_match", "a", ["a"])


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connection attempt outside this machine fails (and is recorded)."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1"):
            attempts.append(address)
            raise OSError("network disabled in this test")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_EVALUATE_OFFLINE", raising=False)
    return attempts


@pytest.mark.parametrize("name", ["string_match_all", "string_match_part"])
def test_metric_modules_load_offline_and_agree_with_the_pure_functions(
    name: str, no_network: list[Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    metric = load_metric(name)
    predictions = ["the numbers are 12 and 7", "none here", "ABC"]
    references = [["12", "7", "3"], ["1"], ["abc", "zzz"]]
    result = metric.compute(predictions=predictions, references=references)
    expected = 100 * sum(score_sample(name, p, r) for p, r in zip(predictions, references, strict=True)) / 3
    assert result[name] == pytest.approx(round(expected, 2))
    assert compute_metric(name, predictions, references) == pytest.approx(round(expected, 2))
    assert no_network == []
