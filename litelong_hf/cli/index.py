"""``litelong-hf index build``: the BM25 index of a corpus, built once per corpus snapshot."""

from __future__ import annotations

import time

import typer

from ..corpus import CorpusError, open_store
from ..index import DEFAULT_SHARD_DOCS, IndexBuildError, IndexConfig, get_or_build_index, index_path
from ..progress import console
from .corpus import corpus_spec, fail

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
    max_bytes: int | None = typer.Option(None, help="Read at most this many bytes of text."),
    stemmer: str | None = typer.Option("english", help="Snowball stemmer language ('none' to disable)."),
    stopwords: str | None = typer.Option("en", help="Stopword list ('none' to disable)."),
    shard_docs: int = typer.Option(
        DEFAULT_SHARD_DOCS, help="Documents per index shard (bounds build memory)."
    ),
    cache_dir: str | None = typer.Option(None, help="Cache root (default ~/.cache/litelong_hf)."),
    query: list[str] = typer.Option([], "--query", "-q", help="Search the index for this text afterwards."),
    k: int = typer.Option(5, help="Hits to show per --query."),
    require_all_terms: bool = typer.Option(False, help="Only documents holding every query term."),
) -> None:
    """Build (or reuse) the document index of a corpus; a second build of the same snapshot is instant."""
    spec = corpus_spec(
        corpus, corpus_name, split, text_column, id_column, min_chars, max_documents, max_bytes
    )
    if k <= 0:
        raise fail(f"--k must be positive, got {k}.")
    try:
        config = IndexConfig(
            stemmer=None if stemmer in (None, "none") else stemmer,
            stopwords=None if stopwords in (None, "none") else stopwords,
        )
        start = time.perf_counter()
        store = open_store(spec, cache_dir=cache_dir)
        key = f"docs-{spec.fingerprint()}"
        index = get_or_build_index(
            key,
            batches=store.batches,
            config=config,
            total=len(store),
            cache_dir=cache_dir,
            shard_docs=shard_docs,
        )
        results = index.search(query, k=k, require_all_terms=require_all_terms) if query else []
    except (CorpusError, IndexBuildError) as exc:
        raise fail(str(exc)) from None
    elapsed = time.perf_counter() - start
    path = index_path(key, config, cache_dir)
    console.print(
        f"index of {len(index):,} documents in {len(index.shards)} shard(s) at {path} ({elapsed:.1f} s)"
    )
    for text, hits in zip(query, results, strict=True):
        console.print(f"[bold]{text}[/bold]")
        for hit in hits:
            console.print(f"  {hit.score:7.3f}  {hit.doc_id}")
        if not hits:
            console.print("  (no document matches)")


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
