"""Opt-in round trip against the real Hugging Face Hub.

Runs only with ``LITELONG_HF_TEST_REAL_HUB=1`` and a write token (``HF_TOKEN`` or ``hf auth login``). It
creates a private dataset repo ``<you>/litelong-hf-test-<random>``, pushes two configs, loads one back
and deletes the repo.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from hub_fixtures import instruction_dataset, pretraining_dataset, sample_report

pytestmark = pytest.mark.integration


def _real_hub_token() -> str | None:
    if os.environ.get("LITELONG_HF_TEST_REAL_HUB") != "1":
        return None
    from huggingface_hub import get_token

    return get_token()


@pytest.mark.skipif(
    os.environ.get("LITELONG_HF_TEST_REAL_HUB") != "1",
    reason="real Hub test is opt-in: set LITELONG_HF_TEST_REAL_HUB=1 and HF_TOKEN (a write token)",
)
def test_real_hub_round_trip(tmp_path: Path) -> None:
    token = _real_hub_token()
    if not token:
        pytest.skip("LITELONG_HF_TEST_REAL_HUB=1 but no token: set HF_TOKEN or run `hf auth login`")
    import datasets
    from huggingface_hub import DatasetCard, HfApi

    from litelong_hf.hub import push_to_hub

    api = HfApi(token=token)
    repo_id = f"{api.whoami()['name']}/litelong-hf-test-{secrets.token_hex(4)}"
    rows = pretraining_dataset(6, 128, seed=11)
    try:
        push_to_hub(
            rows,
            repo_id,
            config_name="litelong-64k",
            private=True,
            token=token,
            report=sample_report("litelong-64k", "hash11"),
            max_shard_size="20KB",
            row_group_size=2,
        )
        push_to_hub(instruction_dataset(3, seed=12), repo_id, config_name="hierarchical-128k", token=token)
        loaded = datasets.load_dataset(
            repo_id, "litelong-64k", split="train", token=token, cache_dir=str(tmp_path / "cache")
        )
        assert loaded.to_list() == rows.to_list()
        card = DatasetCard.load(repo_id, repo_type="dataset", token=token)
        names = {c["config_name"] for c in card.data.to_dict()["configs"]}
        assert names == {"litelong-64k", "hierarchical-128k"}
        assert token not in card.content
    finally:
        api.delete_repo(repo_id, repo_type="dataset", missing_ok=True)
