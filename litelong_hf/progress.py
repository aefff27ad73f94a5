"""Progress bars with rate and ETA for every long step (rich), silenced by ``LITELONG_HF_NO_PROGRESS=1``."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)
"""The console every litelong-hf message and bar goes to (stderr, so stdout stays clean for data)."""


class _RateColumn(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text(f"? {self.unit}/s", style="progress.data.speed")
        if speed >= 1000:
            return Text(f"{speed / 1000:,.1f}k {self.unit}/s", style="progress.data.speed")
        return Text(f"{speed:,.1f} {self.unit}/s", style="progress.data.speed")


ProgressListener = Callable[[str, int, int | None], None]
"""Called with ``(description, completed, total)`` when a bar starts and after every step."""

_listeners: list[ProgressListener] = []
_listeners_lock = threading.Lock()


@contextmanager
def listen(listener: ProgressListener) -> Iterator[None]:
    """Report the steps of every progress bar to ``listener`` while the block runs (e.g. a web page's bar).

    Listeners hear every bar of the process, also with ``LITELONG_HF_NO_PROGRESS=1``; a listener must be
    quick and must not raise.
    """
    with _listeners_lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _listeners_lock:
            _listeners.remove(listener)


def _notify(description: str, completed: int, total: int | None) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(description, completed, total)


def progress_enabled(requested: bool = True) -> bool:
    return requested and os.environ.get("LITELONG_HF_NO_PROGRESS") != "1"


@contextmanager
def progress_bar(
    description: str, total: int | None, *, unit: str = "it", enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """A bar showing count, rate and ETA; yields ``advance(n)``.

    With ``total=None`` it shows a spinner, the count and the rate. Listeners (:func:`listen`) hear every
    step, shown or not.
    """
    completed = 0

    def tell(n: int) -> None:
        nonlocal completed
        completed += n
        _notify(description, completed, total)

    _notify(description, 0, total)
    if not progress_enabled(enabled):

        def ignore(n: int = 1) -> None:
            tell(n)

        yield ignore
        return
    columns: list[ProgressColumn | str] = [
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
    ]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns += [_RateColumn(unit), TimeElapsedColumn()]
    if total is not None:
        columns += ["eta", TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            progress.advance(task, n)
            tell(n)

        yield advance
