"""``litelong-hf corpus stats``: what a base corpus holds, in documents and target-tokenizer tokens."""

from __future__ import annotations

import statistics
from typing import Any

import typer
from rich.table import Table

from ..config import CORPUS_FIELDS, BaseConfig
from ..corpus import CorpusConfig, open_store
from ..errors import cli_command
from ..progress import console, progress_bar
from ..tokens import TokenCounter
from .options import with_config_fields

corpus_app = typer.Typer(help="Inspect a base corpus.", no_args_is_help=True)


def corpus_spec(**values: Any) -> CorpusConfig:
    """The corpus of the CLI flags (a ``CorpusError`` names the fix)."""
    return CorpusConfig(**values)


# The corpus flags of `generate` (same names, defaults and help), for every command that reads a corpus.
corpus_options = with_config_fields(BaseConfig, CORPUS_FIELDS, corpus_spec, "corpus")


@corpus_app.command("stats")
@cli_command
@corpus_options
def stats(
    corpus: CorpusConfig,
    tokenizer: str = typer.Option("llama-3", help="Tokenizer that defines lengths."),
    cache_dir: str | None = typer.Option(None, help="Cache root (default ~/.cache/litelong_hf)."),
) -> None:
    """Count documents, characters and tokens, and what the filters skipped.

    The corpus is read once into the document store (a later stats, index build or generate reuses it).
    """
    spec = corpus
    counter = TokenCounter.get(tokenizer)
    store = open_store(spec, cache_dir=cache_dir)
    report = store.report()
    lengths: list[int] = []
    chars = 0
    with progress_bar("Tokenizing", total=len(store), unit="docs") as advance:
        for _, texts in store.batches(1024):
            lengths += counter.count_batch(texts)
            chars += sum(len(t) for t in texts)
            advance(len(texts))
    table = Table(title=f"corpus {spec.source!r}")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    table.add_row("documents", f"{len(lengths):,}")
    table.add_row("characters", f"{chars:,}")
    table.add_row("bytes (UTF-8)", f"{store.n_bytes:,}")
    table.add_row(f"tokens ({counter.name})", f"{sum(lengths):,}")
    table.add_row("tokens per document: mean", f"{statistics.fmean(lengths):,.1f}")
    table.add_row("tokens per document: median", f"{statistics.median(lengths):,.0f}")
    table.add_row("tokens per document: max", f"{max(lengths):,}")
    table.add_row("characters per token", f"{chars / max(1, sum(lengths)):.2f}")
    table.add_row("fingerprint", store.fingerprint)
    for kind, reasons in report.skipped.items():
        for reason, n in reasons.items():
            table.add_row(f"skipped {kind}: {reason}", f"{n:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")
