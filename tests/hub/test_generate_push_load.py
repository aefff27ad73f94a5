"""What a user does with the README alone: `generate`, `eval quality`, `push`, then `load_dataset`.

Real LiteLong rows from the demo corpus (topics from a file, so no LLM time), the real CLI in
subprocesses, and `datasets.load_dataset` against the local Hub server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from hub_fixtures import LocalHub

from litelong_hf.card import parse_card
from litelong_hf.rowstore import read_rows

TOPICS = [
    {"top": "POLITICAL SCIENCE", "sub": "Civil Rights", "title": "Voting rights and elections"},
    {"top": "POLITICAL SCIENCE", "sub": "Civil Rights", "title": "Refugees and immigration policy"},
]


def _cli(hub: LocalHub, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("litelong-hf", path=str(Path(sys.executable).parent))
    assert exe is not None, "the litelong-hf console script is installed by `pip install -e .`"
    return subprocess.run(
        [exe, *args], env=hub.env, cwd=str(hub.workdir), capture_output=True, text=True, timeout=600
    )


@pytest.mark.integration
def test_generate_push_load_two_configs(local_hub: LocalHub) -> None:
    topics = local_hub.workdir / "topics.jsonl"
    topics.write_text("".join(json.dumps(t) + "\n" for t in TOPICS))
    common = ["--topics-file", str(topics), "--categories", "POL", "--subcategories", "Civil Rights"]
    runs = {}
    for config, rows in (("litelong-64k", "2"), ("litelong-128k", "1")):
        out = local_hub.workdir / "runs" / config
        done = _cli(local_hub, "generate", config, "--out", str(out), "--rows-per-topic", rows, *common)
        assert done.returncode == 0, done.stderr[-3000:]
        assert (out / "report.json").is_file() and (out / "parquet").is_dir()
        runs[config] = read_rows(out)
        if config == "litelong-64k":  # data-quality scores into report.json, for the card
            scored = _cli(local_hub, "eval", "quality", str(out), "--lm", "none", "--label-field", "source")
            assert scored.returncode == 0, scored.stderr[-3000:]
        pushed = _cli(local_hub, "push", str(out), "tester/long-news", "--config", config)
        assert pushed.returncode == 0, pushed.stdout[-3000:] + pushed.stderr[-3000:]
        assert local_hub.token not in pushed.stdout + pushed.stderr

    files = local_hub.server.repo_files("tester/long-news")
    assert any(f.startswith("litelong-64k/") and f.endswith(".parquet") for f in files)
    assert any(f.startswith("litelong-128k/") and f.endswith(".parquet") for f in files)
    card = local_hub.server.read_file("tester/long-news", "README.md").decode()
    assert "litelong-64k" in card and "litelong-128k" in card
    sections = parse_card(card).sections
    assert "### Data quality" in sections["litelong-64k"] and "| topic_purity | higher |" in card
    assert "### Data quality" not in sections["litelong-128k"]

    for config, local in runs.items():
        out_dir = local_hub.workdir / "loaded" / config
        loaded = local_hub.client("load", "tester/long-news", config, str(out_dir))
        assert loaded.payload.get("ok"), loaded.stderr[-3000:]
        remote = datasets.load_from_disk(str(out_dir))
        assert list(remote["id"]) == list(local["id"])
        assert list(remote["input_ids"]) == list(local["input_ids"])
        target = 65_536 if config == "litelong-64k" else 131_072
        assert all(len(ids) == target for ids in remote["input_ids"])
    assert local_hub.scan_for_token() == []
