"""Every preset's rows, byte for byte, against the fixtures made by ``make_golden.py``.

The runs replay LLM answers from the saved request cache, so they are deterministic and send no request;
a change to any row (or to any LLM request: new prompts, new parameters) fails here. When rows change on
purpose, regenerate the fixtures (``python tests/golden/make_golden.py``) in the same commit and say why.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from litelong_hf import layout

from .make_golden import CASES, OUT, generate, row_digest

EXPECTED = json.loads((OUT / "rows.json").read_text()) if (OUT / "rows.json").is_file() else {}


def cached_answers(path: Path) -> int:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        return sum(db.execute(f"select count(*) from {t}").fetchone()[0] for t in tables)


def test_every_preset_family_has_a_fixture() -> None:
    assert set(EXPECTED) == set(CASES)
    strategies = {name.rsplit("-", 1)[0] for name in CASES}
    assert strategies >= {"litelong", "litelong-nextlong", "nextlong", "hierarchical", "random-concat"}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(CASES))
def test_rows_match_the_fixture(name: str, tmp_path: Path) -> None:
    cache = layout.llm_cache_dir(str(tmp_path))
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(OUT / "requests.sqlite", cache / "requests.sqlite")
    answers = cached_answers(cache / "requests.sqlite")
    rows = generate(name, str(tmp_path))
    assert cached_answers(cache / "requests.sqlite") == answers, "an LLM request is new: regenerate fixtures"
    assert [row_digest(r) for r in rows] == EXPECTED[name]
