"""Data-quality scores of a generated set, each next to the same score of a ``random-concat`` baseline.

The baseline is random concatenation of documents of the same corpus into the same number of rows of
the same length: what any method should beat. Scores (``report.extra["quality"]``)::

    {
      "dependency_cross":  {"value": 0.061, "baseline": 0.002, "higher_is_better": true,
                            "unit": "nats/token", "windows": 16},    # the headline: across pieces
      "dependency_local":  {"value": 0.142, "baseline": 0.131, "higher_is_better": true,
                            "unit": "nats/token", "windows": 16},    # windows anywhere (``local``)
      "topic_purity":      {"value": 0.62, "baseline": 0.27, "higher_is_better": true, "label_field": "source"},
      "duplicate_rate":    {"value": 0.0, "baseline": 0.0, "higher_is_better": false},
      "source_reuse":      {"value": 1.8, "baseline": 1.0, "higher_is_better": false},
      "corpus_coverage":   {"value": 0.21, "baseline": 0.24, "higher_is_better": true},
      "negative_hardness": {"value": 2.4, "baseline": 1.0, "higher_is_better": true},   # NExtLong runs only
      "rows": 8, "baseline_rows": 8, "target_tokens": 131072,
      "baseline_method": "random-concat", "lm": "llama.cpp/SmolLM2-135M-Instruct.Q4_1.gguf",
      "settings": "window=2048 short_context=256 tail=128 windows_per_row=2 max_rows=8 seed=0"
    }

A score that cannot be computed (no label field, no LM) is left out, never faked.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any

from ..corpus import CorpusConfig, CorpusError, Document, iter_documents
from ..layout import RunDir, atomic_write_json
from ..strategies.negatives.pool import CHUNK_MARK, chunk_doc_id
from .dependency import (
    DependencyConfig,
    DependencyResult,
    LogProbLM,
    dependency_cross,
    dependency_gain,
    make_lm,
)
from .purity import PurityError, dominant_label_share


class QualityError(ValueError):
    """The quality scores cannot be computed (no rows, unreadable run dir, ...); the message names the fix."""


@dataclass(frozen=True)
class QualityConfig:
    """What ``quality_scores`` computes and how."""

    label_field: str | None = field(
        default="source",
        metadata={"help": "Corpus metadata field used as topic label for purity (none: skip purity)."},
    )
    lm: str | None = field(
        default="embedded",
        metadata={
            "help": "LM of the dependency score: embedded, a .gguf file, a transformers model; none: skip."
        },
    )
    dependency: DependencyConfig = field(default_factory=DependencyConfig)
    local: bool = field(
        default=True,
        metadata={
            "help": "Also compute dependency_local (windows anywhere in a row) next to dependency_cross."
        },
    )
    baseline: bool = field(default=True, metadata={"help": "Score a random-concat baseline next to the set."})
    max_corpus_documents: int = field(
        default=200_000, metadata={"help": "Documents read from the corpus for labels and the baseline."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the baseline rows."})


@dataclass
class RowView:
    """What the scores need of a row: its text and the corpus documents it was made from, in order; and,
    for the cross-piece dependency score, its pieces (texts, or the row's token ids split by
    ``piece_lengths`` and decoded with its tokenizer)."""

    text: str
    doc_ids: list[str]
    pieces: list[str] | None = None
    piece_ids: tuple[str, Sequence[int], Sequence[int]] | None = None
    """``(tokenizer, input_ids, piece_lengths)`` of a pretraining row, decoded on demand."""

    def piece_texts(self) -> list[str] | None:
        """The row's pieces in order (``None`` when unknown: instruction rows, rows without lengths)."""
        if self.pieces is None and self.piece_ids is not None:
            from ..tokens import TokenCounter

            tokenizer, ids, lengths = self.piece_ids
            counter = TokenCounter.get(tokenizer)
            starts = list(accumulate(lengths, initial=0))
            self.pieces = [counter.decode(list(ids[a:b])) for a, b in pairwise(starts)]
        return self.pieces


def row_views(rows: Iterable[Mapping[str, Any]]) -> list[RowView]:
    """Pretraining rows (``text``, ``sources``) or instruction rows (``messages``, ``documents``)."""
    views: list[RowView] = []
    for row in rows:
        if "text" in row and row.get("text") is not None:
            text = str(row["text"])
            docs = [_document_of(str(s["doc_id"])) for s in row.get("sources") or []]
            lengths, ids = row.get("piece_lengths"), row.get("input_ids")
            if lengths is not None and ids is not None and sum(lengths) == len(ids):
                piece_ids = (str(row.get("tokenizer") or "llama-3"), ids, lengths)
                views.append(RowView(text, docs, piece_ids=piece_ids))
                continue
        elif "messages" in row:
            text = "\n\n".join(str(m["content"]) for m in row["messages"])
            docs = [str(d["doc_id"]) for d in row.get("documents") or []]
        else:
            raise QualityError(f"rows need text+sources or messages+documents columns; got {sorted(row)}")
        views.append(RowView(text, docs))
    return views


def _document_of(source_id: str) -> str:
    """The corpus document a row's source id names: NExtLong sources are chunks (``doc#c0003``)."""
    if CHUNK_MARK in source_id:
        try:
            return chunk_doc_id(source_id)
        except ValueError:
            return source_id  # a document id that merely contains the mark
    return source_id


def _distinct(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def random_concat_rows(
    documents: Sequence[Document], n_rows: int, target_tokens: int, tokenizer: str, seed: int
) -> list[RowView]:
    """``n_rows`` rows of random documents joined until ``target_tokens`` (the last one cut).

    The baseline for documents held in memory (no corpus source the ``random-concat`` strategy could
    read); documents are drawn without replacement (reshuffled once the corpus is used up) like it does.
    """
    from ..tokens import TokenCounter

    if not documents:
        raise QualityError("the corpus has no documents to build the random-concat baseline from")
    counter = TokenCounter.get(tokenizer)
    rng = random.Random(seed)
    order: list[int] = []
    rows: list[RowView] = []
    for _ in range(n_rows):
        texts: list[str] = []
        ids: list[str] = []
        total = 0
        while total < target_tokens:
            if not order:
                order = list(range(len(documents)))
                rng.shuffle(order)
            doc = documents[order.pop()]
            tokens = counter.encode(doc.text)
            take = tokens[: target_tokens - total]
            texts.append(doc.text if len(take) == len(tokens) else counter.decode(take))
            ids.append(doc.id)
            total += len(take) + 2
        pieces = [t + "\n\n" for t in texts[:-1]] + texts[-1:]
        rows.append(RowView("\n\n".join(texts), ids, pieces=pieces))
    return rows


def strategy_baseline_rows(
    spec: CorpusConfig, n_rows: int, target_tokens: int, tokenizer: str, seed: int
) -> list[RowView]:
    """``n_rows`` rows of the ``random-concat`` strategy on corpus ``spec``, made in memory by the pipeline."""
    from ..config import ConfigError
    from ..pipeline import shard_rows
    from ..presets import make_config
    from ..report import RunReport
    from ..strategies import make_strategy

    try:
        config = make_config(
            "random-concat-64k",
            target_tokens=target_tokens,
            tokenizer=tokenizer,
            corpus=spec.source,
            corpus_name=spec.name,
            corpus_split=spec.split,
            text_column=spec.text_column,
            id_column=spec.id_column,
            min_chars=spec.min_chars,
            dedup=spec.dedup,
            max_documents=spec.max_documents,
            max_bytes=spec.max_bytes,
            seed=seed,
            num_rows=n_rows,
        )
        strategy = make_strategy(config)
        strategy.validate()
        rows = list(shard_rows(strategy, 0, 1, RunReport(), n_rows))
    except (ConfigError, CorpusError) as exc:
        raise QualityError(f"cannot build the random-concat baseline: {exc}") from None
    return row_views(rows)


def _set_scores(
    views: Sequence[RowView], labels: Mapping[str, str] | None, corpus_size: int
) -> dict[str, float | None]:
    hashes = Counter(hashlib.sha1(v.text.encode("utf-8")).hexdigest() for v in views)
    duplicates = sum(n - 1 for n in hashes.values())
    uses = Counter(doc for v in views for doc in _distinct(v.doc_ids))
    scores: dict[str, float | None] = {
        "duplicate_rate": round(duplicates / len(views), 4),
        "source_reuse": round(sum(uses.values()) / len(uses), 4) if uses else None,
        "corpus_coverage": round(len(uses) / corpus_size, 4) if corpus_size else None,
    }
    if labels is not None:
        try:
            scores["topic_purity"] = round(
                dominant_label_share([_distinct(v.doc_ids) for v in views], labels), 4
            )
        except PurityError:
            scores["topic_purity"] = None
    return scores


def _entry(value: Any, baseline: Any, higher_is_better: bool, **extra: Any) -> dict[str, Any]:
    return {"value": value, "baseline": baseline, "higher_is_better": higher_is_better, **extra}


def _pieces(views: Sequence[RowView]) -> list[list[str]]:
    """The pieces of every row that has them known (the cross score's input)."""
    return [pieces for v in views if (pieces := v.piece_texts()) is not None]


def _dependency_entry(result: DependencyResult, base: DependencyResult | None) -> dict[str, Any]:
    return _entry(
        None if result.gain is None else round(result.gain, 4),
        None if base is None or base.gain is None else round(base.gain, 4),
        True,
        unit="nats/token",
        windows=result.windows,
    )


def quality_scores(
    rows: Iterable[Mapping[str, Any]],
    *,
    corpus: CorpusConfig | Sequence[Document],
    target_tokens: int,
    tokenizer: str = "llama-3",
    config: QualityConfig | None = None,
    hardness: Mapping[str, Any] | None = None,
    lm: LogProbLM | None = None,
) -> dict[str, Any]:
    """Every quality score of ``rows`` next to a random-concat baseline of ``corpus`` (see the module doc).

    ``rows``: dicts of either row schema (a ``datasets.Dataset`` works). ``corpus``: the corpus the rows
    were made from (a spec or documents). ``hardness``: the run report's ``extra["hardness"]``, if any.
    ``lm``: an already loaded LM for the dependency score (default: built from ``config.lm``).
    """
    config = config or QualityConfig()
    views = row_views(rows)
    if not views:
        raise QualityError("the set has no rows to score; generate some first (`litelong-hf generate`)")
    documents = _documents(corpus, config.max_corpus_documents)
    labels = _labels(documents, config.label_field)
    base_views: list[RowView] = []
    if config.baseline and isinstance(corpus, CorpusConfig):
        base_views = strategy_baseline_rows(corpus, len(views), target_tokens, tokenizer, config.seed)
    elif config.baseline:
        base_views = random_concat_rows(documents, len(views), target_tokens, tokenizer, config.seed)
    mine = _set_scores(views, labels, len(documents))
    theirs = _set_scores(base_views, labels, len(documents)) if base_views else {}
    out: dict[str, Any] = {}
    if config.lm is not None or lm is not None:
        model = lm or make_lm(config.lm or "embedded", config.dependency.window)
        cross = dependency_cross(model, _pieces(views), config.dependency)
        base_cross = dependency_cross(model, _pieces(base_views), config.dependency) if base_views else None
        out["dependency_cross"] = _dependency_entry(cross, base_cross)
        if config.local:
            local = dependency_gain(model, [v.text for v in views], config.dependency)
            base = (
                dependency_gain(model, [v.text for v in base_views], config.dependency)
                if base_views
                else None
            )
            out["dependency_local"] = _dependency_entry(local, base)
        out["lm"] = model.name
    if labels is not None:
        out["topic_purity"] = _entry(
            mine.get("topic_purity"), theirs.get("topic_purity"), True, label_field=config.label_field
        )
    out["duplicate_rate"] = _entry(mine["duplicate_rate"], theirs.get("duplicate_rate"), False)
    out["source_reuse"] = _entry(mine["source_reuse"], theirs.get("source_reuse"), False)
    out["corpus_coverage"] = _entry(mine["corpus_coverage"], theirs.get("corpus_coverage"), True)
    if hardness:
        if hardness.get("score_ratio") is not None:
            out["negative_hardness"] = _entry(
                hardness["score_ratio"], 1.0, True, unit="BM25 vs random chunks"
            )
        if hardness.get("same_label_share") is not None:
            out["negative_same_label"] = _entry(
                hardness["same_label_share"], hardness.get("random_same_label_share"), True
            )
    out["rows"] = len(views)
    out["baseline_rows"] = len(base_views)
    out["target_tokens"] = target_tokens
    if base_views:
        out["baseline_method"] = "random-concat"
    if "dependency_cross" in out:
        dep = config.dependency
        out["settings"] = " ".join(f"{f.name}={getattr(dep, f.name)}" for f in fields(dep))
    return out


def _documents(corpus: CorpusConfig | Sequence[Document], limit: int) -> list[Document]:
    if not isinstance(corpus, CorpusConfig):
        return list(corpus)
    docs: list[Document] = []
    try:
        for doc in iter_documents(corpus):
            docs.append(doc)
            if len(docs) >= limit:
                break
    except CorpusError as exc:
        raise QualityError(f"cannot read the run's corpus: {exc}") from None
    return docs


def _labels(documents: Sequence[Document], label_field: str | None) -> dict[str, str] | None:
    if not label_field:
        return None
    labels = {d.id: str(d.meta[label_field]) for d in documents if d.meta.get(label_field) not in (None, "")}
    if not labels:
        fields_seen = sorted({k for d in documents[:100] for k in d.meta})
        raise QualityError(
            f"no corpus document has the label field {label_field!r}; its metadata fields are {fields_seen}. "
            "Pass --label-field with one of them, or --label-field none to skip topic purity."
        )
    return labels


# ------------------------------------------------------------------------------------------------ run dirs


def load_run_rows(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """The rows (a ``datasets.Dataset``) and the report dict of a ``litelong-hf generate --out`` folder."""
    run = RunDir(Path(run_dir))
    if not run.root.is_dir():
        raise QualityError(f"{run.root} is not a folder; pass the --out folder of `litelong-hf generate`")
    if not run.report.is_file():
        raise QualityError(f"{run.root} has no report.json; pass the --out folder of `litelong-hf generate`")
    if not (run.parquet.is_dir() or run.dataset.is_dir()):
        raise QualityError(
            f"{run.root} has no rows (no parquet/ folder); run `litelong-hf generate --out {run.root}`"
        )
    from ..rowstore import read_rows

    try:
        rows = read_rows(run.root)
    except (FileNotFoundError, ValueError) as exc:
        raise QualityError(f"cannot read the rows in {run.root}: {exc}") from None
    if len(rows) == 0:
        raise QualityError(f"{run.root} holds no rows; generate some first (`litelong-hf generate`)")
    return rows, run.load_report()


def run_corpus(report: Mapping[str, Any]) -> tuple[CorpusConfig, int, str]:
    """The corpus spec, target length and tokenizer of a run, from its report's resolved config."""
    config = (report.get("extra") or {}).get("config") or {}
    if not config:
        raise QualityError("the run report has no resolved config (extra.config); pass --corpus explicitly")
    try:
        spec = CorpusConfig(
            source=config.get("corpus", "demo"),
            name=config.get("corpus_name"),
            split=config.get("corpus_split", "train"),
            text_column=config.get("text_column", "text"),
            id_column=config.get("id_column"),
            min_chars=int(config.get("min_chars", 20)),
            dedup=bool(config.get("dedup", True)),
            max_documents=config.get("max_documents"),
        )
    except CorpusError as exc:
        raise QualityError(f"the run's corpus settings are invalid: {exc}") from None
    return spec, int(config.get("target_tokens", 0)), str(config.get("tokenizer", "llama-3"))


def score_run(
    run_dir: str | Path,
    config: QualityConfig | None = None,
    *,
    corpus: CorpusConfig | None = None,
    write: bool = True,
    lm: LogProbLM | None = None,
) -> dict[str, Any]:
    """:func:`quality_scores` of a run folder; with ``write``, stored as ``extra["quality"]`` of its report."""
    rows, report = load_run_rows(run_dir)
    spec, target, tokenizer = run_corpus(report)
    if not target:
        target = int(max(rows["n_tokens"]))
    hardness = (report.get("extra") or {}).get("hardness")
    quality = quality_scores(
        rows,
        corpus=corpus or spec,
        target_tokens=target,
        tokenizer=tokenizer,
        config=config,
        hardness=hardness,
        lm=lm,
    )
    if write:
        report.setdefault("extra", {})["quality"] = quality
        atomic_write_json(RunDir(Path(run_dir)).report, report)
    return quality
