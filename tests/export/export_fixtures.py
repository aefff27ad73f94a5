"""Run directories to export: real generated pretraining rows and instruction rows built by the chat module.

Fixtures are re-exported by this folder's ``conftest.py``; tests import the helpers from here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from litelong_hf.chat import QATurn, build_messages, chat_format, document_block
from litelong_hf.cli import app
from litelong_hf.corpus import Document
from litelong_hf.layout import RunDir

ROW_TOKENS = 2048


@pytest.fixture(scope="module")
def pretraining_run(tmp_path_factory: pytest.TempPathFactory, shared_artefacts: Path) -> Path:
    """Three ``random-concat`` rows of 2,048 tokens made by ``litelong-hf generate`` on the demo corpus."""
    root = tmp_path_factory.mktemp("export-run")
    cache = (
        root / "cache"
    )  # a fresh cache sharing the session's read-only corpus stores (as tests/conftest.py)
    cache.mkdir()
    for name in ("corpora", "indexes"):
        (cache / name).symlink_to(shared_artefacts / name, target_is_directory=True)
    made = CliRunner().invoke(
        app,
        [
            *("generate", "random-concat-64k", "--target-tokens", str(ROW_TOKENS), "--num-rows", "3"),
            *("--out", str(root / "run"), "--cache-dir", str(cache)),
        ],
        env={"LITELONG_HF_NO_PROGRESS": "1"},
    )
    assert made.exit_code == 0, made.output
    return root / "run"


def saved_rows(run: Path) -> list[dict[str, Any]]:
    """The rows of a run directory as written (``parquet/`` shards, else a ``dataset/`` folder)."""
    folder = RunDir(run)
    if folder.parquet.is_dir():
        return pq.read_table(sorted(folder.parquet.glob("*.parquet"))[0]).to_pylist()
    loaded = datasets.load_from_disk(str(folder.dataset))
    assert isinstance(loaded, datasets.Dataset)
    return [dict(row) for row in loaded]


def instruction_row(index: int, documents: list[Document], template: str = "auto") -> dict[str, object]:
    """One hierarchical-schema row whose ``n_tokens`` is counted with the Llama-3 chat format."""
    picked = documents[index * 2 : index * 2 + 2]
    blocks = [document_block(i + 1, d.text[:1500]) for i, d in enumerate(picked)]
    turns = [
        QATurn(
            f"About document {k % 2 + 1}: what is said first? ({k})",
            f"It says: {picked[k % 2].text[:90]}",
            "small",
            "detail",
            k % 2,
        )
        for k in range(3)
    ]
    messages = build_messages(blocks, turns)
    return {
        "id": f"hier/00000/{index:06d}",
        "messages": messages,
        "n_tokens": chat_format("llama-3", template).count(messages),
        "documents": [{"doc_id": d.id, "n_tokens": 0} for d in picked],
        "questions": [{"level": t.level, "kind": t.kind, "doc_index": t.doc_index} for t in turns],
        "tokenizer": "llama-3",
        "strategy": "hierarchical",
        "config_hash": "feedc0ffee00",
    }


def save_run(root: Path, rows: list[dict[str, object]], config: dict[str, object]) -> Path:
    """``rows`` laid out as ``litelong-hf generate --out`` does (dataset/, config.yaml, report.json)."""
    run = RunDir(root)
    datasets.Dataset.from_list(rows).save_to_disk(str(run.dataset))
    run.config.write_text(yaml.safe_dump(config), encoding="utf-8")
    run.report.write_text(json.dumps({"config_name": config.get("name")}), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def instruction_run(tmp_path_factory: pytest.TempPathFactory, demo_documents: list[Document]) -> Path:
    rows = [instruction_row(i, demo_documents) for i in range(3)]
    config = {"name": "hierarchical-128k", "tokenizer": "llama-3", "chat_template": "auto"}
    return save_run(tmp_path_factory.mktemp("export-instruction") / "run", rows, config)
