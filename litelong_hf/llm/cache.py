"""The on-disk request cache: every answered request, keyed by a SHA-256 of what determines the answer.

One SQLite file per run cache directory (default ``layout.llm_cache_dir()/requests.sqlite``). Each answer is
committed the moment it arrives, so a run killed at any point and started again re-sends only the requests
that had not been answered. WAL mode lets several processes (``num_proc`` workers, a second run) read while
one writes; writers wait for the lock (``busy_timeout``) and retry on top of that.

The key covers the model id, the messages, the schema and the sampling parameters, never the API key or the
endpoint URL: the same model behind another URL gives the same answers. Rows hold the answer text and token
counts, nothing else: no key, no header, no URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litelong_hf.layout import llm_cache_dir

CACHE_FORMAT = 1
"""Bumped when the key recipe or the stored answer changes meaning; old rows then simply miss."""

_LOCK_RETRIES = 20
"""Extra attempts on 'database is locked' after SQLite's own busy timeout gave up."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    elapsed_s REAL NOT NULL,
    created_at REAL NOT NULL
)
"""


def request_key(
    model_id: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    schema: Mapping[str, Any] | None,
    temperature: float,
    top_p: float,
    max_tokens: int,
    seed: int | None,
) -> str:
    """SHA-256 (hex) of everything that determines an answer, in a canonical JSON form.

    Floats are normalised (``1`` and ``1.0`` are the same temperature) and keys sorted, so equal requests
    get equal keys in every process and Python version.
    """
    payload = {
        "v": CACHE_FORMAT,
        "model": model_id,
        "messages": [dict(m) for m in messages],
        "schema": schema,
        "temperature": float(temperature),
        "top_p": float(top_p),
        "max_tokens": int(max_tokens),
        "seed": seed,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedAnswer:
    """One stored answer: the raw text and what it cost when it was first generated."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    elapsed_s: float


class RequestCache:
    """SQLite-backed map from request key to :class:`CachedAnswer`; safe across threads and processes.

    >>> import tempfile
    >>> cache = RequestCache(tempfile.mkdtemp())
    >>> cache.put("k", "m", CachedAnswer("hi", 3, 1, 0.1)); cache.get("k").text
    'hi'
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else llm_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "requests.sqlite"
        self.failures_path = self.directory / "unparseable.jsonl"
        """JSON lines of answers that could not be parsed: time, model id, key, reason, raw text."""
        # One connection per (process, thread): sqlite3 connections must not cross threads or a fork.
        self._local = threading.local()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._registry_lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._connection()  # create the file and table now, so a bad path fails at construction

    def __repr__(self) -> str:
        return f"RequestCache({str(self.directory)!r})"

    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == pid:
            return conn
        # check_same_thread=False only so close() may close every thread's connection; each is used by one thread.
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        # WAL: readers never block the writer and a commit is one append; NORMAL sync stays durable when the
        # process is killed (only a power cut can lose the last commits), at a fraction of FULL's cost.
        self._retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=NORMAL")
        self._retry_locked(lambda: conn.execute(_SCHEMA))
        self._local.conn, self._local.pid = conn, pid
        with self._registry_lock:
            self._connections.append((pid, conn))
        return conn

    @staticmethod
    def _retry_locked(operation: Any) -> Any:
        for attempt in range(_LOCK_RETRIES + 1):
            try:
                return operation()
            except sqlite3.OperationalError as error:
                message = str(error).lower()
                if attempt == _LOCK_RETRIES or ("locked" not in message and "busy" not in message):
                    raise
                time.sleep(min(1.0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")

    def get(self, key: str) -> CachedAnswer | None:
        """The stored answer for ``key``, or None."""
        conn = self._connection()
        row = self._retry_locked(
            lambda: conn.execute(
                "SELECT text, prompt_tokens, completion_tokens, elapsed_s FROM answers WHERE key = ?", (key,)
            ).fetchone()
        )
        return None if row is None else CachedAnswer(row[0], int(row[1]), int(row[2]), float(row[3]))

    def put(self, key: str, model_id: str, answer: CachedAnswer) -> None:
        """Store (and commit at once) the answer for ``key``; a second writer of the same key just replaces it."""
        conn = self._connection()
        row = (
            key,
            model_id,
            answer.text,
            answer.prompt_tokens,
            answer.completion_tokens,
            answer.elapsed_s,
            time.time(),
        )
        # Autocommit mode (isolation_level=None): the INSERT is its own transaction, committed on return.
        self._retry_locked(
            lambda: conn.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        )

    def __len__(self) -> int:
        conn = self._connection()
        return int(self._retry_locked(lambda: conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def log_unparseable(self, *, model_id: str, key: str, reason: str, text: str) -> None:
        """Append an unparseable answer to ``unparseable.jsonl`` (one JSON object per line)."""
        record = {"time": time.time(), "model_id": model_id, "key": key, "reason": reason, "text": text}
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._log_lock, self.failures_path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def close(self) -> None:
        """Close every connection this object opened (in this process)."""
        with self._registry_lock:
            connections, self._connections = self._connections, []
        pid = os.getpid()
        for owner, conn in connections:
            if owner == pid:  # a connection inherited through fork belongs to the parent: leave it alone
                conn.close()
        self._local = threading.local()
