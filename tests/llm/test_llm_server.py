"""``local_server`` and ``litelong-hf serve-local``: a real llama.cpp server process, started and stopped."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
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


@pytest.mark.integration
def test_serve_local_command_runs_until_interrupted() -> None:
    port = find_free_port()
    code = (
        "import sys, importlib.util, typer\n"
        f"spec = importlib.util.spec_from_file_location('serve', {str(SERVE_PY)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "app = typer.Typer(); module.register(app); app.command('noop')(lambda: None)\n"
        "app()\n"
    )
    command = [
        sys.executable,
        "-c",
        code,
        "serve-local",
        "--port",
        str(port),
        "--threads",
        "1",
        "--n-ctx",
        "512",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[1].decode()[-2000:]
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, "serve-local never became ready"
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert f"http://127.0.0.1:{port}" in stderr.decode()
    finally:
        if process.poll() is None:
            process.kill()
    with pytest.raises(httpx2.TransportError):
        httpx2.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
