"""Helpers for the publishing tests: rows of both schemas, run folders, and the client subprocess.

``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT``/``HF_HUB_DISABLE_XET`` when they are imported,
and other test modules may have imported them already, so everything that talks to the Hub runs in a
fresh subprocess (``tests/hub/_hub_client.py``) with those variables set. The server runs in this process,
on a background thread, so a test can inject faults and inspect what it stored.
"""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import datasets

from litelong_hf.report import RunReport
from litelong_hf.rows import INSTRUCTION_FEATURES, PRETRAINING_FEATURES
from litelong_hf.testing.hub_server import HubServer
from litelong_hf.tokens import TokenCounter

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("_hub_client.py")

_WORDS = [
    "star",
    "galaxy",
    "orbit",
    "planet",
    "comet",
    "nebula",
    "telescope",
    "light",
    "year",
    "gravity",
    "moon",
    "sun",
    "river",
    "mountain",
    "forest",
    "city",
    "market",
    "history",
    "science",
    "energy",
    "water",
    "ocean",
    "climate",
    "music",
    "painting",
    "novel",
    "poem",
    "engine",
    "bridge",
    "school",
    "law",
    "court",
    "election",
    "economy",
    "trade",
    "harvest",
    "winter",
    "summer",
    "spring",
    "autumn",
]


def _encoder() -> TokenCounter:
    return TokenCounter.get()


def _document(rng: random.Random, n_words: int) -> str:
    sentences = []
    while sum(len(s.split()) for s in sentences) < n_words:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 14))]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def pretraining_rows(
    num_rows: int, target_tokens: int, seed: int, strategy: str = "litelong"
) -> list[dict[str, Any]]:
    """Rows of the pretraining schema with real token ids, packed to exactly ``target_tokens``."""
    enc, rng = _encoder(), random.Random(seed)
    corpus = [(f"doc-{seed}-{i}", enc.encode(_document(rng, rng.randint(20, 90)))) for i in range(40)]
    rows = []
    for index in range(num_rows):
        input_ids: list[int] = []
        pieces: list[int] = []
        sources = []
        while len(input_ids) < target_tokens:
            doc_id, ids = rng.choice(corpus)
            take = ids[: target_tokens - len(input_ids)]
            input_ids.extend(take)
            pieces.append(len(take))
            role = "meta" if not sources and strategy == "nextlong" else "retrieved"
            sources.append(
                {"doc_id": doc_id, "role": role, "n_tokens": len(take), "score": round(rng.random(), 3)}
            )
        rows.append(
            {
                "id": f"cfg{seed}/shard0/{index:05d}",
                "text": enc.decode(input_ids),
                "input_ids": input_ids,
                "n_tokens": target_tokens,
                "piece_lengths": pieces,
                "sources": sources,
                "topic": {"top": "SCIENCE", "sub": "Astronomy", "title": f"topic {index % 3}"}
                if strategy == "litelong"
                else None,
                "tokenizer": "llama-3",
                "strategy": strategy,
                "config_hash": f"hash{seed}",
            }
        )
    return rows


def instruction_rows(num_rows: int, seed: int) -> list[dict[str, Any]]:
    """Rows of the instruction (hierarchical QA) schema."""
    enc, rng = _encoder(), random.Random(seed)
    rows = []
    for index in range(num_rows):
        docs = [_document(rng, rng.randint(40, 120)) for _ in range(rng.randint(1, 3))]
        context = "\n\n".join(f"Document {i + 1}:\n{d}" for i, d in enumerate(docs))
        messages = [{"role": "user", "content": context + "\n\nQuestion: what is document 1 about?"}]
        questions = []
        for q in range(rng.randint(2, 4)):
            messages.append({"role": "assistant", "content": f"Answer {q}: {_document(rng, 8)}"})
            messages.append({"role": "user", "content": f"Question {q + 1}: {_document(rng, 6)}"})
            questions.append(
                {"level": rng.choice(["global", "medium", "small"]), "kind": "detail", "doc_index": 0}
            )
        messages.append({"role": "assistant", "content": "Final answer."})
        rows.append(
            {
                "id": f"hier{seed}/shard0/{index:05d}",
                "messages": messages,
                "n_tokens": sum(len(enc.encode(m["content"])) for m in messages),
                "documents": [
                    {"doc_id": f"doc-{seed}-{index}-{i}", "n_tokens": len(enc.encode(d))}
                    for i, d in enumerate(docs)
                ],
                "questions": questions,
                "tokenizer": "llama-3",
                "strategy": "hierarchical",
                "config_hash": f"hier{seed}",
            }
        )
    return rows


def pretraining_dataset(
    num_rows: int, target_tokens: int, seed: int, strategy: str = "litelong"
) -> datasets.Dataset:
    return datasets.Dataset.from_list(
        pretraining_rows(num_rows, target_tokens, seed, strategy), features=PRETRAINING_FEATURES
    )


def instruction_dataset(num_rows: int, seed: int) -> datasets.Dataset:
    return datasets.Dataset.from_list(instruction_rows(num_rows, seed), features=INSTRUCTION_FEATURES)


def sample_report(config_name: str, config_hash: str) -> RunReport:
    report = RunReport(config_name=config_name, config_hash=config_hash)
    report.count("topics_generated", 12)
    report.count("rows", 6)
    report.skip("topic", "zero BM25 hits", 3)
    report.skip("topic", "hits cannot fill one row", 1)
    report.llm.update({"requests": 36, "cache_hits": 4, "failures": 1})
    report.extra.update(
        {
            "config": {
                "target_tokens": 256,
                "rows_per_topic": 4,
                "llm": {"endpoint": "https://user:pw@llm.example/v1", "api_key": "sk-should-not-leak-123"},
            },
            "models": {
                "debater_a": "HuggingFaceTB/SmolLM2-135M-Instruct",
                "judge": "HuggingFaceTB/SmolLM2-135M-Instruct",
            },
            "prompt_versions": {"debate_generate": "v1", "debate_judge": "v2"},
            "tokenizer": "llama-3",
            "license": "odc-by",
            "corpus": "HuggingFaceFW/fineweb-edu",
            "language": ["en"],
        }
    )
    return report


@dataclass
class ClientRun:
    returncode: int
    stdout: str
    stderr: str
    payload: dict[str, Any]


@dataclass
class LocalHub:
    """A running local Hub plus what a test needs to drive the client against it."""

    server: HubServer
    token: str
    workdir: Path
    env: dict[str, str]

    def save_run(
        self, name: str, dataset: datasets.Dataset, report: RunReport | None = None, layout: str = "run"
    ) -> Path:
        """Write ``dataset`` (and ``report``) the way `litelong-hf generate --out` does; return the folder."""
        folder = self.workdir / "runs" / name
        if layout == "run":
            dataset.save_to_disk(str(folder / "dataset"))
            if report is not None:
                report.save(folder / "report.json")
        else:  # a plain save_to_disk folder
            dataset.save_to_disk(str(folder))
        return folder

    def client(
        self, *args: str, token: str | None = None, extra_env: dict[str, str] | None = None
    ) -> ClientRun:
        """Run ``_hub_client.py ARGS`` against this hub; its last stdout line is a JSON payload."""
        env = dict(self.env)
        if token is not None:
            env["HF_TOKEN"] = token
        env.update(extra_env or {})
        proc = subprocess.run(
            [sys.executable, str(CLIENT), *args],
            env=env,
            cwd=str(self.workdir),
            capture_output=True,
            text=True,
            timeout=240,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        payload = json.loads(lines[-1]) if lines else {}
        return ClientRun(proc.returncode, proc.stdout, proc.stderr, payload)

    def scan_for_token(self, *texts: str) -> list[str]:
        """Every stored file (hub storage, caches, run folders) and text that contains the token."""
        needle = self.token.encode()
        hits = [
            str(path) for path in self.workdir.rglob("*") if path.is_file() and needle in path.read_bytes()
        ]
        hits += [f"text #{i}" for i, text in enumerate(texts) if self.token in text]
        return hits


def push_command_module() -> ModuleType:
    """``litelong_hf/cli/push.py`` loaded by path.

    Importing the package ``litelong_hf.cli`` registers every other command too (and needs the package
    installed for its presets); these tests are about ``push`` only.
    """
    path = REPO_ROOT / "litelong_hf" / "cli" / "push.py"
    spec = importlib.util.spec_from_file_location("_litelong_hf_cli_push", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
