"""`litelong-hf push` with bad inputs: one message naming the fix, exit 2, no traceback, nothing published.

The push commands run against the local Hub server (in a subprocess with HF_ENDPOINT set); ``--debug``
is checked with the real console script.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hub_fixtures import LocalHub, pretraining_dataset, sample_report

from litelong_hf.report import RunReport

pytestmark = pytest.mark.integration

REPO = "tester/long-data"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _runs(hub: LocalHub) -> dict[str, Path]:
    good = hub.save_run("good", pretraining_dataset(3, 64, 1), sample_report("litelong-64k", "hash1"))
    empty = hub.save_run(
        "empty", pretraining_dataset(2, 64, 1).select([]), sample_report("litelong-64k", "h")
    )
    report_only = hub.workdir / "runs" / "report-only"
    report_only.mkdir(parents=True)
    failed = RunReport(config_name="litelong-64k")
    failed.skip("topic", "zero BM25 hits", 4)
    failed.save(report_only / "report.json")
    return {"good": good, "empty": empty, "report_only": report_only}


def test_bad_push_inputs_fail_cleanly(local_hub: LocalHub) -> None:
    hub = local_hub
    runs = _runs(hub)
    good = str(runs["good"])
    wrong_token = "hf_wrong_" + "y" * 24
    unreachable = f"http://127.0.0.1:{_closed_port()}"
    cases: list[tuple[list[str], str]] = [
        (["push", str(hub.workdir / "runs" / "nowhere"), REPO, "--config", "litelong-64k"], "does not exist"),
        (["push", str(runs["report_only"]), REPO], "4 skipped inputs"),
        (["push", str(runs["empty"]), REPO], "has no rows"),
        (["push", good, "me/bad name"], "Invalid repo id"),
        (["push", good, REPO, "--config", "litelong-128"], "Unknown config name"),
        (["push", good, REPO, "--config", "nextlong-64k"], "--config litelong-64k"),
        (["push", good, REPO], "No Hugging Face token found"),  # HF_TOKEN is empty for the batch
        (["push", good, REPO, "--token", wrong_token], "rejected the token"),
        (["push", good, REPO, "--token", "hf_unused", "--endpoint", unreachable], "Could not reach"),
        (["push", good, REPO, "--max-shard-size", "lots"], "Invalid size"),
        (["push", good, REPO, "--debug", "--config", "litelong-1"], ""),
    ]
    batch = hub.workdir / "argvs.json"
    batch.write_text(json.dumps([argv for argv, _ in cases]))
    run = hub.client("cli-batch", str(batch), token="", extra_env={"LITELONG_TEST_NO_BACKOFF": "1"})
    assert run.payload.get("ok"), run.stderr[-3000:]
    results = run.payload["results"]
    for (argv, expected), result in zip(cases[:-1], results, strict=False):
        output = result["output"]
        assert result["exit_code"] == 2, (argv, output)
        assert result["exception"] is None, (argv, result)
        assert expected in output, (argv, output)
        assert "Traceback" not in output and wrong_token not in output and hub.token not in output
        error_lines = output[output.index("error: ") :].strip().splitlines()
        assert len(error_lines) == 2 and "--debug" in error_lines[1], output  # the message, then the hint
    debug = results[-1]
    assert debug["exit_code"] == 1 and debug["exception"] == "PushValidationError"  # escapes: traceback

    # nothing was created or published by any of them
    assert hub.server.repo_ids() == []
    assert not any("/commit/" in r.path or r.path.startswith("/lfs-upload/") for r in hub.server.log)
    assert hub.scan_for_token(run.stdout, run.stderr) == []


def _console_script(hub: LocalHub, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("litelong-hf", path=str(Path(sys.executable).parent))
    assert exe is not None, "the litelong-hf console script is installed by `pip install -e .`"
    return subprocess.run(
        [exe, *args], env=hub.env, cwd=str(hub.workdir), capture_output=True, text=True, timeout=300
    )


def test_debug_shows_the_traceback_only_when_asked(local_hub: LocalHub) -> None:
    hub = local_hub
    missing = str(hub.workdir / "runs" / "missing")
    plain = _console_script(hub, "push", missing, REPO, "--config", "litelong-64k")
    assert plain.returncode == 2
    assert (
        "error: " in plain.stderr
        and "does not exist" in plain.stderr
        and "Traceback" not in plain.stdout + plain.stderr
    )
    debug = _console_script(hub, "push", missing, REPO, "--config", "litelong-64k", "--debug")
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and "PushValidationError" in debug.stderr
    assert hub.token not in debug.stdout + debug.stderr
