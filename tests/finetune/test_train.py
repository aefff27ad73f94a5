"""End to end on a tiny random Llama: loss falls, outputs are complete, bad input fails before weights load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pytest
from finetune_helpers import make_instruction_rows, make_pretraining_rows
from typer.testing import CliRunner

from litelong_hf.cli import app
from litelong_hf.corpus import Document
from litelong_hf.finetune import TrainConfig, TrainError, plan_run, train


def _quiet(_: str) -> None:
    pass


def test_loss_falls_and_outputs_are_complete(
    tmp_path: Path, tiny_model_dir: Path, smollm2_rows: datasets.Dataset
) -> None:
    config = TrainConfig(
        out=str(tmp_path / "run"),
        model=str(tiny_model_dir),
        rope_theta=5e4,
        max_position_embeddings=512,
        learning_rate=3e-3,
        warmup_ratio=0.0,
        lr_scheduler_type="constant",
        max_steps=30,
        batch_size=2,
        save_steps=100,
        gradient_checkpointing=True,
    )
    result = train(config, data=[smollm2_rows], log=_quiet)
    report = json.loads(result.report_path.read_text())
    stage = report["stages"][0]
    losses = [p["loss"] for p in stage["loss"]]
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5  # a 2-layer model memorizes 8 rows
    assert stage["steps"] == 30 and stage["tokens_seen"] == 30 * 2 * 128
    assert stage["tokens_per_second"] > 0
    assert stage["rope_parameters"] == {"rope_type": "default", "rope_theta": 5e4}
    assert stage["rope_check"]["verified"] and stage["max_position_embeddings"] == 512
    assert stage["attn_implementation"] == "sdpa" and stage["dtype"] == "float32"
    assert report["datasets"][0]["config_hashes"] == ["testhash"]
    assert report["config_hash"] and report["versions"]["trl"] != "not installed"
    model_dir = result.model_dir
    saved = json.loads((model_dir / "config.json").read_text())
    assert saved["rope_parameters"]["rope_theta"] == 5e4 and saved["max_position_embeddings"] == 512
    assert (model_dir / "tokenizer.json").is_file() and (model_dir / "loss.png").stat().st_size > 1000
    assert (tmp_path / "run" / "loss.png").read_bytes()[:4] == b"\x89PNG"
    card = (model_dir / "README.md").read_text()
    assert "library_name: transformers" in card and "testhash" in card and "θ 50000" in card


def test_instruction_rows_train_on_answers(
    tmp_path: Path, tiny_model_dir: Path, smollm2_hf_tokenizer: Any
) -> None:
    rows = make_instruction_rows(smollm2_hf_tokenizer, "smollm2", num_rows=4)
    result = train(
        TrainConfig(out=str(tmp_path / "sft"), model=str(tiny_model_dir), max_steps=3, learning_rate=1e-3),
        data=[rows],
        log=_quiet,
    )
    stage = result.report["stages"][0]
    assert stage["steps"] == 3 and stage["data"]["kind"] == "instruction"
    assert all(p["loss"] > 0 for p in stage["loss"])


def test_document_masking_trains(
    tmp_path: Path, tiny_model_dir: Path, smollm2_rows: datasets.Dataset
) -> None:
    result = train(
        TrainConfig(out=str(tmp_path / "dm"), model=str(tiny_model_dir), max_steps=2, document_masking=True),
        data=[smollm2_rows],
        log=_quiet,
    )
    stage = result.report["stages"][0]
    assert stage["document_masking"] and stage["steps"] == 2
    # restarts mask the first token of every piece: fewer tokens are trained than are seen
    assert stage["final_loss"] is not None


def test_two_stages_each_start_from_the_previous(
    tmp_path: Path, tiny_model_dir: Path, smollm2_rows: datasets.Dataset
) -> None:
    schedule = tmp_path / "two.yaml"
    schedule.write_text(
        "name: two\nstages:\n"
        "  - {name: short, learning_rate: 1.0e-3, max_steps: 2, rope: {rope_theta: 2.0e+4}}\n"
        "  - {name: long, learning_rate: 5.0e-4, max_steps: 2, rope: {rope_type: linear, factor: 2.0}}\n"
    )
    result = train(
        TrainConfig(out=str(tmp_path / "staged"), model=str(tiny_model_dir), schedule=str(schedule)),
        data=[smollm2_rows],
        log=_quiet,
    )
    first, second = result.report["stages"]
    assert (tmp_path / "staged" / "stages" / "short" / "model" / "config.json").is_file()
    assert second["rope_parameters"] == {"rope_type": "linear", "rope_theta": 2e4, "factor": 2.0}
    assert first["rope_parameters"]["rope_theta"] == 2e4
    assert result.report["schedule"] == "two"


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["train", *args])


@pytest.fixture
def run_dir(tmp_path: Path, smollm2_rows: datasets.Dataset) -> Path:
    folder = tmp_path / "rows"
    smollm2_rows.save_to_disk(str(folder / "dataset"))
    (folder / "report.json").write_text('{"config_name": "nextlong-64k"}')
    return folder


def _error_of(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_cli_errors_before_weights_load(
    tmp_path: Path,
    tiny_model_dir: Path,
    run_dir: Path,
    demo_documents: list[Document],
    smollm2_hf_tokenizer: Any,
) -> None:
    model = str(tiny_model_dir)
    out = str(tmp_path / "out")
    # rows longer than the model's 256 positions, no RoPE scaling asked for
    long_rows = tmp_path / "long"
    make_pretraining_rows(demo_documents, "smollm2", target_tokens=300, num_rows=1).save_to_disk(
        str(long_rows)
    )
    assert "no RoPE scaling" in _error_of(_cli("--data", str(long_rows), "--model", model, "--out", out))
    # rows in another tokenizer
    llama = tmp_path / "llama"
    make_pretraining_rows(demo_documents, "llama-3", target_tokens=64, num_rows=1).save_to_disk(str(llama))
    assert "--tokenizer" in _error_of(_cli("--data", str(llama), "--model", model, "--out", out))
    # unknown rope type; yarn without its original context
    text = _error_of(_cli("--data", str(run_dir), "--model", model, "--out", out, "--rope-type", "ntk"))
    assert "Unknown rope_type 'ntk'" in text
    text = _error_of(
        _cli(
            "--data",
            str(run_dir),
            "--model",
            model,
            "--out",
            out,
            "--rope-type",
            "yarn",
            "--rope-factor",
            "4",
        )
    )
    assert "--original-max-position-embeddings" in text
    # a model path that does not exist
    assert "does not exist" in _error_of(
        _cli("--data", str(run_dir), "--model", "./nowhere/model", "--out", out)
    )
    # instruction rows, model without chat template
    no_template = tmp_path / "no-template"
    no_template.mkdir()
    for f in tiny_model_dir.iterdir():
        if f.name != "chat_template.jinja":
            (no_template / f.name).write_bytes(f.read_bytes())
    config = json.loads((no_template / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (no_template / "tokenizer_config.json").write_text(json.dumps(config))
    inst = tmp_path / "inst"
    make_instruction_rows(smollm2_hf_tokenizer, "smollm2", 1).save_to_disk(str(inst))
    assert "chat template" in _error_of(_cli("--data", str(inst), "--model", str(no_template), "--out", out))
    # a non-empty output folder
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert "not empty" in _error_of(_cli("--data", str(run_dir), "--model", model, "--out", str(busy)))
    assert (busy / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "out").exists()  # nothing was written, no weights were loaded


def test_plan_refuses_a_different_run_in_out(
    tmp_path: Path, tiny_model_dir: Path, smollm2_rows: datasets.Dataset
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "train_state.json").write_text('{"config_hash": "other", "stages": {}}')
    with pytest.raises(TrainError, match="other settings"):
        plan_run(TrainConfig(out=str(out), model=str(tiny_model_dir), max_steps=1), data=[smollm2_rows])
