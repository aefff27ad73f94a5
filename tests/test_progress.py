"""The live display's final state: a stage that ended in an error is drawn as failed, never as done."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from litelong_hf import progress


def _recording_console(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    out = io.StringIO()
    monkeypatch.delenv(progress.NO_PROGRESS_ENV, raising=False)
    monkeypatch.setattr(progress, "console", Console(file=out, width=120, color_system=None))
    return out


def test_a_failed_stage_is_drawn_failed_and_the_finished_one_done(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _recording_console(monkeypatch)
    with pytest.raises(RuntimeError, match="disk full"), progress.stage("index", 10, unit="docs") as index:
        with progress.stage("store: reading corpus", None, unit="docs") as store:
            store.advance(5)
        index.advance(3)
        raise RuntimeError("disk full")
    assert progress.active_display() is None
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    final = {name: next(line for line in reversed(lines) if name in line) for name in ("index", "store")}
    assert final["store"].lstrip().startswith("✓") and "5/5 docs" in final["store"]
    assert final["index"].lstrip().startswith("✗") and "✓" not in final["index"]
    assert "3/10 docs (failed)" in final["index"]


def test_a_failed_stage_without_a_total_keeps_its_count_open(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _recording_console(monkeypatch)
    with pytest.raises(KeyError), progress.stage("store: reading corpus", None, unit="docs") as store:
        store.advance(7)
        raise KeyError("text")
    last = [line for line in out.getvalue().splitlines() if "store" in line][-1]
    assert last.lstrip().startswith("✗") and "7 docs (failed)" in last and "7/7" not in last
