"""After its first optimizer step, every stage says how long it took and when the stage will end."""

from __future__ import annotations

from pathlib import Path

import datasets

from litelong_hf.finetune import TrainConfig, train
from litelong_hf.finetune.trainer import eta_line


def test_eta_line_extrapolates_the_first_step() -> None:
    line = eta_line("64k", 12.5, 2500, 1, 21)
    assert line == "stage 64k: first step took 12.5 s (200 tokens/s); 20 more step(s), ETA 00:04:10"
    assert "tokens/s unknown" in eta_line("s", 0.0, 0, 1, 1) and "0 more step(s), ETA 00:00:00" in eta_line(
        "s", 0.0, 0, 1, 1
    )


def test_training_prints_the_eta_once_per_stage(
    tmp_path: Path, tiny_model_dir: Path, smollm2_rows: datasets.Dataset
) -> None:
    lines: list[str] = []
    config = TrainConfig(
        out=str(tmp_path / "run"),
        model=str(tiny_model_dir),
        rope_theta=5e4,
        max_position_embeddings=512,
        max_steps=3,
    )
    train(config, data=[smollm2_rows], log=lines.append)
    etas = [line for line in lines if "first step took" in line]
    assert len(etas) == 1 and "2 more step(s), ETA" in etas[0] and "tokens/s)" in etas[0]
