"""``litelong-hf topics CONFIG --out topics.jsonl``: only LiteLong's topic debate, written as JSONL.

Bad input (unknown or non-LiteLong config, an empty taxonomy selection, a malformed taxonomy file, an
unreachable endpoint, an unwritable ``--out``) prints one line naming the fix and exits with status 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from ..config import ConfigError
from ..errors import cli_command
from ..fields import UNSET
from ..layout import atomic_write_jsonl, write_topics
from ..presets import load_preset, make_config
from ..progress import console
from ..report import RunReport, render_report
from ..strategies import strategy_config_class
from .options import field_options, given_values, with_fields

# The LiteLong fields that shape the debate (taxonomy selection, prompts, LLM): the flags of `topics`, with
# the same names and help as `generate`'s.
DEBATE_FIELDS = (
    "taxonomy",
    "categories",
    "subcategories",
    "max_subcategories",
    "sample_subcategories",
    "include_non_classifiable",
    "expansion_factor",
    "prompts",
    "llm_max_tokens",
    "judge_retries",
    "seed",
    "endpoint",
    "model",
    "dialect",
    "api_key_env",
    "roles",
    "max_concurrency",
    "temperature",
    "top_p",
    "cache_dir",
)


def transcripts_path(out: Path) -> Path:
    """Where the debate transcripts of ``out`` go: ``topics.jsonl`` -> ``topics.transcripts.jsonl``."""
    return out.with_suffix(".transcripts.jsonl")


def check_writable(out: Path) -> None:
    """Raise :class:`ConfigError` unless ``out`` can be written (checked before any LLM request)."""
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give a file name such as {out / 'topics.jsonl'}.")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the folder of --out {out} ({exc.strerror}); choose another path."
        ) from None
    if not os.access(parent, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ConfigError(f"--out {out} is not writable; choose a path in a folder you can write to.")


def topics(config_name: str, out: Path, **overrides: Any) -> None:
    """Debate topics for the selected taxonomy pairs; writes OUT and OUT's transcripts beside it."""
    from ..strategies.litelong import LiteLongConfig, LiteLongStrategy

    litelong = issubclass(
        strategy_config_class(str(load_preset(config_name).get("strategy", ""))), LiteLongConfig
    )
    config = make_config(config_name, **overrides) if litelong else None
    if not isinstance(config, LiteLongConfig):
        raise ConfigError(
            f"{config_name} is not a LiteLong config; topics come from litelong-* presets (e.g. litelong-128k)."
        )
    check_writable(out)
    strategy = LiteLongStrategy(config)
    strategy.validate()
    report = RunReport(config_name=config.name, config_hash=config.config_hash())
    transcripts = strategy.debate_many(strategy.entries, report)
    write_topics(
        out,
        (
            {"top": t.top, "sub": t.sub, "title": kept["topic"], **kept}
            for t in transcripts
            for kept in t.kept
        ),
    )
    transcript_file = transcripts_path(out)
    atomic_write_jsonl(transcript_file, (t.to_dict() for t in transcripts))
    console.print(render_report(report))
    console.print(
        f"wrote {report.stats.get('topics_kept', 0)} topics to {out} (transcripts: {transcript_file})"
    )


def _command(
    config_name: str = typer.Argument("litelong-128k", help="A litelong-* preset (its debate settings)."),
    out: Path = typer.Option(..., "--out", "-o", help="JSONL of kept topics (top, sub, title, ...)."),
    **fields: Any,
) -> None:
    """Debate topics for the selected taxonomy pairs; writes OUT and OUT's transcripts beside it.

    Reuse the topics in a run with ``--topics-file OUT``. Every flag after --out is the LiteLong config
    field of the same name (default: the preset's).
    """
    from ..strategies.litelong import LiteLongConfig

    topics(config_name, out, **given_values(LiteLongConfig, fields))


def register(app: typer.Typer) -> None:
    from ..strategies.litelong import LiteLongConfig

    fields = field_options(LiteLongConfig, DEBATE_FIELDS, shown=dict.fromkeys(DEBATE_FIELDS, UNSET))
    app.command("topics")(cli_command(with_fields(fields, _command)))
