"""One live progress display for every long step (rich), silenced by ``LITELONG_HF_NO_PROGRESS=1``.

Every bar of the process is a row of the same display: the run's stages (``store``, ``index``,
``debate``, ``rows``, ``save``) stack up with their counts, rate and ETA instead of each starting a display
of its own; the display stops when its last bar is done (finished bars stay on screen).
:func:`quiet_libraries` silences the tqdm bars of ``datasets`` and ``huggingface_hub`` for a block, so
theirs do not interleave with ours.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

NO_PROGRESS_ENV = "LITELONG_HF_NO_PROGRESS"
"""Set to ``1`` to silence every bar (listeners still hear them)."""

console = Console(stderr=True)
"""The console every litelong-hf message and bar goes to (stderr, so stdout stays clean for data)."""


def _number(value: float) -> str:
    return f"{value / 1000:,.1f}k" if value >= 10_000 else f"{value:,.0f}"


class _CountColumn(ProgressColumn):
    """``3/10 rows`` with a total, ``3 rows`` without; a stage's own note after it."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "it")
        count = (
            _number(task.completed)
            if task.total is None
            else f"{_number(task.completed)}/{_number(task.total)}"
        )
        note = task.fields.get("note") or ""
        return Text(f"{count} {unit}" + (f" ({note})" if note else ""), style="progress.download")


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "it")
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text(f"? {unit}/s", style="progress.data.speed")
        if speed >= 1000:
            return Text(f"{speed / 1000:,.1f}k {unit}/s", style="progress.data.speed")
        return Text(f"{speed:,.1f} {unit}/s", style="progress.data.speed")


class _EtaColumn(ProgressColumn):
    """``eta 0:01:05`` when the stage has a total and a rate; nothing otherwise."""

    max_refresh = 0.5

    def render(self, task: Task) -> Text:
        remaining = task.time_remaining
        if task.total is None or task.finished or remaining is None:
            return Text("")
        minutes, seconds = divmod(int(remaining), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"eta {hours}:{minutes:02d}:{seconds:02d}", style="progress.remaining")


class _StateColumn(SpinnerColumn):
    """A spinner while a stage runs, ``✓`` once it finished, a red ``✗`` if it ended in an error."""

    def render(self, task: Task) -> RenderableType:
        if task.fields.get("failed"):
            return Text("✗", style="red")
        return super().render(task)


class _Display:
    """The one rich ``Progress`` of the process, started by its first bar and stopped after its last."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.progress: Progress | None = None
        self.open = 0

    def add(self, description: str, total: int | None, unit: str) -> TaskID:
        with self.lock:
            if self.progress is None:
                self.progress = Progress(
                    _StateColumn(finished_text="[green]✓[/green]"),
                    TextColumn("[progress.description]{task.description}"),
                    BarColumn(bar_width=20),
                    _CountColumn(),
                    _RateColumn(),
                    TimeElapsedColumn(),
                    _EtaColumn(),
                    console=console,
                    transient=False,
                )
                self.progress.start()
            self.open += 1
            return self.progress.add_task(description, total=total, unit=unit, note="", failed=False)

    def update(self, task: TaskID, **changes: Any) -> None:
        with self.lock:
            if self.progress is not None:
                self.progress.update(task, **changes)

    def done(self, task: TaskID, *, failed: bool = False) -> None:
        """Stop the bar of ``task``: finished (``✓``, an open total becomes its count) or ``failed`` (``✗``,
        its count left where the error stopped it)."""
        with self.lock:
            progress = self.progress
            if progress is None:
                return
            state = progress.tasks[[t.id for t in progress.tasks].index(task)]
            if failed:
                progress.update(task, failed=True, note="failed")
            elif state.total is None:
                progress.update(task, total=state.completed)
            progress.stop_task(task)
            self.open -= 1
            if self.open == 0:
                progress.stop()
                self.progress = None

    def active(self) -> Progress | None:
        """The live display, while a bar is open (None otherwise)."""
        return self.progress


_display = _Display()


def active_display() -> Progress | None:
    """The process's live display while any bar is shown; every bar is one of its tasks."""
    return _display.active()


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
    return requested and os.environ.get(NO_PROGRESS_ENV) != "1"


class Stage:
    """One bar of the display: ``advance(n)`` counts steps, ``note(text)`` shows a detail after the count."""

    def __init__(self, description: str, total: int | None, unit: str, shown: bool) -> None:
        self.description, self.total = description, total
        self.completed = 0
        self._task = _display.add(description, total, unit) if shown else None

    def advance(self, n: int = 1) -> None:
        self.completed += n
        if self._task is not None:
            _display.update(self._task, advance=n)
        _notify(self.description, self.completed, self.total)

    def set_completed(self, completed: int, note: str | None = None) -> None:
        """Move the bar to ``completed`` (e.g. bytes read so far), with an optional note."""
        self.completed = completed
        if self._task is not None:
            _display.update(self._task, completed=completed, **({"note": note} if note is not None else {}))
        _notify(self.description, self.completed, self.total)

    def close(self, *, failed: bool = False) -> None:
        """End the bar: done, or ``failed`` (the block raised), so a failed stage is never drawn as done."""
        if self._task is not None:
            _display.done(self._task, failed=failed)
            self._task = None


@contextmanager
def stage(description: str, total: int | None, *, unit: str = "it", enabled: bool = True) -> Iterator[Stage]:
    """A bar of the one live display with count, rate and (with ``total``) ETA; yields its :class:`Stage`.

    Listeners (:func:`listen`) hear every step, shown or not.
    """
    bar = Stage(description, total, unit, progress_enabled(enabled))
    _notify(description, 0, total)
    try:
        yield bar
    except BaseException:
        bar.close(failed=True)
        raise
    bar.close()


@contextmanager
def progress_bar(
    description: str, total: int | None, *, unit: str = "it", enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """:func:`stage` yielding only ``advance(n)``."""
    with stage(description, total, unit=unit, enabled=enabled) as bar:
        yield bar.advance


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Silence the tqdm bars of ``datasets`` and ``huggingface_hub`` for the block (restored after).

    Our own stages show the work; an explicit ``HF_*_DISABLE_PROGRESS_BARS=0`` still wins.
    """
    import datasets.utils as datasets_utils
    import huggingface_hub.utils as hub_utils

    with ExitStack() as stack, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the libraries warn when their environment variable wins
        if not datasets_utils.are_progress_bars_disabled():
            datasets_utils.disable_progress_bars()
            stack.callback(datasets_utils.enable_progress_bars)
        if not hub_utils.are_progress_bars_disabled():
            hub_utils.disable_progress_bars()
            stack.callback(hub_utils.enable_progress_bars)
        yield
