"""Contamination: how much of each row's text also occurs in the evaluation data (13-gram word shingles).

A row's share is the fraction of its distinct 13-word shingles that occur in an evaluation source: the
RULER-style suite of :mod:`litelong_hf.evaluation.ruler` (its haystacks, needles and questions, generated
exactly as ``litelong-hf eval ruler`` does with the same settings) and any evaluation files the user names
(JSONL: every string in every record; other files: the whole text). A row above ``threshold`` is flagged.
Words are lowercased runs of letters and digits, so spacing, punctuation and case do not hide a copy.

The result (``contamination_scores``) is stored as ``extra["contamination"]`` of a run report by
``litelong-hf eval contamination RUN_DIR``, and the dataset card shows it.

Example::

    index = ShingleIndex.from_texts("notes.jsonl", ["a held-out passage ..."])
    shares = index.shares(["row text ..."])
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

SHINGLE_WORDS = 13
"""Words per shingle (the 13-gram overlap test of GPT-3 and later contamination studies)."""

DEFAULT_THRESHOLD = 0.01
"""A row is flagged when more than this share of its shingles occurs in an evaluation source."""

_WORD = re.compile(r"\w+")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
MAX_FLAGGED_LISTED = 10


class ContaminationError(ValueError):
    """An evaluation file cannot be read or holds no text; the message names the file and the fix."""


@lru_cache(maxsize=1 << 20)
def _word_id(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def shingles(text: str, n: int = SHINGLE_WORDS) -> np.ndarray:
    """Distinct 64-bit hashes of the ``n``-word shingles of ``text`` (sorted); a text under ``n`` words has none."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter((_word_id(w) for w in words), dtype=np.uint64, count=len(words))
    count = len(ids) - n + 1
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
        for k in range(n):
            hashes = hashes * _MULTIPLIER + ids[k : k + count]
    return np.unique(hashes)


@dataclass
class ShingleIndex:
    """The shingles of one evaluation source, sorted for membership tests."""

    name: str
    hashes: np.ndarray = field(repr=False)

    @classmethod
    def from_texts(cls, name: str, texts: Iterable[str], n: int = SHINGLE_WORDS) -> ShingleIndex:
        parts = [shingles(t, n) for t in texts]
        merged = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
        return cls(name=name, hashes=merged)

    def __len__(self) -> int:
        return int(self.hashes.size)

    def share(self, row: np.ndarray) -> float:
        """Share of the row's shingles (``shingles(text)``) found in this source."""
        if row.size == 0 or self.hashes.size == 0:
            return 0.0
        return float(np.isin(row, self.hashes, assume_unique=True).mean())

    def shares(self, texts: Iterable[str], n: int = SHINGLE_WORDS) -> list[float]:
        return [self.share(shingles(t, n)) for t in texts]


# ------------------------------------------------------------------------------------------- sources


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def eval_file_texts(path: str | Path) -> list[str]:
    """The texts of an evaluation file: JSONL (every string of every record) or plain text."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ContaminationError(f"--contamination-check {path}: no such file; give a JSONL (or text) file.")
    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ContaminationError(
            f"--contamination-check {path} cannot be read as UTF-8 text ({err})."
        ) from None
    if file.suffix.lower() not in (".jsonl", ".json"):
        texts = [content]
    else:
        texts = []
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                texts.extend(_strings(json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ContaminationError(
                    f"{path}, line {number}: not JSON ({exc.msg}); give one JSON record per line."
                ) from None
    if not any(t.strip() for t in texts):
        raise ContaminationError(f"--contamination-check {path} holds no text to compare with.")
    return texts


def suite_texts(config: Any, tokenizer: str) -> list[str]:
    """Prompts (haystacks with needles, questions) and answers of the RULER-style suite ``config``."""
    from ..tokens import TokenCounter
    from .ruler import generate_suite

    texts: list[str] = []
    for sample in generate_suite(config, TokenCounter.get(tokenizer)):
        texts.append(sample.input)
        texts.extend(sample.answers)
    return texts


def suite_name(config: Any) -> str:
    lengths = "/".join(f"{n:,}" for n in config.lengths)
    return f"RULER-style suite ({len(config.tasks)} tasks, lengths {lengths}, corpus {config.corpus}, seed {config.seed})"


# ---------------------------------------------------------------------------------------------- scores


def contamination_scores(
    texts: Sequence[str],
    ids: Sequence[str],
    sources: Sequence[ShingleIndex],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """Per-source and overall contamination of rows ``texts`` (``ids`` name them in the flagged list).

    A row's overall share counts a shingle found in any source; a row is flagged above ``threshold``.
    """
    per_source: dict[str, list[float]] = {s.name: [] for s in sources}
    overall: list[float] = []
    union = ShingleIndex("all", np.unique(np.concatenate([s.hashes for s in sources]))) if sources else None
    for text in texts:
        row = shingles(text)
        for source in sources:
            per_source[source.name].append(source.share(row))
        overall.append(union.share(row) if union is not None else 0.0)
    flagged = sorted(
        ((share, row_id) for share, row_id in zip(overall, ids, strict=True) if share > threshold),
        reverse=True,
    )

    def summary(shares: list[float]) -> dict[str, Any]:
        return {
            "mean_share": float(np.mean(shares)) if shares else 0.0,
            "max_share": float(max(shares, default=0.0)),
            "flagged_rows": sum(1 for s in shares if s > threshold),
        }

    return {
        "shingle_words": SHINGLE_WORDS,
        "threshold": threshold,
        "rows": len(texts),
        **summary(overall),
        "sources": [{"name": s.name, "shingles": len(s), **summary(per_source[s.name])} for s in sources],
        "flagged": [{"id": row_id, "share": share} for share, row_id in flagged[:MAX_FLAGGED_LISTED]],
    }


def row_texts(rows: Any) -> tuple[list[str], list[str]]:
    """``(texts, ids)`` of a run's rows: pretraining ``text``; instruction rows: all message contents."""
    texts: list[str] = []
    ids: list[str] = []
    for index, row in enumerate(rows):
        if row.get("text") is not None:
            texts.append(str(row["text"]))
        else:
            texts.append("\n\n".join(str(m.get("content", "")) for m in row.get("messages") or []))
        ids.append(str(row.get("id") or index))
    return texts, ids


def score_run(
    run_dir: str | Path,
    *,
    eval_files: Sequence[str | Path] = (),
    suite: Any | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    write: bool = True,
) -> dict[str, Any]:
    """:func:`contamination_scores` of a run folder against ``suite`` (a ``SuiteConfig``; None: no suite) and
    ``eval_files``; with ``write``, stored as ``extra["contamination"]`` of its report.json."""
    from ..export.source import open_rows
    from ..layout import RunDir, atomic_write_json

    if not 0.0 <= threshold < 1.0:
        raise ContaminationError(f"--threshold {threshold} must lie in [0, 1).")
    if suite is None and not eval_files:
        raise ContaminationError(
            "Nothing to compare with: keep the suite or name --contamination-check files."
        )
    source = open_rows(run_dir)
    sources = [ShingleIndex.from_texts(Path(path).name, eval_file_texts(path)) for path in eval_files]
    if suite is not None:
        sources.insert(0, ShingleIndex.from_texts(suite_name(suite), suite_texts(suite, source.tokenizer())))
    wanted = [c for c in ("id", "text", "messages") if c in source.schema.names]
    texts: list[str] = []
    ids: list[str] = []
    for batch in source.batches():
        more_texts, more_ids = row_texts(batch.select(wanted).to_pylist())
        texts.extend(more_texts)
        ids.extend(more_ids)
    scores = contamination_scores(texts, ids, sources, threshold=threshold)
    if write:
        run = RunDir(Path(run_dir))
        report = run.load_report() if run.report.is_file() else {}
        report.setdefault("extra", {})["contamination"] = scores
        atomic_write_json(run.report, report)
    return scores
