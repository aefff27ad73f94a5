"""Run directories to mix: real ``random-concat`` rows made by ``litelong-hf generate`` on the demo corpus.

Fixtures are re-exported by this folder's ``conftest.py``; tests import the helpers from here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from litelong_hf.cli import app

ROW_TOKENS = 256
HALF = ROW_TOKENS // 2


def fresh_cache(root: Path, shared_artefacts: Path) -> Path:
    """A cache under ``root`` sharing the session's read-only corpus stores (as tests/conftest.py)."""
    cache = root / "cache"
    cache.mkdir(exist_ok=True)
    for name in ("corpora", "indexes"):
        link = cache / name
        if not link.exists():
            link.symlink_to(shared_artefacts / name, target_is_directory=True)
    return cache


def generate_run(root: Path, cache: Path, name: str, target: int, rows: int, seed: int) -> Path:
    made = CliRunner().invoke(
        app,
        [
            *("generate", "random-concat-64k", "--target-tokens", str(target), "--num-rows", str(rows)),
            *("--seed", str(seed), "--out", str(root / name), "--cache-dir", str(cache)),
        ],
        env={"LITELONG_HF_NO_PROGRESS": "1"},
    )
    assert made.exit_code == 0, made.output
    return root / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, shared_artefacts: Path) -> dict[str, Path]:
    """``full``: 60 rows of 256 tokens; ``half``: 70 rows of 128 tokens (two fill a mixture row)."""
    root = tmp_path_factory.mktemp("mixture-runs")
    cache = fresh_cache(root, shared_artefacts)
    return {
        "full": generate_run(root, cache, "full", ROW_TOKENS, 60, seed=1),
        "half": generate_run(root, cache, "half", HALF, 70, seed=2),
        "cache": cache,
    }


def mixture_rows(folder: Path) -> list[dict[str, Any]]:
    """Every row of a mixture's run directory, in order."""
    files = sorted((folder / "parquet").glob("*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def run_rows(folder: Path) -> list[dict[str, Any]]:
    return mixture_rows(folder)
