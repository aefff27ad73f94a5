"""Shared fixtures: every test gets its own litelong-hf cache, and progress bars stay quiet."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from litelong_hf.corpus import CorpusConfig, Document, load_documents

# CI runs the property tests on a fixed sequence of examples (HYPOTHESIS_PROFILE=ci) so a landing never
# depends on luck. Local runs draw fresh examples each time (`--hypothesis-seed=N` repeats one).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("LITELONG_HF_CACHE", str(tmp_path_factory.mktemp("litelong-cache")))
    monkeypatch.setenv("LITELONG_HF_NO_PROGRESS", "1")
    # `--debug` sets LITELONG_HF_DEBUG for the process; under CliRunner that must not leak into other tests.
    monkeypatch.delenv("LITELONG_HF_DEBUG", raising=False)
    yield


@pytest.fixture(scope="session")
def demo_documents() -> list[Document]:
    """The bundled demo corpus (3,775 news articles after filtering), loaded once per session."""
    return load_documents(CorpusConfig())


@pytest.fixture
def shared_dir() -> Path:
    """The project's shared/ folder beside the checkout."""
    return Path(__file__).resolve().parents[2] / "shared"
