"""``litelong-hf corpus stats``: what a base corpus holds, in documents and target-tokenizer tokens."""

from __future__ import annotations

import statistics

import typer
from rich.table import Table

from ..corpus import CorpusConfig, CorpusError, iter_documents
from ..progress import console, progress_bar
from ..report import RunReport
from ..tokens import TokenCounter

corpus_app = typer.Typer(help="Inspect a base corpus.", no_args_is_help=True)


@corpus_app.command("stats")
def stats(
    corpus: str = typer.Option("demo", help="'demo', a Hub dataset id, or local files (path, glob, folder)."),
    corpus_name: str | None = typer.Option(None, help="Hub dataset configuration name."),
    split: str = typer.Option("train", help="Split to read."),
    text_column: str = typer.Option("text", help="Column with the document text."),
    id_column: str | None = typer.Option(None, help="Column with a stable document id."),
    min_chars: int = typer.Option(20, help="Skip documents shorter than this."),
    max_documents: int | None = typer.Option(None, help="Read at most this many documents."),
    tokenizer: str = typer.Option("llama-3", help="Tokenizer that defines lengths."),
) -> None:
    """Count documents, characters and tokens, and what the filters skipped."""
    spec = CorpusConfig(
        source=corpus,
        name=corpus_name,
        split=split,
        text_column=text_column,
        id_column=id_column,
        min_chars=min_chars,
        max_documents=max_documents,
    )
    counter = TokenCounter.get(tokenizer)
    report = RunReport()
    lengths: list[int] = []
    chars = 0
    batch: list[str] = []
    try:
        with progress_bar("Reading and tokenizing", total=max_documents, unit="docs") as advance:
            for doc in iter_documents(spec, report):
                batch.append(doc.text)
                chars += len(doc.text)
                if len(batch) == 1024:
                    lengths += counter.count_batch(batch)
                    advance(len(batch))
                    batch = []
            lengths += counter.count_batch(batch)
            advance(len(batch))
    except CorpusError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    table = Table(title=f"corpus {corpus!r}")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    table.add_row("documents", f"{len(lengths):,}")
    table.add_row("characters", f"{chars:,}")
    table.add_row(f"tokens ({counter.name})", f"{sum(lengths):,}")
    table.add_row("tokens per document: mean", f"{statistics.fmean(lengths):,.1f}")
    table.add_row("tokens per document: median", f"{statistics.median(lengths):,.0f}")
    table.add_row("tokens per document: max", f"{max(lengths):,}")
    table.add_row("characters per token", f"{chars / max(1, sum(lengths)):.2f}")
    for kind, reasons in report.skipped.items():
        for reason, n in reasons.items():
            table.add_row(f"skipped {kind}: {reason}", f"{n:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")
