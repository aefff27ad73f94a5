"""What a strategy works with, opened for it: the corpus's document store, its BM25 index and the LLMs.

The pipeline builds one :class:`StrategyContext` per strategy (``make_strategy(config, context)``); a
strategy asks it instead of opening stores, indexes or endpoints itself. Heavy resources live in one
bounded per-process :class:`~litelong_hf.strategies.common.ResourceCache`, so every strategy object of a
process with the same corpus shares them, and tests or benchmarks inject LLMs through ``llms``.

    context = StrategyContext(cache_dir=config.cache_dir)
    index, store = context.document_index(config.corpus_config(), config.index_config())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..layout import document_index_key, llm_cache_dir
from .common import ResourceCache

if TYPE_CHECKING:
    from ..corpus import CorpusConfig
    from ..docstore import DocumentStore
    from ..index import BM25Index, IndexConfig
    from ..llm import ChatLLM

_DOCUMENT_INDEXES: ResourceCache[str, tuple[BM25Index, DocumentStore]] = ResourceCache(maxsize=4)


@dataclass
class StrategyContext:
    """The store, index and LLMs of a run, for its strategy.

    ``cache_dir``: the cache root (the config's; None: the default root). ``llms``: LLMs by role used
    instead of building them from the config's endpoints (tests and benchmarks inject scripted ones)."""

    cache_dir: str | None = None
    llms: Mapping[str, ChatLLM] | None = field(default=None, repr=False)

    def store(self, spec: CorpusConfig) -> DocumentStore:
        """The disk-backed document store of ``spec`` (read once per corpus snapshot, then memory-mapped)."""
        from ..corpus import open_store

        return open_store(spec, cache_dir=self.cache_dir)

    def document_index(self, spec: CorpusConfig, config: IndexConfig) -> tuple[BM25Index, DocumentStore]:
        """The BM25 index of the corpus's documents with the store, loaded once per process; a cached
        index is used only when it holds exactly the corpus's document ids."""
        from ..index import get_or_build_index

        key = f"{spec.fingerprint()}-{config.fingerprint()}-{self.cache_dir}"

        def load() -> tuple[BM25Index, DocumentStore]:
            docs = self.store(spec)
            index = get_or_build_index(
                document_index_key(spec.fingerprint()),
                batches=docs.batches,
                config=config,
                total=len(docs),
                cache_dir=self.cache_dir,
                expected_ids=docs.ids,
            )
            return index, docs

        return _DOCUMENT_INDEXES.get(key, load)

    def chat_llms(self, roles: Any, needed: Iterable[str]) -> dict[str, ChatLLM]:
        """One LLM per role in ``needed``: the injected ones, else built from ``roles`` (a config's
        ``roles_config()``) with the run's request cache; endpoints are probed then."""
        needed = tuple(needed)
        if self.llms is not None:
            missing = [role for role in needed if role not in self.llms]
            if missing:
                raise KeyError(f"no LLM injected for role(s) {missing}; injected: {sorted(self.llms)}")
            return {role: self.llms[role] for role in needed}
        from ..llm import build_llms

        return build_llms(roles, cache=llm_cache_dir(self.cache_dir), needed=needed)
