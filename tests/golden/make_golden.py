"""Regenerate the golden rows of every preset (run when rows change on purpose, and say why in the commit).

    .venv/bin/python tests/golden/make_golden.py
    .venv/bin/python tests/golden/make_golden.py hierarchical-128k   # only these; the others' rows and
                                                                     # answers are kept as they are

Each preset is generated once at a tiny size on the embedded defaults into a fresh cache; the LLM request
cache (``llm/requests.sqlite``) and a SHA-256 of every row are saved beside this file. ``test_golden.py``
replays the same runs from that request cache (zero LLM requests) and compares rows byte for byte, so a
refactor that changes any row, or any LLM request, fails loudly.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "data"

LITELONG = {"categories": ["POL"], "max_subcategories": 1, "expansion_factor": 2, "target_tokens": 4096}
HIERARCHICAL = {
    "target_tokens": 12288,
    "document_tokens": 8192,
    "min_document_tokens": 4096,
    "small_chunk_tokens": 2048,
    "medium_chunk_size": 2,
    "global_questions": 1,
    "medium_questions": 1,
    "small_questions": 1,
    "diverse_questions": 1,
    "revisit_questions": 1,
    "qa_gates": False,  # the 135M model fails most gates; the fixture pins assembly, not answer quality
}
CASES: dict[str, dict[str, Any]] = {
    "litelong-64k": LITELONG,
    "litelong-128k": LITELONG,
    "litelong-nextlong-128k": LITELONG,
    "nextlong-64k": {"target_tokens": 4096},
    "nextlong-128k": {"target_tokens": 4096},
    "nextlong-512k": {"target_tokens": 8192, "mix_short_tokens": 2048},
    "hierarchical-128k": {**HIERARCHICAL, "num_rows": 1},  # one row: the 135M model on 2 cores is slow
    "random-concat-64k": {"target_tokens": 4096},
}
NUM_ROWS = 2


def row_digest(row: dict[str, Any]) -> str:
    blob = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def generate(name: str, cache_dir: str) -> list[dict[str, Any]]:
    import litelong_hf

    overrides = {"num_rows": NUM_ROWS, **CASES[name]}
    ds = litelong_hf.load(name, cache_dir=cache_dir, **overrides)
    return [dict(r) for r in ds]


def main() -> int:
    os.environ.setdefault("LITELONG_HF_NO_PROGRESS", "1")
    OUT.mkdir(exist_ok=True)
    only = sys.argv[1:]
    unknown = [n for n in only if n not in CASES]
    if unknown:
        print(f"unknown cases {unknown}; choose from {sorted(CASES)}", file=sys.stderr)
        return 2
    digests: dict[str, list[str]] = json.loads((OUT / "rows.json").read_text()) if only else {}
    # LITELONG_HF_GOLDEN_CACHE reuses a cache folder (e.g. one left by an interrupted run: no request twice).
    keep = os.environ.get("LITELONG_HF_GOLDEN_CACHE")
    with tempfile.TemporaryDirectory(prefix="litelong-golden-") as scratch:
        cache_dir = keep or scratch
        if only:  # start from the saved answers, so the other cases' requests stay in the fixture
            from litelong_hf import layout

            saved = layout.llm_cache_dir(cache_dir)
            saved.mkdir(parents=True, exist_ok=True)
            with (
                sqlite3.connect(OUT / "requests.sqlite") as src,
                sqlite3.connect(saved / "requests.sqlite") as dst,
            ):
                src.backup(dst)
        for name in only or CASES:
            rows = generate(name, cache_dir)
            digests[name] = [row_digest(r) for r in rows]
            print(f"{name}: {len(rows)} rows", flush=True)
        from litelong_hf import layout

        # The backup API folds the write-ahead log in: a plain file copy could miss answers.
        target = OUT / "requests.sqlite"
        target.unlink(missing_ok=True)
        with (
            sqlite3.connect(layout.llm_cache_dir(cache_dir) / "requests.sqlite") as src,
            sqlite3.connect(target) as dst,
        ):
            src.backup(dst)
    (OUT / "rows.json").write_text(json.dumps(digests, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
