"""``litelong-hf topics CONFIG --out topics.jsonl``: only LiteLong's topic debate, written as JSONL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from ..config import ConfigError, make_config
from ..progress import console
from ..report import RunReport, render_report
from ..taxonomy import TaxonomyError


def register(app: typer.Typer) -> None:
    @app.command("topics")
    def topics(
        config_name: str = typer.Argument("litelong-128k", help="A litelong-* preset (its debate settings)."),
        out: Path = typer.Option(..., "--out", "-o", help="JSONL of kept topics (top, sub, title, ...)."),
        categories: str | None = typer.Option(None, help="Top categories by name or code, comma-separated."),
        subcategories: str | None = typer.Option(None, help="Subcategory headings, comma-separated."),
        max_subcategories: int | None = typer.Option(None, help="Use only the first N (top, sub) pairs."),
        sample_subcategories: int | None = typer.Option(None, help="Seeded random sample of N pairs."),
        expansion_factor: int | None = typer.Option(None, help="Each debater proposes 2 x this many topics."),
        taxonomy: str | None = typer.Option(None, help="'bisac', a Hub set id, or a CSV/JSON file."),
        endpoint: str | None = typer.Option(None, help="LLM endpoint for every role (default: embedded)."),
        model: str | None = typer.Option(None, help="Model name sent to the endpoint."),
        cache_dir: str | None = typer.Option(None, help="Cache root (LLM answers)."),
    ) -> None:
        """Debate topics for the selected taxonomy pairs; writes OUT and OUT's transcripts beside it.

        Reuse the topics in a run with ``--topics-file OUT``.
        """
        from ..strategies.litelong import LiteLongConfig, LiteLongStrategy

        try:
            config = make_config(
                config_name,
                categories=categories,
                subcategories=subcategories,
                max_subcategories=max_subcategories,
                sample_subcategories=sample_subcategories,
                expansion_factor=expansion_factor,
                taxonomy=taxonomy,
                endpoint=endpoint,
                model=model,
                cache_dir=cache_dir,
            )
            if not isinstance(config, LiteLongConfig):
                raise ConfigError(
                    f"{config_name} is not a litelong config; topics come from litelong-* presets."
                )
            strategy = LiteLongStrategy(config)
            report = RunReport(config_name=config.name, config_hash=config.config_hash())
            transcripts = strategy.debate(strategy.entries, report)
        except (ConfigError, TaxonomyError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            for t in transcripts:
                for kept in t.kept:
                    row = {"top": t.top, "sub": t.sub, "title": kept["topic"], **kept}
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
        transcript_file = out.with_suffix(".transcripts.jsonl")
        transcript_file.write_text(
            "".join(json.dumps(t.to_dict(), ensure_ascii=False) + "\n" for t in transcripts)
        )
        console.print(render_report(report))
        console.print(
            f"wrote {report.stats.get('topics_kept', 0)} topics to {out} (transcripts: {transcript_file})"
        )
