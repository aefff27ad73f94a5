"""`--tokenizer` takes any tokenizers/HF tokenizer and the `smollm2` alias; rows stay exact in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from litelong_hf.finetune.data import check_tokenizer, load_rows
from litelong_hf.tokens import TokenCounter, TokenizerNotFoundError

TEXT = "Long context, exactly counted: 12,345 tokens!\n\nNew  paragraph\twith tabs, émigrés and 東京."


def test_slow_hf_tokenizer_folder_is_converted_once(tmp_path: Path, smollm2_tokenizer_dir: Path) -> None:
    # a GPT-2 style "slow" tokenizer (vocab.json + merges.txt, no tokenizer.json) of the same vocabulary
    model = json.loads((smollm2_tokenizer_dir / "tokenizer.json").read_text())["model"]
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "vocab.json").write_text(json.dumps(model["vocab"]))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (slow / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    (slow / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "GPT2Tokenizer"}))
    counter = TokenCounter(str(slow))
    assert counter.folder is not None and (counter.folder / "tokenizer.json").is_file()
    assert counter.folder != slow  # converted into the cache, the user's folder untouched
    assert counter.encode(TEXT) == TokenCounter.get("smollm2").encode(TEXT)
    assert TokenCounter(str(slow)).folder == counter.folder  # reused, not converted again


def test_tokenizer_json_file_and_missing_paths(smollm2_tokenizer_dir: Path, tmp_path: Path) -> None:
    by_file = TokenCounter(str(smollm2_tokenizer_dir / "tokenizer.json"))
    assert by_file.encode(TEXT) == TokenCounter.get("smollm2").encode(TEXT)
    assert by_file.decode(by_file.encode(TEXT)) == TEXT
    with pytest.raises(TokenizerNotFoundError, match="does not exist"):
        TokenCounter("./no/such/tokenizer")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TokenizerNotFoundError, match="holds no tokenizer"):
        TokenCounter(str(empty))


def test_generate_with_smollm2_alias_makes_rows_the_model_accepts(
    tmp_path: Path, smollm2_hf_tokenizer: Any
) -> None:
    import litelong_hf

    rows = litelong_hf.load(
        "random-concat-64k", target_tokens=256, num_rows=2, tokenizer="smollm2", cache_dir=str(tmp_path)
    )
    assert set(rows["tokenizer"]) == {"smollm2"}
    counter = TokenCounter.get("smollm2")
    for row in rows:
        assert len(row["input_ids"]) == 256
        assert counter.encode(row["text"]) == row["input_ids"]
    check_tokenizer(load_rows(rows), smollm2_hf_tokenizer, "smollm2")  # no error: the fix is real
