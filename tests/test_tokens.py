from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from litelong_hf.corpus import Document
from litelong_hf.tokens import TokenCounter, TokenizerNotFoundError


def test_default_counter_uses_tiktoken_fast_path() -> None:
    counter = TokenCounter.get()
    assert counter.backend_name == "tiktoken"
    assert TokenCounter.get("llama-3") is counter


def test_tiktoken_ids_equal_tokenizers_ids_on_whole_demo_corpus(demo_documents: list[Document]) -> None:
    fast = TokenCounter.get()
    slow = TokenCounter("llama-3", prefer_tiktoken=False)
    assert slow.backend_name == "tokenizers"
    texts = [d.text for d in demo_documents] + [str(d.meta["title"]) for d in demo_documents]
    assert fast.encode_batch(texts) == slow.encode_batch(texts)


def test_packaged_tokenizer_json_is_aligned_with_meta_reference() -> None:
    # The raw packaged file splits this word in 4 tokens; Meta's tokenizer (tiktoken) gives one.
    counter = TokenCounter.get()
    assert counter.folder is not None
    raw = Tokenizer.from_file(str(counter.folder / "tokenizer.json"))
    assert len(raw.encode(" Cumhuriyet", add_special_tokens=False).ids) == 4
    assert counter.encode(" Cumhuriyet") == [118972]
    assert TokenCounter("llama-3", prefer_tiktoken=False).encode(" Cumhuriyet") == [118972]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_roundtrip_and_backend_parity(text: str) -> None:
    fast = TokenCounter.get()
    slow = TokenCounter.get("llama-3", prefer_tiktoken=False)
    ids = fast.encode(text)
    assert ids == slow.encode(text)
    assert fast.decode(ids) == text
    assert fast.count(text) == len(ids)


def test_batch_matches_single() -> None:
    counter = TokenCounter.get()
    texts = ["", "a", "Hello world", "line\n\nbreak", "数字 123456"]
    assert counter.encode_batch(texts) == [counter.encode(t) for t in texts]
    assert counter.count_batch(texts) == [len(counter.encode(t)) for t in texts]
    assert counter.encode_batch([]) == []


def test_local_tokenizer_folder_without_tiktoken_file(tmp_path) -> None:
    counter = TokenCounter.get()
    assert counter.folder is not None
    (tmp_path / "tokenizer.json").write_text((counter.folder / "tokenizer.json").read_text())
    local = TokenCounter(str(tmp_path))
    assert local.backend_name == "tokenizers"
    assert local.encode("Long context, exactly counted.") == counter.encode("Long context, exactly counted.")


def test_unknown_tokenizer_names_the_fix(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TokenizerNotFoundError, match="llama-3"):
        TokenCounter("no-such-org/no-such-tokenizer")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TokenizerNotFoundError, match=r"tokenizer\.json"):
        TokenCounter(str(tmp_path / "empty"))


def test_non_llama_tokenizer_json_runs_on_tokenizers(tmp_path) -> None:
    # A tiny word-level tokenizer: no tiktoken fast path possible.
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "world": 2}, "unk_token": "[UNK]"},
    }
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    counter = TokenCounter(str(tmp_path / "tokenizer.json"))
    assert counter.backend_name == "tokenizers"
    assert counter.encode("hello world again") == [1, 2, 0]


def test_token_cache_reuses_and_evicts() -> None:
    from litelong_hf.tokens import TokenCache

    counter = TokenCounter.get()
    cache = TokenCache(counter, max_tokens=8)
    first = cache.encode_batch(["one two three", "four five"])
    assert [a.tolist() for a in first] == [counter.encode("one two three"), counter.encode("four five")]
    assert (cache.hits, cache.misses) == (0, 2)
    again = cache.encode_batch(["four five", "one two three"])
    assert [a.tolist() for a in again] == [counter.encode("four five"), counter.encode("one two three")]
    assert (cache.hits, cache.misses) == (2, 2)
    cache.encode_batch(["six seven eight nine ten"])  # 5 more tokens: the least recently used goes
    assert cache.encode_batch(["four five"])[0].tolist() == counter.encode("four five")
    assert cache.misses == 4  # "four five" was evicted and encoded again
