"""Shared fixtures: every test gets its own litelong-hf cache (sharing the read-only corpus stores and
indexes across the session), and progress bars stay quiet."""

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


SHARED_ARTEFACTS = ("corpora", "indexes", "embeddings")
"""Cache folders whose entries are read-only once built: keyed by content (corpus, index, model fingerprints),
built under a lock and published atomically. Every test's cache links them to one session folder, so the
demo store and BM25 indexes are built once per session instead of once per test."""


@pytest.fixture(scope="session")
def shared_artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session folder holding :data:`SHARED_ARTEFACTS` (one subfolder each)."""
    root = tmp_path_factory.mktemp("litelong-shared")
    for name in SHARED_ARTEFACTS:
        (root / name).mkdir()
    return root


def seeded_cache(root: Path, shared: Path) -> Path:
    """``root`` as a fresh litelong-hf cache whose read-only artefact folders are those of ``shared``."""
    root.mkdir(parents=True, exist_ok=True)
    for name in SHARED_ARTEFACTS:
        (root / name).symlink_to(shared / name, target_is_directory=True)
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, shared_artefacts: Path
) -> Iterator[None]:
    # A fresh root per test (LLM answers, shards, topics, stats are written per test), sharing only the
    # read-only artefacts.
    root = seeded_cache(tmp_path_factory.mktemp("litelong-cache"), shared_artefacts)
    monkeypatch.setenv("LITELONG_HF_CACHE", str(root))
    monkeypatch.setenv("LITELONG_HF_NO_PROGRESS", "1")
    # `--debug` sets LITELONG_HF_DEBUG for the process; under CliRunner that must not leak into other tests.
    # setenv (not delenv, which records nothing when the variable is absent) restores it after the test.
    monkeypatch.setenv("LITELONG_HF_DEBUG", "0")
    yield


@pytest.fixture(scope="session")
def demo_documents() -> list[Document]:
    """The bundled demo corpus (3,775 news articles after filtering), loaded once per session."""
    return load_documents(CorpusConfig())


@pytest.fixture
def shared_dir() -> Path:
    """The project's shared/ folder beside the checkout."""
    return Path(__file__).resolve().parents[2] / "shared"


RAY_MODULES = ("test_pipeline.py", "test_executors.py", "test_parallel_build.py", "test_ray_cluster.py")
"""Test modules that start local Ray clusters: run by one xdist worker, one after another."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``pytest -n N --dist loadgroup`` (CI), a module's tests stay on one worker, so its module- and
    session-scoped fixtures (demo store, indexes, servers) are built once per worker and not per test; the
    modules that start Ray clusters share one group, so two Ray clusters never start at once."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        module = item.nodeid.split("::")[0]
        group = "ray" if module.rsplit("/", 1)[-1] in RAY_MODULES else module
        item.add_marker(pytest.mark.xdist_group(group))
