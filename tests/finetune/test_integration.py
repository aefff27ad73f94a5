"""Real processes: kill and resume `litelong-hf train`, push to a local Hub, a real step on SmolLM2-135M."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import datasets
import pytest

from litelong_hf.corpus import Document
from litelong_hf.testing.hub_server import HubServer

CLI = [sys.executable, "-c", "from litelong_hf.cli import main; main()", "train"]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"LITELONG_HF_NO_PROGRESS": "1", "HF_HUB_OFFLINE": "1", **extra})
    return env


def _checkpoints(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(
        int(p.name.split("-")[1]) for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file()
    )


@pytest.mark.integration
def test_killed_run_resumes_from_its_last_checkpoint(
    tmp_path: Path, tiny_model_dir: Path, smollm2_rows: datasets.Dataset
) -> None:
    data = tmp_path / "rows"
    smollm2_rows.save_to_disk(str(data))
    out = tmp_path / "run"
    args = [*CLI, "--data", str(data), "--model", str(tiny_model_dir), "--out", str(out), "--max-steps", "12"]
    args += ["--save-steps", "2", "--rope-theta", "2e4", "--learning-rate", "1e-3"]
    checkpoints = out / "stages" / "stage-1" / "checkpoints"
    first = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while not any(step >= 4 for step in _checkpoints(checkpoints)):
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (out / "model").exists()
    killed_at = max(_checkpoints(checkpoints))
    assert killed_at < 12

    second = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr
    assert "resuming from" in second.stderr
    report = json.loads((out / "training_report.json").read_text())
    stage = report["stages"][0]
    assert stage["steps"] == 12
    assert stage["resumed_from"].endswith(f"checkpoint-{killed_at}")
    assert [p["step"] for p in stage["loss"]] == list(range(1, 13))  # the killed part's losses are kept
    assert stage["tokens_seen"] == 12 * 128

    # the finished run is reused as is by a third identical command
    third = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stderr
    assert "already trained" in third.stderr


@pytest.mark.integration
def test_rows_from_the_hub_in_and_model_to_the_hub_out(
    tmp_path: Path, tiny_model_dir: Path, smollm2_rows: datasets.Dataset
) -> None:
    rows_dir = tmp_path / "rows"
    smollm2_rows.save_to_disk(str(rows_dir / "dataset"))
    token = "hf_test_" + secrets.token_hex(12)
    with HubServer(tmp_path / "hub", token=token, user="tester") as server:
        env = _env(
            HF_ENDPOINT=server.url, HF_TOKEN=token, HF_HUB_DISABLE_XET="1", HF_HOME=str(tmp_path / "hf")
        )
        env.pop("HF_HUB_OFFLINE")
        env.pop("HF_DATASETS_OFFLINE", None)
        pushed = subprocess.run(
            [CLI[0], CLI[1], CLI[2], "push", str(rows_dir), "tester/rows", "--config", "nextlong-64k"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert pushed.returncode == 0, pushed.stderr
        result = subprocess.run(
            [
                *CLI,
                *("--data", "tester/rows", "--data-config", "nextlong-64k", "--model", str(tiny_model_dir)),
                *("--out", str(tmp_path / "run"), "--max-steps", "2", "--push-to-hub", "tester/tiny-long"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        files = server.repo_files("tester/tiny-long", repo_type="model")
        assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "loss.png"} <= set(files)
        card = server.read_file("tester/tiny-long", "README.md", repo_type="model").decode()
        report = json.loads(server.read_file("tester/tiny-long", "training_report.json", repo_type="model"))
    assert "# tester/tiny-long" in card and "testhash" in card
    assert "datasets:\n- tester/rows" in card  # Hub metadata links the training set
    assert token not in card and token not in json.dumps(report) and token not in result.stderr
    assert report["stages"][0]["steps"] == 2
    assert report["datasets"][0]["config_name"] == "nextlong-64k"


@pytest.mark.integration
def test_real_optimizer_step_on_packaged_smollm2(
    tmp_path: Path, demo_documents: list[Document], finetune_cache: Path
) -> None:
    from finetune_helpers import cache_env, make_pretraining_rows
    from safetensors import safe_open

    with cache_env(finetune_cache):
        rows = make_pretraining_rows(demo_documents, "smollm2", target_tokens=512, num_rows=1)
        from litelong_hf.finetune import TrainConfig, train

        result = train(
            TrainConfig(
                out=str(tmp_path / "smol"),
                model="smollm2",
                max_steps=1,
                learning_rate=1e-4,
                warmup_ratio=0.0,
                rope_theta=2e5,
                save_steps=10,
            ),
            data=[rows],
            log=lambda _: None,
        )
    stage: dict[str, Any] = result.report["stages"][0]
    assert stage["steps"] == 1 and stage["tokens_seen"] == 512
    assert 0 < stage["final_loss"] < 8  # a trained 135M model, not a random one (ln 49152 = 10.8)
    converted = next((finetune_cache / "models").glob("smollm2-135m-instruct*/model.safetensors"))
    with (
        safe_open(str(converted), "pt") as before,
        safe_open(str(result.model_dir / "model.safetensors"), "pt") as after,
    ):
        name = "model.layers.0.mlp.down_proj.weight"
        assert not before.get_tensor(name).equal(after.get_tensor(name))  # the optimizer step changed weights
    assert json.loads((result.model_dir / "config.json").read_text())["rope_parameters"]["rope_theta"] == 2e5
