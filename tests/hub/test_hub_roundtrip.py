"""Push + load round trips against the local Hub server (client in a subprocess, server in this process)."""

from __future__ import annotations

import io
from collections import Counter

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from hub_fixtures import LocalHub, sample_report
from huggingface_hub import DatasetCard

from litelong_hf.card import parse_card

pytestmark = pytest.mark.integration

REPO = "tester/long-data"


def _assert_client_ok(run: object) -> None:
    payload = run.payload  # type: ignore[attr-defined]
    assert payload.get("ok"), f"client failed:\n{payload.get('traceback') or payload}\n{run.stderr[-3000:]}"  # type: ignore[attr-defined]


def _load(hub: LocalHub, config: str, name: str) -> datasets.Dataset:
    out = hub.workdir / "loaded" / name
    run = hub.client("load", REPO, config, str(out))
    _assert_client_ok(run)
    return datasets.load_from_disk(str(out))


def _shards(hub: LocalHub, config: str) -> list[str]:
    return [p for p in hub.server.repo_files(REPO) if p.startswith(f"{config}/")]


def test_two_configs_round_trip_with_card(local_hub: LocalHub, make_pretraining) -> None:
    hub = local_hub
    first = make_pretraining(12, 256, seed=1, strategy="litelong")
    second = make_pretraining(5, 192, seed=2, strategy="nextlong")
    report = sample_report("litelong-64k", "hash1")
    run_a = hub.save_run("a", first, report)
    run_b = hub.save_run("b", second, layout="plain")

    pushed_a = hub.client(
        "push", str(run_a), REPO, "litelong-64k", "--max-shard-size", "8KB", "--row-group-size", "2"
    )
    _assert_client_ok(pushed_a)
    assert pushed_a.payload["num_shards"] > 1
    pushed_b = hub.client("push", str(run_b), REPO, "nextlong-64k")
    _assert_client_ok(pushed_b)

    # the rows come back exactly, with their types
    for config, original, name in (("litelong-64k", first, "a"), ("nextlong-64k", second, "b")):
        loaded = _load(hub, config, name)
        assert loaded.features == original.features
        assert loaded["id"] == original["id"]
        assert loaded["input_ids"] == original["input_ids"]
        assert loaded.to_list() == original.to_list()

    # data layout: deterministic shard names, small row groups
    shards = _shards(hub, "litelong-64k")
    n = pushed_a.payload["num_shards"]
    assert shards == [f"litelong-64k/train-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    for path in shards:
        meta = pq.ParquetFile(io.BytesIO(hub.server.read_file(REPO, path))).metadata
        assert all(meta.row_group(i).num_rows <= 2 for i in range(meta.num_row_groups))
    files = hub.server.repo_files(REPO)
    for config in ("litelong-64k", "nextlong-64k"):
        png = hub.server.read_file(REPO, f"assets/{config}-token-lengths.png")
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "README.md" in files

    # the card validates with huggingface_hub and lists both configs with their data files
    readme = hub.server.read_file(REPO, "README.md").decode()
    card = DatasetCard(readme)
    configs = {c["config_name"]: c for c in card.data.to_dict()["configs"]}
    assert set(configs) == {"litelong-64k", "nextlong-64k"}
    assert configs["litelong-64k"]["data_files"] == [{"split": "train", "path": "litelong-64k/train-*"}]
    assert card.data.task_categories == ["text-generation"]
    assert card.data.license == "odc-by"
    assert card.data.size_categories == ["n<1K"]
    assert "HuggingFaceFW/fineweb-edu" in card.data.source_datasets
    assert {"long-context", "litelong", "nextlong"} <= set(card.data.tags)
    parsed = parse_card(readme)
    assert list(parsed.sections) == ["litelong-64k", "nextlong-64k"]
    section_a = parsed.sections["litelong-64k"]
    assert "arXiv:2509.15568" in section_a and "zero BM25 hits" in section_a
    assert "debater_a" in section_a and "debate_judge" in section_a
    assert "sk-should-not-leak-123" not in readme and "user:pw@" not in readme
    assert 'load_dataset("tester/long-data", "litelong-64k"' in readme

    # re-pushing the first config with fewer shards: stale shards deleted, the other config kept
    repush = hub.client("push", str(run_a), REPO, "litelong-64k")
    _assert_client_ok(repush)
    assert _shards(hub, "litelong-64k") == ["litelong-64k/train-00000-of-00001.parquet"]
    assert sorted(repush.payload["deleted"]) == shards
    readme = hub.server.read_file(REPO, "README.md").decode()
    assert list(parse_card(readme).sections) == ["litelong-64k", "nextlong-64k"]
    metadata = yaml.safe_load(readme.split("---")[1])
    assert [c["config_name"] for c in metadata["configs"]] == ["litelong-64k", "nextlong-64k"]
    assert _load(hub, "litelong-64k", "a2").to_list() == first.to_list()

    # the token is in no stored file, cache, log or output
    texts = [r.stdout + r.stderr for r in (pushed_a, pushed_b, repush)]
    assert hub.scan_for_token(*texts) == []


def test_instruction_rows_round_trip(local_hub: LocalHub, make_instruction) -> None:
    hub = local_hub
    rows = make_instruction(7, seed=5)
    run = hub.save_run("hier", rows)
    pushed = hub.client("push", str(run), REPO, "hierarchical-128k", "--private")
    _assert_client_ok(pushed)
    loaded = _load(hub, "hierarchical-128k", "hier")
    assert loaded.features == rows.features
    assert loaded.to_list() == rows.to_list()
    readme = hub.server.read_file(REPO, "README.md").decode()
    section = parse_card(readme).sections["hierarchical-128k"]
    assert "arXiv:2504.12637" in section
    assert "questions per row" in section
    assert DatasetCard(readme).data.to_dict()["configs"][0]["config_name"] == "hierarchical-128k"
    assert "instruction-tuning" in DatasetCard(readme).data.tags
    assert hub.scan_for_token(pushed.stdout, pushed.stderr) == []


def test_failed_upload_then_retry_resumes_without_duplicates(local_hub: LocalHub, make_pretraining) -> None:
    hub = local_hub
    rows = make_pretraining(8, 256, seed=3)
    run = hub.save_run("resume", rows, sample_report("litelong-128k", "hash3"))
    args = ("push", str(run), REPO, "litelong-128k", "--max-shard-size", "6KB")
    no_backoff = {"LITELONG_TEST_NO_BACKOFF": "1"}

    # the 3rd LFS upload fails with a 500, every retry too
    hub.server.faults.fail("upload", nth=3, status=500, times=None)
    failed = hub.client(*args, extra_env=no_backoff)
    assert failed.returncode != 0 and not failed.payload["ok"]
    assert failed.payload["error_type"] == "PushError"
    message = failed.payload["error"]
    assert "uploading shard 3/" in message and "Run the same push again" in message
    assert "Nothing new was published" in message
    # nothing half-published: no shard, no card, no plot became visible
    assert hub.server.repo_files(REPO) == [".gitattributes"]
    uploaded_before = hub.server.uploads()
    assert len(uploaded_before) == 2

    hub.server.faults.clear()
    retried = hub.client(*args, extra_env=no_backoff)
    _assert_client_ok(retried)
    num_shards = retried.payload["num_shards"]
    assert num_shards >= 4
    uploads = hub.server.uploads()
    # every object was uploaded exactly once: the retry sent only what was missing
    assert set(uploaded_before) <= set(uploads)
    assert all(count == 1 for count in uploads.values()), uploads
    assert len(_shards(hub, "litelong-128k")) == num_shards
    assert _load(hub, "litelong-128k", "resume").to_list() == rows.to_list()
    assert hub.scan_for_token(failed.stdout, failed.stderr, retried.stdout, retried.stderr) == []


def test_failed_final_commit_then_retry(local_hub: LocalHub, make_pretraining) -> None:
    hub = local_hub
    rows = make_pretraining(4, 128, seed=4)
    run = hub.save_run("commit", rows)
    hub.server.faults.fail("commit", nth=1, status=500)
    failed = hub.client("push", str(run), REPO, "litelong-64k")
    assert not failed.payload["ok"]
    assert "making the final commit" in failed.payload["error"]
    assert hub.server.repo_files(REPO) == [".gitattributes"]
    puts_before = sum(hub.server.uploads().values())

    retried = hub.client("push", str(run), REPO, "litelong-64k")
    _assert_client_ok(retried)
    # the shard was already in storage: only the plot is new
    assert sum(hub.server.uploads().values()) - puts_before <= 1
    assert hub.server.commit_count(REPO) == 2  # the initial one and ours
    assert hub.scan_for_token(failed.stdout, failed.stderr, failed.payload["traceback"]) == []


def test_transient_server_error_is_retried(local_hub: LocalHub, make_pretraining) -> None:
    hub = local_hub
    run = hub.save_run("transient", make_pretraining(3, 64, seed=6))
    hub.server.faults.fail("upload", nth=1, status=500, times=1)
    pushed = hub.client("push", str(run), REPO, "nextlong-64k", extra_env={"LITELONG_TEST_NO_BACKOFF": "1"})
    _assert_client_ok(pushed)
    assert Counter(r.status for r in hub.server.log if r.path.startswith("/lfs-upload/"))[500] == 1


def test_wrong_token_is_rejected_clearly(local_hub: LocalHub, make_pretraining) -> None:
    hub = local_hub
    run = hub.save_run("badtoken", make_pretraining(2, 64, seed=7))
    wrong = "hf_wrong_" + "x" * 20
    failed = hub.client("push", str(run), REPO, "litelong-64k", token=wrong)
    assert not failed.payload["ok"]
    assert "rejected the token" in failed.payload["error"]
    assert wrong not in failed.stdout + failed.stderr
    assert not any(r.path.endswith("/commit/main") for r in hub.server.log)
    assert hub.scan_for_token(failed.stdout, failed.stderr) == []


def test_cli_push(local_hub: LocalHub, make_pretraining) -> None:
    hub = local_hub
    rows = make_pretraining(3, 96, seed=8)
    run = hub.save_run("cli", rows, sample_report("litelong-512k", "hash8"))
    # --config omitted: taken from report.json
    result = hub.client("cli", "push", str(run), REPO, "--row-group-size", "1", "--revision", "dev")
    assert result.payload["exit_code"] == 0, result.payload["output"] + result.stderr[-3000:]
    assert 'load_dataset("tester/long-data", "litelong-512k"' in result.payload["output"]
    # pushed to a new branch: main is untouched
    assert hub.server.repo_files(REPO) == [".gitattributes"]
    files = hub.server.repo_files(REPO, revision="dev")
    assert "litelong-512k/train-00000-of-00001.parquet" in files and "README.md" in files
    assert hub.scan_for_token(result.stdout, result.stderr) == []
