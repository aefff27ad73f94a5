"""What a training run leaves behind: the report JSON, the loss-curve PNG, the model card, the Hub push."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..layout import atomic_path, atomic_write_json, atomic_write_text
from ..secrets import known_secrets, redact, scrub_text
from .errors import TrainError


def write_report(path: Path, report: dict[str, Any]) -> None:
    """The training report as indented JSON, secrets redacted."""
    atomic_write_json(path, redact(report, known_secrets()))


def plot_loss(path: Path, stages: list[dict[str, Any]]) -> None:
    """Loss per optimizer step across all stages (steps continue from stage to stage), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=110)
    offset = 0
    for stage in stages:
        points = stage.get("loss") or []
        steps = [offset + int(p["step"]) for p in points]
        ax.plot(
            steps,
            [float(p["loss"]) for p in points],
            marker="." if len(points) < 60 else None,
            label=stage["name"],
        )
        if offset:
            ax.axvline(offset, color="grey", linestyle=":", linewidth=1)
        offset += int(stage.get("steps") or (max((int(p["step"]) for p in points), default=0)))
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title("litelong-hf train")
    ax.grid(alpha=0.3)
    if len(stages) > 1:
        ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _fmt_tokens(n: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def model_card(report: dict[str, Any], repo_id: str | None = None) -> str:
    """README.md of the trained model: front matter for the Hub, the training sets, stages and RoPE."""
    datasets_meta = sorted({d["source"] for d in report["datasets"] if d.get("hub")})
    meta: dict[str, Any] = {
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["long-context", "rope-scaling", "litelong-hf", "trl"],
    }
    base = report.get("base_model_hub_id")
    if base:
        meta["base_model"] = base
    if datasets_meta:
        meta["datasets"] = datasets_meta
    import yaml

    lines = ["---", yaml.safe_dump(meta, sort_keys=False).strip(), "---", ""]
    title = repo_id or f"{report['model']} (long context)"
    last = report["stages"][-1]
    lines += [
        f"# {title}",
        "",
        f"`{report['model']}` continued-pretrained / fine-tuned to a context of "
        f"**{last['max_position_embeddings']:,} tokens** with litelong-hf "
        f"(`litelong-hf train`, TRL `SFTTrainer`), in {len(report['stages'])} stage(s).",
        "",
        "## Training sets",
        "",
        "| source | config | kind | rows | tokens | strategy | config hash | tokenizer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in report["datasets"]:
        lines.append(
            f"| {d['source']} | {d.get('config_name') or '-'} | {d['kind']} | {d['rows']:,} | "
            f"{_fmt_tokens(d['tokens'])} | {', '.join(d['strategies']) or '-'} | "
            f"{', '.join(d['config_hashes']) or '-'} | {d['tokenizer']} |"
        )
    lines += [
        "",
        "## Stages",
        "",
        "| stage | rows of | RoPE | positions | lr | steps | tokens seen | final loss |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in report["stages"]:
        rope = s["rope_parameters"]
        extra = f", factor {rope['factor']}" if "factor" in rope else ""
        final = f"{s['final_loss']:.4f}" if s.get("final_loss") is not None else "-"
        lines.append(
            f"| {s['name']} | {s['data']['source']} | {rope['rope_type']}, θ {rope['rope_theta']:g}{extra} | "
            f"{s['max_position_embeddings']:,} | {s['learning_rate']:g} | {s['steps']} | "
            f"{_fmt_tokens(s['tokens_seen'])} | {final} |"
        )
    lines += [
        "",
        "The RoPE parameters above were checked on the built model (its rotary `inv_freq` and attention scaling), "
        "not only written to the config. Document masking: "
        f"{'on (positions restart per document)' if report['config'].get('document_masking') else 'off (attention across the documents of a row)'}.",
        "",
        "![loss curve](loss.png)",
        "",
        f"Tokens seen: {_fmt_tokens(report['tokens_seen'])}; throughput {report['tokens_per_second']:.1f} tokens/s. "
        "The full training report is `training_report.json`.",
        "",
    ]
    return scrub_text("\n".join(lines), known_secrets())


def write_card(folder: Path, report: dict[str, Any], repo_id: str | None = None) -> None:
    atomic_write_text(folder / "README.md", model_card(report, repo_id))


def push_model(folder: Path, repo_id: str, *, private: bool = False, token: str | None = None) -> str:
    """Upload the model folder to a Hub model repo; returns the commit URL."""
    from huggingface_hub import HfApi

    secrets = known_secrets([token])
    try:
        api = HfApi(token=token)
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="model",
            commit_message="Upload model trained with litelong-hf",
        )
    except Exception as exc:  # the Hub client raises many types; every one means the push failed
        message = scrub_text(f"{type(exc).__name__}: {exc}", secrets)
        raise TrainError(
            f"Pushing to {repo_id} failed ({message[:400]}). Check the repo id and that HF_TOKEN (or `hf auth "
            "login`) has write access; the trained model stays in the output folder."
        ) from None
    return str(getattr(commit, "commit_url", commit))


def read_json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))
