"""A real S3-compatible server on 127.0.0.1 for tests (moto's standalone server), and a TCP proxy that
stalls an upload half-way so a test can kill the writer mid-object.

    with s3_server("litelong") as s3:          # s3.env: credentials and endpoint for s3fs (and children)
        os.environ.update(s3.env)
        litelong_hf.load("random-concat-64k", shards_dir=s3.url("run"))

    with StallingProxy(s3.endpoint, rb"PUT [^ ]*\\.parquet") as proxy:   # point a child process at proxy.endpoint
        ...; proxy.stalled.wait(); child.kill()

Never used by a run. The credentials are moto's dummies; real S3/GCS/R2 take theirs from the
environment (docs/distributed.md).
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    """A running moto server: its ``endpoint`` URL, one ``bucket`` and the environment that points s3fs
    (boto's credential and endpoint chain) at it."""

    endpoint: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        return endpoint_env(self.endpoint)

    def url(self, key: str = "") -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{key.lstrip('/')}"


def endpoint_env(endpoint: str) -> dict[str, str]:
    """Environment variables that send s3fs (and any child process) to ``endpoint`` with dummy keys."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


@contextmanager
def s3_server(bucket: str = "litelong") -> Iterator[S3Server]:
    """Start moto's S3 server on 127.0.0.1 (a free port) with ``bucket`` created; stop it after the block.

    fsspec keeps one s3fs instance per set of arguments, bound to the endpoint of its first use: it is
    dropped at both ends, so each server's tests talk to that server."""
    import boto3
    import s3fs
    from moto.server import ThreadedMotoServer

    s3fs.S3FileSystem.clear_instance_cache()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = S3Server(f"http://{host}:{port}", bucket)
        env = s3.env
        boto3.client(
            "s3",
            endpoint_url=s3.endpoint,
            region_name=REGION,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        ).create_bucket(Bucket=bucket)
        yield s3
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


@dataclass
class StallingProxy:
    """A TCP proxy on 127.0.0.1 in front of ``upstream`` (``http://host:port``) that forwards every byte
    until the client sends a request matching ``pattern`` (e.g. ``rb"PUT [^ ]*\\.parquet"``): from there it
    forwards ``keep`` more bytes of that connection (the headers and a piece of the body) and then nothing,
    setting ``stalled``. The client waits forever on its upload, so a test can kill it mid-object."""

    upstream: str
    pattern: bytes
    keep: int = 2048
    stalled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        host, _, port = self.upstream.removeprefix("http://").rpartition(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> StallingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        for sock in [self._listener, *self._sockets]:
            sock.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, upload: bool) -> None:
        budget: int | None = None  # bytes still to forward once the matching request started
        try:
            while data := source.recv(65536):
                if upload and budget is None and not self.stalled.is_set():
                    found = re.search(self.pattern, data)
                    if found:
                        budget = found.start() + self.keep
                if budget is not None:
                    data, budget = data[:budget], max(0, budget - len(data))
                    if budget == 0:
                        sink.sendall(data)
                        self.stalled.set()
                        self._closing.wait()
                        return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
