"""Kill a generation subprocess once it has cached some LLM answers: the resume tests' shared step."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litelong_hf.llm import RequestCache
from litelong_hf.pipeline import merged_report
from litelong_hf.presets import make_config


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


_LOAD_SCRIPT = """
import json, sys
import litelong_hf
ds = litelong_hf.load(sys.argv[1], cache_dir=sys.argv[2], **json.loads(sys.argv[3]))
print(json.dumps(list(ds["id"])))
"""


def kill_and_rerun(config_name: str, cache: Path, settings: dict[str, Any], min_answers: int) -> list[str]:
    """Run ``litelong_hf.load(config_name, **settings)`` in a subprocess, SIGKILL it after ``min_answers``
    LLM answers, run it again to the end, and check that the re-run sent only the requests that had no answer
    yet. Returns the row ids of the re-run."""
    args = [sys.executable, "-c", _LOAD_SCRIPT, config_name, str(cache), json.dumps(settings)]
    before = kill_after_answers(args, cache, min_answers=min_answers)
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=600)
    report = merged_report(make_config(config_name, cache_dir=str(cache), **settings))
    assert report.llm["cache_hits"] == before
    assert report.llm["requests"] + report.llm["cache_hits"] == len(RequestCache(cache / "llm"))
    return list(json.loads(out.stdout.strip().splitlines()[-1]))
