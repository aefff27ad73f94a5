"""``litelong-hf index build``: the BM25 index of a corpus, built once per corpus snapshot."""

from __future__ import annotations

import time

import typer

from .. import layout
from ..config import INDEX_FIELDS, BaseConfig, ConfigError
from ..corpus import CorpusConfig, open_store
from ..errors import cli_command
from ..index import DEFAULT_SHARD_DOCS, IndexConfig, get_or_build_index, index_path
from ..progress import console
from .corpus import corpus_options
from .options import with_config_fields

index_app = typer.Typer(help="Build and inspect BM25 indexes.", no_args_is_help=True)


def index_spec(stemmer: str | None, stopwords: str | None) -> IndexConfig:
    """The BM25 settings of the CLI flags (``none`` turns one off; an ``IndexBuildError`` names the fix)."""
    return IndexConfig(stemmer=stemmer, stopwords=stopwords)


@index_app.command("build")
@cli_command
@corpus_options
@with_config_fields(
    BaseConfig,
    INDEX_FIELDS,
    index_spec,
    "config",
)
def build(
    corpus: CorpusConfig,
    config: IndexConfig,
    shard_docs: int = typer.Option(
        DEFAULT_SHARD_DOCS, help="Documents per index shard (bounds build memory)."
    ),
    cache_dir: str | None = typer.Option(None, help="Cache root (default ~/.cache/litelong_hf)."),
    query: list[str] = typer.Option([], "--query", "-q", help="Search the index for this text afterwards."),
    k: int = typer.Option(5, help="Hits to show per --query."),
    require_all_terms: bool = typer.Option(False, help="Only documents holding every query term."),
) -> None:
    """Build (or reuse) the document index of a corpus; a second build of the same snapshot is instant."""
    spec = corpus
    if k <= 0:
        raise ConfigError(f"--k must be positive, got {k}.")
    start = time.perf_counter()
    store = open_store(spec, cache_dir=cache_dir)
    key = layout.document_index_key(spec.fingerprint())
    index = get_or_build_index(
        key,
        batches=store.batches,
        config=config,
        total=len(store),
        cache_dir=cache_dir,
        shard_docs=shard_docs,
        expected_ids=store.ids,
    )
    results = index.search(query, k=k, require_all_terms=require_all_terms) if query else []
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
