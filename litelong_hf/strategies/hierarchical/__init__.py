"""Hierarchical QA (METHODS.md §3; He et al., arXiv 2504.12637): instruction rows of long documents followed by
question/answer turns that a short-context LLM wrote without ever seeing more than one chunk, two chunk
excerpts or a few summaries.

Per document (a long corpus document, or short ones grouped into a LiteLong topic bundle by default; see
``grouping``), the text is cut into a chunk tree (:mod:`..chunk_tree`): small chunks of ~4K tokens, medium
chunks of 4 small ones, the document. The LLM summarizes bottom-up, then writes question/answer pairs in
reading order: global questions from the document summary; for each medium chunk, questions from its
summary followed by detailed questions from each of its small chunks; then diverse questions from a type
pool (multi-hop across two chunks, local detail, comparison, temporal order, counting). Every pair passes
quality gates (a real question, a non-degenerate answer grounded in its material) or is asked again with
another seed, then dropped and counted. A row concatenates documents until ``target_tokens`` (counted with
the chat template); after the turns of document *i*, with probability ``revisit_probability`` a set of
``revisit_questions`` new questions about each earlier document follows.

Modules: :mod:`.config` (the config), :mod:`.prompts` (prompt keys, schemas, reading answers),
:mod:`.gates` (QA quality gates), :mod:`.documents` (streams, topic bundles, documents), :mod:`.writer`
(LLM requests: fitting, gating, retries), :mod:`.plans` (a document's LLM work in the method's order),
:mod:`.planning` (pure seeded choices and the cost summary), :mod:`.strategy` (drafts of rows).

Example::

    config = make_config("hierarchical-128k", target_tokens=16384, num_rows=1)
    path, report = run_shard(config, 0)
    report.extra["qa_gates"]  # pass rate of each gate
"""

from __future__ import annotations

from .config import GROUPINGS, LEVELS, QUESTION_TYPES, STRATEGY, TWO_CHUNK_TYPES, HierarchicalConfig
from .documents import (
    DocumentSet,
    Member,
    SourceDocument,
    Stream,
    build_document_set,
    group_streams,
    stream_documents,
    topic_titles,
)
from .gates import GateResult, MaterialWords, check_pair, gate_summary
from .planning import cost_summary, diverse_choices, revisit_chunk, revisit_draws, share_room
from .prompts import PROMPT_KEYS, hierarchical_prompts, qa_max_tokens, qa_pairs_from, qa_schema, trim_summary
from .strategy import HierarchicalStrategy, document_entries
from .writer import QA, DocumentPlan, QAWriter

__all__ = [
    "GROUPINGS",
    "LEVELS",
    "PROMPT_KEYS",
    "QA",
    "QUESTION_TYPES",
    "STRATEGY",
    "TWO_CHUNK_TYPES",
    "DocumentPlan",
    "DocumentSet",
    "GateResult",
    "HierarchicalConfig",
    "HierarchicalStrategy",
    "MaterialWords",
    "Member",
    "QAWriter",
    "SourceDocument",
    "Stream",
    "build_document_set",
    "check_pair",
    "cost_summary",
    "diverse_choices",
    "document_entries",
    "gate_summary",
    "group_streams",
    "hierarchical_prompts",
    "qa_max_tokens",
    "qa_pairs_from",
    "qa_schema",
    "revisit_chunk",
    "revisit_draws",
    "share_room",
    "stream_documents",
    "topic_titles",
    "trim_summary",
]


def _register() -> None:
    from .. import register

    register(STRATEGY, HierarchicalConfig, HierarchicalStrategy)


_register()
