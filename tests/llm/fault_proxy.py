"""A small HTTP proxy for tests: sits in front of the real llama.cpp server, counts, and injects faults.

Plain ``asyncio`` streams in a background thread; no third-party server code. Each connection carries one
request: the proxy answers with ``Connection: close`` so the client opens a new connection per request and
every request is seen (and counted) separately.
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Fault:
    """What to do with one request instead of forwarding it.

    kinds: ``status`` (answer ``status`` with ``body`` and ``headers``), ``drop`` (close the connection
    without a word), ``hang`` (say nothing for ``delay_s``, then close), ``not_json`` (200 with an HTML body).
    """

    kind: str
    status: int = 503
    body: str = '{"error": "injected"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def status(code: int, body: str = '{"error": "injected"}', **headers: str) -> Fault:
    """A fault answering HTTP ``code`` (header names use ``_`` for ``-``: ``Retry_After="1"``)."""
    return Fault(
        "status", status=code, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


DROP = Fault("drop")
NOT_JSON = Fault("not_json")


def hang(delay_s: float) -> Fault:
    """A fault that keeps the client waiting ``delay_s`` seconds, then closes without answering."""
    return Fault("hang", delay_s=delay_s)


_REASONS = {
    200: "OK",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


class FaultProxy:
    """Forward HTTP requests to ``upstream``; faults queued with :meth:`inject` replace the next chat requests."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._faults: collections.deque[Fault] = collections.deque()
        self._lock = threading.Lock()
        self.chat_requests = 0
        """Chat-completion requests received (faulted or not)."""
        self.forwarded = 0
        """Chat-completion requests forwarded to the server and answered."""
        self.in_flight = 0
        self.max_in_flight = 0
        """Most chat-completion requests open at the same time."""
        self.authorization_headers: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        """JSON bodies of the chat requests, in arrival order (to check what went over the wire)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- control from the test thread ------------------------------------------------------------------

    def start(self) -> str:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
            port = self._server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()
            self._server.close()
            # Handlers still sleeping in a `hang` fault are cancelled so they finish before the loop closes.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self.url

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def inject(self, *faults: Fault) -> None:
        """Apply ``faults``, in order, to the next chat requests (one each)."""
        with self._lock:
            self._faults.extend(faults)

    def reset_counts(self) -> None:
        with self._lock:
            self.chat_requests = self.forwarded = self.max_in_flight = 0
            self.authorization_headers.clear()
            self.bodies.clear()

    # -- the proxy itself ------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
        length = next((int(v) for k, v in headers if k.strip().lower() == "content-length"), 0)
        body = await reader.readexactly(length) if length else b""
        is_chat = method == "POST" and path.endswith(CHAT_PATH)
        fault = None
        if is_chat:
            with self._lock:
                self.chat_requests += 1
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                self.authorization_headers += [
                    v.strip() for k, v in headers if k.strip().lower() == "authorization"
                ]
                self.bodies.append(json.loads(body) if body else {})
                fault = self._faults.popleft() if self._faults else None
        try:
            if fault is None:
                await self._forward(method, path, headers, body, writer, count=is_chat)
            else:
                await self._apply(fault, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up (timeout) or the server went away; the test sees it client-side
        except asyncio.CancelledError:
            pass  # the proxy is stopping
        finally:
            if is_chat:
                with self._lock:
                    self.in_flight -= 1
            writer.close()

    async def _apply(self, fault: Fault, writer: asyncio.StreamWriter) -> None:
        if fault.kind == "drop":
            return
        if fault.kind == "hang":
            await asyncio.sleep(fault.delay_s)
            return
        if fault.kind == "not_json":
            self._respond(
                writer, 200, "<html><body>Bad gateway page</body></html>", {"Content-Type": "text/html"}
            )
        else:
            self._respond(
                writer, fault.status, fault.body, {"Content-Type": "application/json", **fault.headers}
            )
        await writer.drain()

    @staticmethod
    def _respond(writer: asyncio.StreamWriter, code: int, body: str, headers: dict[str, str]) -> None:
        data = body.encode()
        head = [
            f"HTTP/1.1 {code} {_REASONS.get(code, 'Status')}",
            f"Content-Length: {len(data)}",
            "Connection: close",
        ]
        head += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)

    async def _forward(
        self,
        method: str,
        path: str,
        headers: list[list[str]],
        body: bytes,
        writer: asyncio.StreamWriter,
        *,
        count: bool = False,
    ) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
        kept = [f"{k}:{v}" for k, v in headers if k.strip().lower() not in ("connection", "keep-alive")]
        request = "\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close"]) + "\r\n\r\n"
        upstream_writer.write(request.encode("latin-1") + body)
        await upstream_writer.drain()
        response = await upstream_reader.read()  # the server closes after answering (Connection: close)
        upstream_writer.close()
        response_head, _, response_body = response.partition(b"\r\n\r\n")
        head_lines = [
            line
            for line in response_head.split(b"\r\n")
            if not line.lower().startswith((b"connection:", b"keep-alive:"))
        ]
        if count:
            # Counted before the client can read the answer: a test checking right after sees it.
            with self._lock:
                self.forwarded += 1
        writer.write(b"\r\n".join([*head_lines, b"Connection: close"]) + b"\r\n\r\n" + response_body)
        await writer.drain()
