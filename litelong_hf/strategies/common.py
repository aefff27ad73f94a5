"""Helpers shared by strategies: stable seeds, retrieval sizing, document ordering, and the one
per-process resource cache (:class:`ResourceCache`).

Pure functions otherwise, so any strategy can use them without importing another strategy's module. LLM
counters reach a report through :class:`~litelong_hf.report.LLMMeter`.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from ..index import Hit


def seed_for(*parts: object) -> int:
    """A stable 64-bit seed from any values (no Python ``hash()``, which is salted per process).

    >>> seed_for(42, "topic") == seed_for(42, "topic")
    True
    """
    return int.from_bytes(hashlib.sha256(json.dumps(parts, default=str).encode()).digest()[:8], "big")


def hits_needed(
    rows_per_topic: int, target_tokens: int, mean_doc_tokens: float, factor: float, cap: int
) -> int:
    """How many documents to retrieve per topic (pure): enough to fill the rows, with a margin.

    >>> hits_needed(4, 131_072, 680.0, 1.5, 4000)
    1157
    """
    return max(1, min(cap, math.ceil(rows_per_topic * target_tokens / max(1.0, mean_doc_tokens) * factor)))


def dedup_hits(hits: Sequence[Hit], texts: Mapping[str, str]) -> list[Hit]:
    """Drop hits whose text repeats an earlier hit's text (first wins, order-stable; pure)."""
    seen: set[bytes] = set()
    unique: list[Hit] = []
    for hit in hits:
        digest = hashlib.sha1(texts[hit.doc_id].encode()).digest()
        if digest not in seen:
            seen.add(digest)
            unique.append(hit)
    return unique


def order_documents(hits: Sequence[Hit], texts: Mapping[str, str], order: str, seed: int) -> list[Hit]:
    """Drop exact-duplicate texts (first wins, order-stable), then order by score or a seeded shuffle (pure)."""
    unique = dedup_hits(hits, texts)
    if order == "shuffle":
        random.Random(seed).shuffle(unique)
    return unique


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ResourceCache(Generic[K, V]):
    """The per-process cache of heavy resources (document stores with their index, chunk pools and
    retrievers): loaded once per key, shared by every strategy object of the process, at most ``maxsize``
    kept (the least recently used is dropped, so a long-lived process that switches corpora does not keep
    every one). Thread-safe; a resource is built under the lock, so two threads never build it twice."""

    def __init__(self, maxsize: int = 4) -> None:
        if maxsize <= 0:
            raise ValueError(f"maxsize must be positive, got {maxsize}")
        self.maxsize = maxsize
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: K, build: Callable[[], V]) -> V:
        """The resource of ``key``, built with ``build()`` the first time (and again after eviction)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            value = build()
            self._items[key] = value
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
            return value

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
