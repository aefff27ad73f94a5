"""``litelong-hf corpus stats``: what a base corpus holds, in documents and target-tokenizer tokens."""

from __future__ import annotations

import statistics

import typer
from rich.table import Table

from ..corpus import CorpusConfig, CorpusError, open_store
from ..progress import console, progress_bar
from ..tokens import TokenCounter, TokenizerNotFoundError

corpus_app = typer.Typer(help="Inspect a base corpus.", no_args_is_help=True)


def fail(message: str) -> typer.Exit:
    """Print one short error line (no traceback) and return the exit to raise."""
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def corpus_spec(
    corpus: str,
    corpus_name: str | None,
    split: str,
    text_column: str,
    id_column: str | None,
    min_chars: int,
    max_documents: int | None,
    max_bytes: int | None,
) -> CorpusConfig:
    """The corpus of the CLI options, or a clean exit naming the fix."""
    try:
        return CorpusConfig(
            source=corpus,
            name=corpus_name,
            split=split,
            text_column=text_column,
            id_column=id_column,
            min_chars=min_chars,
            max_documents=max_documents,
            max_bytes=max_bytes,
        )
    except CorpusError as exc:
        raise fail(str(exc)) from None


@corpus_app.command("stats")
def stats(
    corpus: str = typer.Option("demo", help="'demo', a Hub dataset id, or local files (path, glob, folder)."),
    corpus_name: str | None = typer.Option(None, help="Hub dataset configuration name."),
    split: str = typer.Option("train", help="Split to read."),
    text_column: str = typer.Option("text", help="Column with the document text."),
    id_column: str | None = typer.Option(None, help="Column with a stable document id."),
    min_chars: int = typer.Option(20, help="Skip documents shorter than this."),
    max_documents: int | None = typer.Option(None, help="Read at most this many documents."),
    max_bytes: int | None = typer.Option(None, help="Read at most this many bytes of text."),
    tokenizer: str = typer.Option("llama-3", help="Tokenizer that defines lengths."),
    cache_dir: str | None = typer.Option(None, help="Cache root (default ~/.cache/litelong_hf)."),
) -> None:
    """Count documents, characters and tokens, and what the filters skipped.

    The corpus is read once into the document store (a later stats, index build or generate reuses it).
    """
    spec = corpus_spec(
        corpus, corpus_name, split, text_column, id_column, min_chars, max_documents, max_bytes
    )
    try:
        counter = TokenCounter.get(tokenizer)
        store = open_store(spec, cache_dir=cache_dir)
    except (CorpusError, TokenizerNotFoundError) as exc:
        raise fail(str(exc)) from None
    report = store.report()
    lengths: list[int] = []
    chars = 0
    with progress_bar("Tokenizing", total=len(store), unit="docs") as advance:
        for _, texts in store.batches(1024):
            lengths += counter.count_batch(texts)
            chars += sum(len(t) for t in texts)
            advance(len(texts))
    table = Table(title=f"corpus {corpus!r}")
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
