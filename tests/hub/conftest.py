"""Fixtures for the publishing tests: a local Hub server and row factories (helpers in hub_fixtures.py)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import datasets
import pytest
from hub_fixtures import REPO_ROOT, LocalHub, instruction_dataset, pretraining_dataset

from litelong_hf.testing.hub_server import HubServer


@pytest.fixture
def local_hub(tmp_path: Path) -> Iterator[LocalHub]:
    """A local Hub (background thread, free port) and the environment a client process needs for it."""
    token = "hf_test_" + secrets.token_hex(12)
    workdir = tmp_path / "work"
    workdir.mkdir()
    with HubServer(workdir / "hub-storage", token=token, user="tester") as server:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("HF_", "HUGGING_FACE", "LITELONG_HF_TEST"))
        }
        env.update(
            {
                "HF_ENDPOINT": server.url,
                "HF_TOKEN": token,
                "HF_HUB_DISABLE_XET": "1",
                "HF_HOME": str(workdir / "hf-home"),
                "HF_DATASETS_CACHE": str(workdir / "datasets-cache"),
                "HF_HUB_DISABLE_TELEMETRY": "1",
                "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
                "TMPDIR": str(workdir / "tmp"),
                "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(
                    os.pathsep
                ),
                "LITELONG_HF_CACHE": str(workdir / "litelong-cache"),
            }
        )
        (workdir / "tmp").mkdir()
        yield LocalHub(server=server, token=token, workdir=workdir, env=env)


@pytest.fixture
def make_pretraining() -> Callable[..., datasets.Dataset]:
    return pretraining_dataset


@pytest.fixture
def make_instruction() -> Callable[..., datasets.Dataset]:
    return instruction_dataset
