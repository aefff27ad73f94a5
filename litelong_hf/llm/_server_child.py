"""The child process of :class:`~litelong_hf.llm.server.LocalServer`: llama.cpp's server, tied to its parent.

Run as a script, never imported: ``python -P _server_child.py PARENT_PID [llama_cpp.server options]``
(``-P`` keeps this folder, whose ``config.py`` or ``server.py`` would shadow other modules, off
``sys.path``). It makes the server die with the process that started it, however that process ends:

- a watchdog thread checks every :data:`POLL_S` seconds that the parent is still ``PARENT_PID`` (when a
  process dies, even by ``SIGKILL``, the kernel hands its children to ``init`` or a subreaper, so
  ``os.getppid()`` changes); then it stops the server with ``SIGTERM`` (uvicorn shuts down and frees the
  port) and, if that takes longer than :data:`GRACE_S`, exits at once. A watchdog rather than Linux's
  ``prctl(PR_SET_PDEATHSIG)``: the kernel sends that signal when the parent *thread* ends, so a server
  started from a worker thread would be killed when that thread finished, and it exists only on Linux;
- signal dispositions are reset first, so a ``SIG_IGN`` inherited from ``nohup`` or a background shell job
  cannot make the server deaf to the ``SIGTERM`` its parent sends to stop it.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time

POLL_S = 0.25
"""Seconds between two checks of the parent."""

GRACE_S = 5.0
"""Seconds the server gets to shut down after its parent died, before the process exits regardless."""


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_S)
    os._exit(0)


def main(argv: list[str]) -> None:
    if len(argv) < 2 or not argv[1].isdigit():
        sys.exit("usage: python -P _server_child.py PARENT_PID [llama_cpp.server options]")
    parent_pid = int(argv[1])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "SIGHUP"):  # not on Windows
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.getppid() != parent_pid:  # the parent died before we got here
        sys.exit(0)
    threading.Thread(target=_watch, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
    sys.argv = ["llama_cpp.server", *argv[2:]]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv)
