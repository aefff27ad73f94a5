"""``litelong-hf serve-local``: the packaged model behind llama.cpp's OpenAI-compatible server.

The server runs as a child process. It stops with the command however the command is stopped: Ctrl-C
(``SIGINT``), ``SIGTERM`` (``docker stop``, systemd, ``kill``) and ``SIGHUP`` (a closed terminal; left alone
when ignored, as under ``nohup``) stop it in order; a ``SIGKILL``, which no process can catch, ends it
through the child's own watchdog on its parent (see ``litelong_hf/llm/_server_child.py``).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import typer

from litelong_hf.errors import cli_command
from litelong_hf.llm.config import LLMConfig


class _StopSignal(BaseException):
    """Raised by the handlers of ``SIGTERM``/``SIGHUP`` so that the server is stopped on the way out.

    A ``BaseException`` like ``KeyboardInterrupt``: no ``except Exception`` on the way may swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopSignal(signum)


@contextmanager
def _stop_signals() -> Iterator[None]:
    """While the block runs, ``SIGTERM`` and (unless ignored, as ``nohup`` does) ``SIGHUP`` raise
    :class:`_StopSignal`; the previous handlers come back afterwards."""
    wanted = [signal.SIGTERM]
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        wanted.append(signal.SIGHUP)
    previous = {signum: signal.signal(signum, _raise_stop) for signum in wanted}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """Ignore stop signals while the server is being stopped, so a second one cannot cut the stop short."""
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    signums = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def register(app: typer.Typer) -> None:
    """Add the ``serve-local`` command to ``app``."""

    @app.command("serve-local")
    @cli_command
    def serve_local(
        host: str = typer.Option(
            "127.0.0.1", help="Interface to bind; 0.0.0.0 exposes the server to the network."
        ),
        port: int = typer.Option(8080, help="TCP port to listen on; 0 picks a free one."),
        threads: int = typer.Option(
            0, help="CPU threads for generation; 0 uses half the logical CPUs (1 to 4)."
        ),
        n_ctx: int = typer.Option(
            LLMConfig.n_ctx, help="Context window in tokens (SmolLM2 was trained with 8192)."
        ),
        model_path: str = typer.Option(
            "", help="GGUF file to serve; empty serves the packaged SmolLM2-135M-Instruct."
        ),
    ) -> None:
        """Serve the packaged SmolLM2-135M-Instruct (llama.cpp server, OpenAI-compatible) until stopped.

        Point a run at it with `--endpoint http://HOST:PORT` (or LLMConfig(endpoint=...)). The server answers
        one request at a time; it speaks the same Messages API as TGI, vLLM and Inference Endpoints.
        Ctrl-C, SIGTERM (docker stop, systemd, kill) and SIGHUP stop it; it never outlives this command.
        """
        # Imported here so `litelong-hf --help` stays fast and works without llama-cpp-python installed.
        from litelong_hf.llm.server import LocalServer

        server = LocalServer(
            host=host,
            port=port or None,
            n_ctx=n_ctx,
            threads=threads or None,
            model_path=model_path or None,
            inherit_output=True,
        )
        # The port is fixed at construction, so the address is printed before the server starts, and a
        # stop signal at any moment (even while it is starting) stops it cleanly.
        typer.echo(f"Starting {server.model_path.name} at {server.url} ...", err=True)
        code = 0
        try:
            with _stop_signals():
                server.start()  # a LocalServerError is one line and exit 2 (cli_command)
                typer.echo(
                    f"Serving {server.model_path.name} at {server.url} (pid {server.pid}, "
                    f"n_ctx={server.n_ctx}, threads={server.threads}).\n"
                    f"Use it with: --endpoint {server.url}   (Ctrl-C stops it)",
                    err=True,
                )
                code = server.wait()
        except (KeyboardInterrupt, _StopSignal) as stop:
            name = stop.args[0] if isinstance(stop, _StopSignal) else "SIGINT"
            typer.echo(f"{name}: stopping the server at {server.url}.", err=True)
            code = 0
        finally:
            with _signals_ignored():
                server.stop()
        raise typer.Exit(code=code)
