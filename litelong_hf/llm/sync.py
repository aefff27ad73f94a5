"""Run the async LLM layer from synchronous code: builders, ``datasets`` workers, notebooks.

:func:`run_sync` hands the coroutine to one background event loop per process (a daemon thread) and waits.
Why not ``asyncio.run`` per call: a fresh loop per call would rebuild HTTP connection pools and
concurrency bounds every time, and could not run at all where a loop is already running (a notebook, a
Gradio handler). With one shared loop, every synchronous caller in the process shares one connection pool
and one concurrency bound per endpoint.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread, _pid
    with _lock:
        # After a fork the child inherits the variables but not the thread: start a new loop there.
        if _loop is None or _pid != os.getpid() or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="litelong-hf-llm-loop", daemon=True)
            thread.start()
            _loop, _thread, _pid = loop, thread, os.getpid()
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result, from any synchronous context.

    Works in the main thread, in worker threads, and where an event loop is already running in the calling
    thread (that loop is blocked while waiting, as any synchronous call blocks it). Ctrl-C cancels the
    coroutine. Calling it from inside a coroutine on the background loop itself would deadlock, so that
    raises instead: there, ``await`` the coroutine.

    >>> async def answer() -> int:
    ...     return 42
    >>> run_sync(answer())
    42
    """
    loop = _background_loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RuntimeError("run_sync() was called from the LLM event loop itself; use `await` there instead")
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except BaseException:
        # KeyboardInterrupt while waiting: stop the work rather than leave it running in the background.
        future.cancel()
        raise
