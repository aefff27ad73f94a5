"""Batched store reads (``DocumentStore.texts``/``texts_by_id``, ``PreadStrings.get_many``) and the array
encoding the token cache uses: the same values as the one-at-a-time paths they replace."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from litelong_hf.corpus import CorpusConfig, Document
from litelong_hf.docstore import open_store
from litelong_hf.strategies.topic_plan import WordCounts, feedback_words, word_sets
from litelong_hf.tokens import TokenCache, TokenCounter


def test_texts_reads_many_positions_in_any_order(demo_documents: list[Document], tmp_path: Path) -> None:
    store = open_store(CorpusConfig(), cache_dir=tmp_path)
    rng = random.Random(7)
    # Across record batches (1,024 rows each), with repeats, unsorted, and both ends of the store.
    positions = [rng.randrange(len(store)) for _ in range(600)] + [0, 3774, 1023, 1024, 5, 5]
    assert store.texts(positions) == [demo_documents[p].text for p in positions]
    assert store.texts([]) == []
    assert store.doc_ids_at(positions) == [demo_documents[p].id for p in positions]
    with pytest.raises(IndexError):
        store.texts([1, 3775])
    ids = [demo_documents[p].id for p in (9, 3, 9, 2000)]
    assert store.texts_by_id(ids) == {d: store[d].text for d in ids}


@pytest.mark.parametrize("gap", [0, 1, 10**9])
def test_get_many_gives_single_reads_whatever_the_gap(tmp_path: Path, gap: int) -> None:
    store = open_store(CorpusConfig(), cache_dir=tmp_path)
    reader = store._readers[0][1]
    rows = [0, 1, 2, 50, 51, 700, 1023]
    assert reader.get_many(0, rows, gap=gap) == [reader.get(0, r) for r in rows]
    assert reader.get_many(0, []) == []


def test_background_counted_once_ranks_as_word_sets() -> None:
    texts = ["the match ended, the striker scored", "a late striker goal won the match league"]
    background = word_sets(["league tables and the goal of the season", "a late train", "match report"])
    counted = WordCounts.of(background)
    assert counted.documents == 3 and counted.counts["late"] == 1
    assert feedback_words(texts, 5, counted) == feedback_words(texts, 5, background)
    assert feedback_words(texts, 2, counted)[0] == "striker"  # in both texts, in no background text


def test_encode_arrays_equal_the_list_encoding() -> None:
    counter = TokenCounter.get()
    texts = ["Long context, exactly counted.", "", "<|begin_of_text|> is text here", "naïve café 🙂"] * 12
    arrays = counter.encode_arrays(texts)  # 48 texts: the threaded path
    assert [a.dtype for a in arrays] == [np.dtype(np.int32)] * len(texts)
    assert [a.tolist() for a in arrays] == counter.encode_batch(texts)
    assert [a.tolist() for a in counter.encode_arrays(texts[:3])] == counter.encode_batch(texts[:3])
    cache = TokenCache(counter)
    assert [a.tolist() for a in cache.encode_batch(texts[:4])] == counter.encode_batch(texts[:4])
    slow = TokenCounter.get(prefer_tiktoken=False)  # the tokenizers backend (it reads special tokens)
    plain = [texts[0], texts[1], texts[3]]
    assert [a.tolist() for a in slow.encode_arrays(plain)] == counter.encode_batch(plain)
