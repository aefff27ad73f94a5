"""``litelong-hf serve-local``: the packaged model behind llama.cpp's OpenAI-compatible server."""

from __future__ import annotations

import typer

from litelong_hf.llm.config import LLMConfig


def register(app: typer.Typer) -> None:
    """Add the ``serve-local`` command to ``app``."""

    @app.command("serve-local")
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
        """Serve the packaged SmolLM2-135M-Instruct (llama.cpp server, OpenAI-compatible) until Ctrl-C.

        Point a run at it with `--endpoint http://HOST:PORT` (or LLMConfig(endpoint=...)). The server answers
        one request at a time; it speaks the same Messages API as TGI, vLLM and Inference Endpoints.
        """
        # Imported here so `litelong-hf --help` stays fast and works without llama-cpp-python installed.
        from litelong_hf.llm.server import LocalServer, LocalServerError

        server = LocalServer(
            host=host,
            port=port or None,
            n_ctx=n_ctx,
            threads=threads or None,
            model_path=model_path or None,
            inherit_output=True,
        )
        # The port is fixed at construction, so the address is printed before the server starts, and a
        # Ctrl-C at any moment (even while it is starting) stops it cleanly.
        typer.echo(f"Starting {server.model_path.name} at {server.url} ...", err=True)
        try:
            try:
                server.start()
            except LocalServerError as exc:
                typer.echo(f"Error: {exc}", err=True)
                raise typer.Exit(code=1) from None
            typer.echo(
                f"Serving {server.model_path.name} at {server.url} (n_ctx={server.n_ctx}, "
                f"threads={server.threads}).\nUse it with: --endpoint {server.url}   (Ctrl-C stops it)",
                err=True,
            )
            code = server.wait()
        except KeyboardInterrupt:
            code = 0
        finally:
            server.stop()
        raise typer.Exit(code=code)
