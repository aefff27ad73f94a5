"""Progress bars with rate and ETA for every long step (rich), silenced by ``LITELONG_HF_NO_PROGRESS=1``."""

from __future__ import annotations

import os
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


def progress_enabled(requested: bool = True) -> bool:
    return requested and os.environ.get("LITELONG_HF_NO_PROGRESS") != "1"


@contextmanager
def progress_bar(
    description: str, total: int | None, *, unit: str = "it", enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """A bar showing count, rate and ETA; yields ``advance(n)``.

    With ``total=None`` it shows a spinner, the count and the rate.
    """
    if not progress_enabled(enabled):

        def ignore(n: int = 1) -> None:
            return None

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

        yield advance
