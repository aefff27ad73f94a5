"""``litelong-hf topics CONFIG --out topics.jsonl``: only LiteLong's topic debate, written as JSONL.

Bad input (unknown or non-LiteLong config, an empty taxonomy selection, a malformed taxonomy file, an
unreachable endpoint, an unwritable ``--out``) prints one line naming the fix and exits with status 2.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ..config import ConfigError
from ..layout import atomic_write_jsonl, write_topics
from ..llm import LLMError
from ..presets import load_preset, make_config
from ..progress import console
from ..prompting import PromptError
from ..report import RunReport, render_report
from ..strategies import strategy_config_class
from ..taxonomy import TaxonomyError

USER_ERRORS = (ConfigError, TaxonomyError, PromptError, LLMError)


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


def register(app: typer.Typer) -> None:
    @app.command("topics")
    def topics(
        config_name: str = typer.Argument("litelong-128k", help="A litelong-* preset (its debate settings)."),
        out: Path = typer.Option(..., "--out", "-o", help="JSONL of kept topics (top, sub, title, ...)."),
        categories: str | None = typer.Option(None, help="Top categories by name or code, comma-separated."),
        subcategories: str | None = typer.Option(None, help="Subcategory headings, comma-separated."),
        max_subcategories: int | None = typer.Option(
            None, help="Use only the first N (top, sub) pairs of the seeded spread order."
        ),
        sample_subcategories: int | None = typer.Option(None, help="Seeded random sample of N pairs."),
        expansion_factor: int | None = typer.Option(None, help="Each debater proposes 2 x this many topics."),
        llm_max_tokens: int | None = typer.Option(None, help="Most tokens per debate answer."),
        taxonomy: str | None = typer.Option(
            None, help="'bisac', a Hub set id, or a CSV/TSV/JSON/JSONL file."
        ),
        endpoint: str | None = typer.Option(None, help="LLM endpoint for every role (default: embedded)."),
        model: str | None = typer.Option(None, help="Model name sent to the endpoint."),
        cache_dir: str | None = typer.Option(None, help="Cache root (LLM answers)."),
        debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error."),
    ) -> None:
        """Debate topics for the selected taxonomy pairs; writes OUT and OUT's transcripts beside it.

        Reuse the topics in a run with ``--topics-file OUT``.
        """
        from ..strategies.litelong import LiteLongConfig, LiteLongStrategy

        try:
            preset = load_preset(config_name)
            if not issubclass(strategy_config_class(str(preset.get("strategy", ""))), LiteLongConfig):
                raise ConfigError(
                    f"{config_name} is not a LiteLong config; topics come from litelong-* presets "
                    "(e.g. litelong-128k)."
                )
            config = make_config(
                config_name,
                categories=categories,
                subcategories=subcategories,
                max_subcategories=max_subcategories,
                sample_subcategories=sample_subcategories,
                expansion_factor=expansion_factor,
                llm_max_tokens=llm_max_tokens,
                taxonomy=taxonomy,
                endpoint=endpoint,
                model=model,
                cache_dir=cache_dir,
            )
            if not isinstance(config, LiteLongConfig):
                raise ConfigError(
                    f"{config_name} is not a LiteLong config; topics come from litelong-* presets "
                    "(e.g. litelong-128k)."
                )
            check_writable(out)
            strategy = LiteLongStrategy(config)
            strategy.validate()
            report = RunReport(config_name=config.name, config_hash=config.config_hash())
            transcripts = strategy.debate_many(strategy.entries, report)
        except USER_ERRORS as exc:
            if debug:
                raise
            console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
            raise typer.Exit(2) from None
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
