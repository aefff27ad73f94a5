"""Small deterministic corpora for the NExtLong tests (imported by name beside the tests).

Documents are sentences of made-up words drawn mostly from the vocabulary of one of a few topics, so BM25
finds real neighbours within a topic, and each document carries its topic as ``source`` (a label).
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "gu", "zo"]


def _vocabulary(size: int, offset: int) -> list[str]:
    words = ("".join(parts) for parts in itertools.product(_SYLLABLES, repeat=3))
    return list(itertools.islice(words, offset, offset + size))


def synthetic_records(
    n_docs: int = 60,
    *,
    n_topics: int = 4,
    sentences: tuple[int, int] = (10, 16),
    newlines: bool = False,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """``{"id", "text", "source"}`` records; ``newlines=False`` writes each document as one long line."""
    rng = random.Random(seed)
    common = _vocabulary(20, 0)
    topics = [_vocabulary(40, 20 + 40 * t) for t in range(n_topics)]
    records = []
    for d in range(n_docs):
        topic = d % n_topics
        lines = []
        for _ in range(rng.randint(*sentences)):
            words = [
                rng.choice(topics[topic]) if rng.random() < 0.7 else rng.choice(common)
                for _ in range(rng.randint(8, 14))
            ]
            lines.append(" ".join(words).capitalize() + ".")
        text = ("\n" if newlines else " ").join(lines)
        records.append({"id": f"doc-{d:04d}", "text": text, "source": f"topic-{topic}"})
    return records


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
