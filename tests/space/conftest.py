"""Fixtures of the Space tests: one local Hub and one running Space (a real server process) per session.

The Space process talks to the local Hub (``HF_ENDPOINT``) and its own ``HF_TOKEN`` is a canary valid
nowhere: a push must use the token typed into the page, and a visitor's endpoint must never receive it.
All tests share the Space's cache, so the browser test's generation reuses the rows the API test made with
the same inputs.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # space_helpers beside this file

from space_helpers import SpaceProcess, run_space

from litelong_hf.testing.hub_server import HubServer


@pytest.fixture(scope="session")
def hub_token() -> str:
    return "hf_space_" + secrets.token_hex(12)


@pytest.fixture(scope="session")
def space_hub(tmp_path_factory: pytest.TempPathFactory, hub_token: str) -> Iterator[HubServer]:
    with HubServer(tmp_path_factory.mktemp("space-hub"), token=hub_token, user="tester") as server:
        yield server


@pytest.fixture(scope="session")
def space(tmp_path_factory: pytest.TempPathFactory, space_hub: HubServer) -> Iterator[SpaceProcess]:
    with run_space(tmp_path_factory.mktemp("space"), {"HF_ENDPOINT": space_hub.url}) as process:
        yield process
