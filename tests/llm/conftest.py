"""Fixtures of the LLM tests: one real llama.cpp server per session, a fault proxy per test, a deadline."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside this file (fault_proxy, resume_worker)

from fault_proxy import FaultProxy
from llm_helpers import SERVER_KEY

from litelong_hf.llm import local_server

TEST_DEADLINE_S = 120
"""No LLM test may run longer than this; a hang fails the test instead of stalling the suite."""


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"test ran longer than {TEST_DEADLINE_S} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_DEADLINE_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """A real ``python -m llama_cpp.server`` on the packaged SmolLM2, requiring :data:`SERVER_KEY`.

    One thread: on the shared 2-core CI machine two llama.cpp threads spin-wait on each other and a 2 s
    answer can take 40 s (measured); one thread stays steady.
    """
    with local_server(n_ctx=2048, threads=1, api_key=SERVER_KEY) as url:
        yield url


@pytest.fixture
def proxy(llama_server: str) -> Iterator[FaultProxy]:
    """A fault-injecting, request-counting proxy in front of the session server."""
    fault_proxy = FaultProxy(llama_server)
    fault_proxy.start()
    yield fault_proxy
    fault_proxy.stop()
