"""``local_server`` and ``litelong-hf serve-local``: a real llama.cpp server process, started and stopped."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest
import typer
from typer.testing import CliRunner

import litelong_hf
from litelong_hf.llm.server import LocalServer, LocalServerError, find_free_port, local_server

SERVE_PY = Path(litelong_hf.__file__).parent / "cli" / "serve.py"


def _serve_app() -> typer.Typer:
    # Loaded by path: `litelong_hf.cli` registers every area's commands on import, and this test is about ours.
    spec = importlib.util.spec_from_file_location("litelong_hf_cli_serve_under_test", SERVE_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = typer.Typer()
    module.register(app)
    app.command("noop")(lambda: None)  # a second command, so typer keeps `serve-local` as a sub-command
    return app


def test_serve_local_help() -> None:
    result = CliRunner().invoke(_serve_app(), ["serve-local", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--threads", "--n-ctx", "--model-path"):
        assert option in result.output


@pytest.mark.integration
def test_local_server_starts_answers_and_stops() -> None:
    with local_server(n_ctx=512, threads=1) as url:
        response = httpx2.get(f"{url}/v1/models", timeout=10)
        assert response.status_code == 200 and response.json()["data"][0]["owned_by"] == "me"
    with pytest.raises(httpx2.TransportError):
        httpx2.get(f"{url}/v1/models", timeout=2)


@pytest.mark.integration
def test_failed_start_quotes_the_server_log(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"this is not a GGUF file")
    with pytest.raises(LocalServerError, match="exited with code"):
        LocalServer(model_path=bogus, n_ctx=512, threads=1, startup_timeout_s=30).start()


# The command runs in a child whose signal dispositions are set explicitly: a suite started under `nohup`
# (SIGHUP ignored) or as a background job (SIGINT ignored) passes those on, and the test must not care.
_SERVE_CODE = (
    "import signal, importlib.util, typer\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "signal.signal(signal.SIGHUP, signal.SIG_DFL)\n"
    f"spec = importlib.util.spec_from_file_location('serve', {str(SERVE_PY)!r})\n"
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
    "app = typer.Typer(); module.register(app); app.command('noop')(lambda: None)\n"
    "app()\n"
)


def _answers(port: int) -> bool:
    try:
        return httpx2.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200
    except httpx2.TransportError:
        return False


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody has reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _parent_pid(pid: int) -> int:
    """The parent process id of ``pid`` (field 4 of ``/proc/PID/stat``)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _start_serve_local(port: int) -> tuple[subprocess.Popen[bytes], int, str]:
    """``serve-local`` in a subprocess, once it says it is serving; returns the process, its server's pid
    and what it printed so far. A hang is stopped by the suite's per-test deadline."""
    command = [sys.executable, "-c", _SERVE_CODE, "serve-local", "--port", str(port), "--threads", "1"]
    process = subprocess.Popen([*command, "--n-ctx", "512"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None
    printed = ""
    for line in process.stderr:  # until "Serving ... (pid N, ...)", or the end if it failed
        printed += line.decode()
        if line.startswith(b"Serving "):
            break
    found = re.search(r"\(pid (\d+),", printed)
    if found is None:
        process.kill()
        raise AssertionError(f"serve-local never became ready: {printed[-2000:]}")
    server_pid = int(found.group(1))
    assert _children(process.pid) == [server_pid]
    assert _answers(port)
    return process, server_pid, printed


def _children(pid: int) -> list[int]:
    """Pids of the running children of ``pid`` (from ``/proc``)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _wait_gone(pid: int, port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _alive(pid) or _answers(port):
        assert time.monotonic() < deadline, f"the llama.cpp server (pid {pid}) outlived serve-local"
        time.sleep(0.1)


@pytest.mark.integration
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_serve_local_stops_its_server_on_a_stop_signal(signum: signal.Signals) -> None:
    port = find_free_port()
    process, server_pid, printed = _start_serve_local(port)
    try:
        process.send_signal(signum)
        process.wait(timeout=30)
        assert process.stderr is not None
        # read(), not communicate(): the line iteration above may hold the next lines in its buffer.
        text = printed + process.stderr.read().decode()
        assert process.returncode == 0, text[-2000:]
        assert f"Use it with: --endpoint http://127.0.0.1:{port}" in text
        assert f"{signum.name}: stopping the server" in text
    finally:
        if process.poll() is None:
            process.kill()
    _wait_gone(server_pid, port)  # stopped by serve-local itself, before it exited
    assert not _alive(server_pid)


@pytest.mark.integration
def test_server_dies_with_serve_local_even_on_sigkill() -> None:
    port = find_free_port()
    process, server_pid, _ = _start_serve_local(port)
    try:
        process.send_signal(signal.SIGKILL)  # no handler runs: only the child's watchdog can stop the server
        process.wait(timeout=30)
        _wait_gone(server_pid, port)
    finally:
        if _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)
    with pytest.raises(httpx2.TransportError):
        httpx2.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)


@pytest.mark.integration
def test_server_started_from_a_thread_outlives_the_thread() -> None:
    # The watchdog follows the parent process, not the thread that started the server (prctl's
    # PR_SET_PDEATHSIG would kill the server when that thread ended).
    server = LocalServer(n_ctx=512, threads=1)
    started = threading.Thread(target=server.start)
    started.start()
    started.join(60)
    try:
        assert server.pid is not None and not started.is_alive()
        # The server's parent is this process (what its watchdog checks), not the thread that ended.
        assert _parent_pid(server.pid) == os.getpid()
        # A generation after the thread ended is answered, and the server is still up afterwards: a server
        # tied to the thread (PR_SET_PDEATHSIG) would have been sent SIGTERM when the thread exited.
        answer = httpx2.post(
            f"http://127.0.0.1:{server.port}/v1/completions",
            json={"prompt": "The capital of France is", "max_tokens": 8, "temperature": 0},
            timeout=60,
        )
        assert answer.status_code == 200 and answer.json()["choices"][0]["text"]
        assert _answers(server.port) and _alive(server.pid)
    finally:
        server.stop()
