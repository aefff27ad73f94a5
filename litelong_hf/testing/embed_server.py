"""A local embeddings server that really embeds: TEI's ``/embed`` and ``/info`` and OpenAI's ``/v1/embeddings``.

For tests and demos of the ``endpoint`` embedding backend without a GPU: the packaged all-MiniLM-L6-v2
(or any :class:`~litelong_hf.embeddings.Embedder`) behind the standard library's threading HTTP server::

    from litelong_hf.testing.embed_server import serve_embeddings

    with serve_embeddings() as server:            # server.url = "http://127.0.0.1:PORT"
        EmbeddingConfig(backend="endpoint", endpoint=server.url)

``tei=False`` answers ``GET /info`` with 404, as an OpenAI-compatible server (vLLM, llama.cpp) would.
``api_key`` makes every request need ``Authorization: Bearer <key>`` (401 otherwise). :attr:`EmbedServer.texts`
counts the texts embedded; nothing is logged (never a header).

    python -m litelong_hf.testing.embed_server --port 8081      # serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..embeddings import Embedder

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


class EmbedServer:
    """The server's state: what it embeds with, its key, and counts of requests and texts."""

    def __init__(self, embedder: Embedder, *, api_key: str | None = None, tei: bool = True) -> None:
        self.embedder, self.api_key, self.tei = embedder, api_key, tei
        self.requests = 0
        self.texts = 0
        self.lock = threading.Lock()
        self.url = ""
        self._http: ThreadingHTTPServer | None = None

    def embed(self, texts: list[str]) -> list[list[float]]:
        with self.lock:  # torch models are not re-entrant across threads on every build; keep it simple
            vectors = self.embedder.embed(texts)
            self.requests += 1
            self.texts += len(texts)
        return [[float(x) for x in row] for row in vectors]

    def start(self) -> str:
        handler = _handler(self)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, name="embed-server", daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and value:
        return list(value)
    raise ValueError("inputs must be a string or a non-empty list of strings")


def _handler(server: EmbedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # silent: a request line is fine, but a test server has no need to print anything

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if server.api_key is None or self.headers.get("Authorization") == f"Bearer {server.api_key}":
                return True
            self._send(401, {"error": "invalid or missing API key", "error_type": "Unauthorized"})
            return False

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if self.path == "/info" and server.tei:
                self._send(200, {"model_id": MODEL_ID, "model_type": {"embedding": {"pooling": "mean"}}})
            elif self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": MODEL_ID, "object": "model"}]})
            else:
                self._send(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not self._authorised():
                return
            try:
                body = json.loads(raw or b"{}")
                if self.path == "/embed" and server.tei:
                    self._send(200, server.embed(_texts(body.get("inputs"))))
                elif self.path == "/v1/embeddings":
                    vectors = server.embed(_texts(body.get("input")))
                    data = [
                        {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
                    ]
                    self._send(200, {"object": "list", "data": data, "model": body.get("model") or MODEL_ID})
                else:
                    self._send(404, {"error": f"no route {self.path}"})
            except (ValueError, AttributeError) as exc:
                self._send(422, {"error": str(exc), "error_type": "Validation"})

    return Handler


@contextmanager
def serve_embeddings(
    embedder: Embedder | None = None, *, api_key: str | None = None, tei: bool = True
) -> Iterator[EmbedServer]:
    """A running :class:`EmbedServer` (the packaged MiniLM unless ``embedder`` is given), stopped on exit."""
    if embedder is None:
        from ..embeddings import EmbeddingConfig, make_embedder

        embedder = make_embedder(EmbeddingConfig(backend="minilm"))
    server = EmbedServer(embedder, api_key=api_key, tei=tei)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve the packaged MiniLM as a TEI / OpenAI embeddings server."
    )
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    from ..embeddings import EmbeddingConfig, make_embedder

    server = EmbedServer(make_embedder(EmbeddingConfig(backend="minilm")))
    http = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(server))
    print(f"embedding server on http://127.0.0.1:{args.port} (TEI /embed, OpenAI /v1/embeddings)")
    http.serve_forever()


if __name__ == "__main__":
    main()
