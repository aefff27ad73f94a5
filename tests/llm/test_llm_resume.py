"""A killed run, started again, repeats no answered request (counted at the proxy)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from llm_helpers import SERVER_KEY

from litelong_hf.llm import RequestCache

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("resume_worker.py")
TOTAL = 8


def _command(proxy: FaultProxy, cache_dir: Path) -> list[str]:
    return [sys.executable, str(WORKER), proxy.url, str(cache_dir), str(TOTAL)]


def test_killed_run_resumes_without_repeating_answered_requests(proxy: FaultProxy, tmp_path: Path) -> None:
    env = {**os.environ, "LITELONG_HF_API_KEY": SERVER_KEY}
    first = subprocess.Popen(
        _command(proxy, tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 90
    while proxy.forwarded < 3:
        assert first.poll() is None, first.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)

    answered = len(RequestCache(tmp_path))
    assert 1 <= answered < TOTAL, answered
    proxy.reset_counts()

    second = subprocess.run(_command(proxy, tmp_path), env=env, capture_output=True, timeout=90, check=False)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    stats = json.loads(second.stdout.decode().strip().splitlines()[-1])
    assert proxy.chat_requests == TOTAL - answered  # only the missing requests reached the server
    assert (stats["requests_sent"], stats["cache_hits"]) == (TOTAL - answered, answered)
    assert len(RequestCache(tmp_path)) == TOTAL
