"""The long-range dependency score with the real embedded SmolLM2 (small windows: CI has 2 cores)."""

from __future__ import annotations

import random

import pytest

from litelong_hf.corpus import Document
from litelong_hf.evaluation.dependency import DependencyConfig, DependencyError, LlamaCppLM, dependency_gain

# Small windows: the whole test evaluates about 7,300 tokens of a 135M model (CI has 2 cores). The short
# context (192 tokens) holds a whole short article, so only a coherent text gains from the rest.
CONFIG = DependencyConfig(window=384, short_context=192, tail=32, windows_per_row=2, max_rows=3, seed=0)


def test_short_context_and_tail_must_leave_room_for_long_context() -> None:
    with pytest.raises(DependencyError, match="below window"):
        DependencyConfig(window=256, short_context=200, tail=64)


@pytest.fixture(scope="module")
def lm() -> LlamaCppLM:
    return LlamaCppLM(window=CONFIG.window)


@pytest.mark.integration
def test_coherent_and_concatenated_rows_are_scored_on_real_windows(
    lm: LlamaCppLM, demo_documents: list[Document]
) -> None:
    by_length = sorted(demo_documents, key=lambda d: len(d.text))
    long_docs = [d.text for d in by_length[-3:]]  # the longest articles (4-6K tokens): one text per row
    # Short articles (about 40-130 tokens), each used once: a window holds several unrelated ones.
    short = list({d.text[:200]: d.text for d in by_length if 200 <= len(d.text) < 600}.values())
    picked = random.Random(0).sample(short, 3 * 24)
    concatenated = ["\n\n".join(picked[i * 24 : (i + 1) * 24]) for i in range(3)]
    coherent = dependency_gain(lm, long_docs, CONFIG)
    random_rows = dependency_gain(lm, concatenated, CONFIG)
    assert coherent.windows == random_rows.windows == 6
    assert coherent.gain is not None and random_rows.gain is not None
    assert all(abs(g) < 5 for g in coherent.per_window + random_rows.per_window)
    # Measured here (2026-11-30, SmolLM2-135M, these 384-token windows): coherent 0.053 vs random 0.055
    # nats/token, too close to order reliably; with short_context=32 random rows even gained more (0.26 vs
    # 0.18). The ordering the score is meant to show needs longer windows than CI can afford; see
    # docs/evaluation.md. What is asserted: both sets are scored on the same number of real windows.


@pytest.mark.integration
def test_tail_logprobs_match_llama_cpp_logits_all(lm: LlamaCppLM) -> None:
    import numpy as np
    from llama_cpp import Llama

    ids = lm.tokenize("The quick brown fox jumps over the lazy dog. It was not amused. " * 8)[:120]
    tail = lm.tail_logprobs(ids, 16)
    reference = Llama(model_path=str(lm.path), n_ctx=128, logits_all=True, verbose=False)
    try:
        reference.eval(ids)
        scores = np.asarray(reference.scores[: len(ids)], dtype=np.float64)
    finally:
        reference.close()
    logits = scores[len(ids) - 17 : len(ids) - 1]
    peak = logits.max(axis=1, keepdims=True)
    logprobs = logits - peak - np.log(np.exp(logits - peak).sum(axis=1, keepdims=True))
    expected = logprobs[np.arange(16), ids[-16:]]
    assert tail == pytest.approx(expected, abs=1e-3)
    assert (tail <= 0).all()
