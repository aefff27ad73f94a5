"""Kill a generation subprocess once it has cached some LLM answers: the resume tests' shared step."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from litelong_hf.llm import RequestCache


def kill_after_answers(args: Sequence[str], cache: Path, min_answers: int, timeout_s: float = 240) -> int:
    """Start ``args``, SIGKILL it as soon as ``cache/llm`` holds ``min_answers`` answers; return how many
    answers the cache holds after the kill (asserting the run was still going when it was killed)."""
    proc = subprocess.Popen(list(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    db = cache / "llm" / "requests.sqlite"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and len(RequestCache(cache / "llm")) >= min_answers:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    answered = len(RequestCache(cache / "llm"))
    assert answered >= min_answers
    return answered
