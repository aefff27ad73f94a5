"""The RULER-style suite: exact lengths, needles at the requested depths, seeded, oracle 100% / wrong 0%."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from litelong_hf.evaluation.results import run_suite
from litelong_hf.evaluation.ruler import TASKS, SuiteConfig, SuiteError, generate_suite, resolve_tasks
from litelong_hf.evaluation.runners import ScriptedRunner, oracle_answer, wrong_answer
from litelong_hf.tokens import TokenCounter

DEPTHS = (0.0, 0.3, 0.5, 0.8, 1.0)


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter.get("llama-3")


@pytest.fixture(scope="module")
def suite(counter: TokenCounter) -> list:
    config = SuiteConfig(tasks=("all",), lengths=(700, 1500), depths=DEPTHS, samples=1, seed=3)
    return list(generate_suite(config, counter))


def test_every_task_and_cell_is_generated(suite: list) -> None:
    per_task = {t: sum(1 for s in suite if s.task == t) for t in TASKS}
    assert per_task["cwe"] == 2  # no depth grid
    assert all(n == 2 * len(DEPTHS) for t, n in per_task.items() if t != "cwe")
    assert len({s.id for s in suite}) == len(suite)


def test_samples_have_the_exact_token_length(suite: list, counter: TokenCounter) -> None:
    for sample in suite:
        assert len(counter.encode(sample.input)) == sample.length, sample.id


def test_needles_sit_at_the_requested_depth(suite: list) -> None:
    for sample in suite:
        if sample.depth is None:
            continue
        assert sample.needle_depths, sample.id
        # The first needle carries the requested depth (others are spread or random); the cut snaps to a
        # sentence or word boundary within 1% of the haystack.
        assert sample.needle_depths[0] == pytest.approx(sample.depth, abs=0.03), (
            sample.id,
            sample.needle_depths,
        )


def test_needle_depths_track_the_grid_for_single_needles(counter: TokenCounter) -> None:
    config = SuiteConfig(tasks=("niah_single_corpus_number",), lengths=(3000,), depths=(0.1, 0.6, 0.9))
    measured = [s.needle_depths[0] for s in generate_suite(config, counter)]
    assert measured == sorted(measured)
    assert measured == pytest.approx([0.1, 0.6, 0.9], abs=0.02)


def test_the_suite_is_seeded(counter: TokenCounter) -> None:
    config = SuiteConfig(tasks=("niah_multikey", "vt"), lengths=(600,), depths=(0.5,), seed=1)
    first = [s.input for s in generate_suite(config, counter)]
    again = [s.input for s in generate_suite(config, counter)]
    other = [s.input for s in generate_suite(SuiteConfig(**{**config.__dict__, "seed": 2}), counter)]
    assert first == again
    assert first != other


def test_values_have_their_kind(suite: list) -> None:
    by_task = {s.task: s for s in suite}
    assert by_task["niah_single_noise_number"].answers[0].isdigit()
    assert len(by_task["niah_single_corpus_uuid"].answers[0]) == 36
    assert by_task["niah_single_corpus_word"].answers[0].isalpha()
    assert len(by_task["niah_multivalue"].answers) == 4
    assert len(by_task["niah_multiquery"].answers) == 4
    assert len(by_task["niah_multikey"].answers) == 1
    assert len(by_task["vt"].answers) == 5  # the start variable and 4 hops
    assert len(by_task["cwe"].answers) == 10
    assert "The grass is green" in by_task["passkey"].input
    assert "The grass is green" not in by_task["niah_single_corpus_number"].input


def test_the_oracle_scores_100_and_a_wrong_model_0(suite: list, counter: TokenCounter) -> None:
    config = SuiteConfig(tasks=("all",), lengths=(700, 1500), depths=DEPTHS, samples=1, seed=3)
    perfect = run_suite(ScriptedRunner("oracle", oracle_answer, counter), suite, config)
    wrong = run_suite(ScriptedRunner("wrong", wrong_answer, counter), suite, config)
    assert perfect.overall == 100.0
    assert all(v == 100.0 for row in perfect.scores.values() for v in row.values())
    assert all(v == 100.0 for row in perfect.heatmap.values() for v in row.values())
    assert wrong.overall == 0.0
    assert set(perfect.scores) == set(TASKS)


def test_task_names_and_errors() -> None:
    assert resolve_tasks(["niah_single_1", "vt"]) == ("niah_single_noise_number", "vt")
    with pytest.raises(SuiteError, match="unknown task 'niah_9'"):
        SuiteConfig(tasks=("niah_9",))
    with pytest.raises(SuiteError, match="depths"):
        SuiteConfig(depths=(1.5,))


def test_a_length_too_short_for_the_task_says_so(counter: TokenCounter) -> None:
    with pytest.raises(SuiteError, match="too short"):
        list(generate_suite(SuiteConfig(tasks=("niah_multiquery",), lengths=(40,), depths=(0.5,)), counter))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    task=st.sampled_from(sorted(TASKS)),
    length=st.integers(min_value=400, max_value=5000),
    depth=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_any_length_depth_and_seed_is_exact(
    counter: TokenCounter, task: str, length: int, depth: float, seed: int
) -> None:
    config = SuiteConfig(tasks=(task,), lengths=(length,), depths=(depth,), seed=seed)
    (sample,) = generate_suite(config, counter)
    assert len(counter.encode(sample.input)) == length
    assert oracle_answer(sample) and all(a.lower() in oracle_answer(sample).lower() for a in sample.answers)
    if sample.needle_depths:
        assert sample.needle_depths[0] == pytest.approx(depth, abs=0.03)
