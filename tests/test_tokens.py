from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer
from tokenizers.models import BPE
from tokenizers.pre_tokenizers import ByteLevel

from litelong_hf.corpus import Document
from litelong_hf.layout import cache_root
from litelong_hf.tokens import (
    TokenCounter,
    TokenizerNotFoundError,
    align_with_reference,
    aligned_hf_tokenizer,
    load_tokenizer_json,
)


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
    import huggingface_hub.constants

    # The Hub client reads HF_HUB_OFFLINE once, at import: the constant is what it checks (with the variable
    # alone it retries the unreachable Hub for ~23 s before failing the same way).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
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


# ------------------------------------------------------------------------- transformers on the packaged file

CUMHURIYET_MERGED = [32678, 71, 6198, 47492]
"""" Cumhuriyet" through the merges of the packaged file (ignore_merges off); Meta's reference gives [118972]."""


def _packaged_hf_tokenizer() -> Any:
    from transformers import PreTrainedTokenizerFast

    from litelong_hf.resources import llama3_tokenizer_dir

    return PreTrainedTokenizerFast(
        tokenizer_file=str(llama3_tokenizer_dir() / "tokenizer.json"),
        bos_token="<|begin_of_text|>",
        eos_token="<|end_of_text|>",
    )


def test_transformers_on_the_packaged_file_equals_tiktoken_on_the_whole_demo_corpus(
    demo_documents: list[Document],
) -> None:
    raw = _packaged_hf_tokenizer()
    assert raw(" Cumhuriyet", add_special_tokens=False)["input_ids"] == CUMHURIYET_MERGED
    aligned = aligned_hf_tokenizer(_packaged_hf_tokenizer())
    assert aligned(" Cumhuriyet", add_special_tokens=False)["input_ids"] == [118972]
    texts = [d.text for d in demo_documents]  # ~2.6M tokens, encoded in one batch by each
    assert aligned(texts, add_special_tokens=False)["input_ids"] == TokenCounter.get().encode_batch(texts)


def test_an_aligned_tokenizer_is_saved_aligned(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    aligned_hf_tokenizer(_packaged_hf_tokenizer()).save_pretrained(str(tmp_path))
    assert json.loads((tmp_path / "tokenizer.json").read_text())["model"]["ignore_merges"] is True
    reloaded = AutoTokenizer.from_pretrained(str(tmp_path))
    assert reloaded(" Cumhuriyet", add_special_tokens=False)["input_ids"] == [118972]


def test_load_tokenizer_json_aligns_only_llama3_split_bpe(tmp_path: Path) -> None:
    from litelong_hf.resources import llama3_tokenizer_dir

    packaged = llama3_tokenizer_dir() / "tokenizer.json"
    assert json.loads(packaged.read_text())["model"].get("ignore_merges") is False
    assert load_tokenizer_json(packaged).encode(" Cumhuriyet", add_special_tokens=False).ids == [118972]
    # A byte-level BPE with another split (GPT-2's) keeps its merges: the flag is Llama-3's reference only.
    gpt2 = Tokenizer(BPE(vocab={"a": 0, "b": 1, "ab": 2}, merges=[("a", "b")]))
    gpt2.pre_tokenizer = ByteLevel()
    assert align_with_reference(gpt2).model.ignore_merges is False


# ------------------------------------------------------------------------------------------------ cache_dir


def _files_under(root: Path) -> list[str]:
    """Every path under ``root`` (not following the links to the session's shared artefacts)."""
    return sorted(
        os.path.relpath(os.path.join(d, n), root) for d, dirs, files in os.walk(root) for n in dirs + files
    )


def test_extracted_tokenizers_go_to_the_given_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = cache_root()
    before = _files_under(default)
    monkeypatch.setattr(TokenCounter, "_instances", {})  # as in a fresh process: nothing resolved yet
    counter = TokenCounter.get("smollm2", cache_dir=tmp_path / "run-cache")
    assert counter.folder is not None
    assert counter.folder.parent == tmp_path / "run-cache" / "tokenizers"
    assert (counter.folder / "tokenizer.json").is_file()
    assert _files_under(default) == before  # nothing written under the default root
    assert TokenCounter.get("smollm2") is counter  # one counter per name, wherever its files live
