"""Start the demo Space as a real server process and drive it with a real headless Chromium.

Used by the Space tests and by ``tests/space/screenshot.py`` (which writes ``docs/space.png``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "space" / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 90
SPACE_OWN_TOKEN = "hf_space_owner_canary_3e8b"
"""The Space process's own HF_TOKEN: valid nowhere; it must never reach a visitor's endpoint or a push."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SpaceProcess:
    """A running ``python space/app.py``; ``log`` holds everything it printed."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def space_env(cache: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the app process: a canary HF token of its own, a private cache, quiet."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "HUGGING_FACE", "GRADIO_", "LITELONG_HF"))
    }
    env.update(
        {
            "LITELONG_HF_SPACE_CACHE": str(cache / "space"),
            "LITELONG_HF_CACHE": str(cache / "litelong"),
            "HF_HOME": str(cache / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",
            "GRADIO_TEMP_DIR": str(cache / "gradio-tmp"),
            "MPLCONFIGDIR": str(cache / "mpl"),
            "PYTHONUNBUFFERED": "1",
            "HF_TOKEN": SPACE_OWN_TOKEN,
        }
    )
    env.update(extra or {})
    return env


@contextlib.contextmanager
def run_space(cache: Path, extra_env: dict[str, str] | None = None) -> Iterator[SpaceProcess]:
    """Start the app on a free port and wait until it serves its page; stop it afterwards."""
    port = free_port()
    cache.mkdir(parents=True, exist_ok=True)
    env = space_env(cache, extra_env)
    env.update({"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)})
    log = cache / "space.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(APP)], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    space = SpaceProcess(url, process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the Space exited with {process.returncode}:\n{space.log_text()[-4000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Space did not start in {START_TIMEOUT_S} s:\n{space.log_text()[-4000:]}"
                )
            time.sleep(0.5)
        yield space
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class PageWatch:
    """Console errors and requests to hosts other than the app, seen by a page."""

    app_host: str
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.console_errors.append(f"pageerror: {err}"))
        page.on("request", self._request)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != self.app_host:
            self.foreign_requests.append(request.url)


@contextlib.contextmanager
def chromium(user_data_dir: Path) -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (its own browser download cannot work offline)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1100},
        )
        try:
            yield context
        finally:
            context.close()


def generate_in_page(page: Any, timeout_s: float = 600) -> None:
    """Click Generate with the page's defaults and wait for the rows to show."""
    page.locator("#generate").click()
    page.wait_for_function(
        "() => { const s = document.querySelector('#status'); return s && /✔|✘|⚠/.test(s.innerText); }",
        timeout=timeout_s * 1000,
    )
    page.locator("#row-view .ll-piece").first.wait_for(timeout=30_000)
