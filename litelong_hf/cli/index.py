"""``litelong-hf index build``: the BM25 index of a corpus, built once per corpus snapshot."""

from __future__ import annotations

import time

import typer

from ..corpus import CorpusConfig, CorpusError, load_documents
from ..index import IndexBuildError, IndexConfig, get_or_build_index, index_dir
from ..progress import console

index_app = typer.Typer(help="Build and inspect BM25 indexes.", no_args_is_help=True)


@index_app.command("build")
def build(
    corpus: str = typer.Option("demo", help="'demo', a Hub dataset id, or local files (path, glob, folder)."),
    corpus_name: str | None = typer.Option(None, help="Hub dataset configuration name."),
    split: str = typer.Option("train", help="Split to read."),
    text_column: str = typer.Option("text", help="Column with the document text."),
    id_column: str | None = typer.Option(None, help="Column with a stable document id."),
    min_chars: int = typer.Option(20, help="Skip documents shorter than this."),
    max_documents: int | None = typer.Option(None, help="Read at most this many documents."),
    stemmer: str | None = typer.Option("english", help="Snowball stemmer language ('none' to disable)."),
    stopwords: str | None = typer.Option("en", help="Stopword list ('none' to disable)."),
    cache_dir: str | None = typer.Option(None, help="Cache root (default ~/.cache/litelong_hf)."),
    query: list[str] = typer.Option([], "--query", "-q", help="Search the index for this text afterwards."),
    k: int = typer.Option(5, help="Hits to show per --query."),
) -> None:
    """Build (or reuse) the document index of a corpus; a second build of the same snapshot is instant."""
    spec = CorpusConfig(
        source=corpus,
        name=corpus_name,
        split=split,
        text_column=text_column,
        id_column=id_column,
        min_chars=min_chars,
        max_documents=max_documents,
    )
    config = IndexConfig(
        stemmer=None if stemmer in (None, "none") else stemmer,
        stopwords=None if stopwords in (None, "none") else stopwords,
    )

    def items() -> tuple[list[str], list[str]]:
        docs = load_documents(spec)
        return [d.id for d in docs], [d.text for d in docs]

    key = f"docs-{spec.fingerprint()}"
    start = time.perf_counter()
    try:
        index = get_or_build_index(key, items, config, cache_dir=cache_dir)
    except (CorpusError, IndexBuildError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    elapsed = time.perf_counter() - start
    path = index_dir(f"{key}-{config.fingerprint()}", cache_dir)
    console.print(f"index of {len(index):,} documents at {path} ({elapsed:.1f} s)")
    for text, hits in zip(query, index.search(query, k=k) if query else [], strict=True):
        console.print(f"[bold]{text}[/bold]")
        for hit in hits:
            console.print(f"  {hit.score:7.3f}  {hit.doc_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
