"""`--tokenizer` takes any tokenizers/HF tokenizer and the `smollm2` alias; rows stay exact in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
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


def test_a_model_with_the_packaged_llama3_file_agrees_with_meta_ids(tmp_path: Path) -> None:
    # A model folder whose tokenizer.json is the packaged Llama-3 export (ignore_merges off on disk): the
    # agreement check, training and the saved tokenizer must use Meta's ids, as the rows do.
    from transformers import LlamaConfig, PreTrainedTokenizerFast

    from litelong_hf.finetune.model import resolve_model
    from litelong_hf.resources import llama3_tokenizer_dir

    raw = PreTrainedTokenizerFast(
        tokenizer_file=str(llama3_tokenizer_dir() / "tokenizer.json"),
        bos_token="<|begin_of_text|>",
        eos_token="<|end_of_text|>",
    )
    folder = tmp_path / "llama3-model"
    raw.save_pretrained(str(folder))
    LlamaConfig(
        vocab_size=len(raw),
        hidden_size=8,
        intermediate_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
    ).save_pretrained(str(folder))
    assert json.loads((folder / "tokenizer.json").read_text())["model"]["ignore_merges"] is False

    tokenizer = resolve_model(str(folder)).tokenizer()
    text = "Cumhuriyet gazetesi, Türkiye'nin en eski gazetelerinden biridir. Cumhuriyet Bayramı kutlandı."
    ids = TokenCounter.get("llama-3").encode(text)
    assert 118972 in ids and tokenizer(text, add_special_tokens=False)["input_ids"] == ids
    rows = datasets.Dataset.from_list(
        [{"text": text, "input_ids": ids, "n_tokens": len(ids), "tokenizer": "llama-3"}]
    )
    check_tokenizer(load_rows(rows), tokenizer, "llama-3")  # agrees: no TrainError
    tokenizer.save_pretrained(str(tmp_path / "trained"))  # what `train` saves with the model
    assert json.loads((tmp_path / "trained" / "tokenizer.json").read_text())["model"]["ignore_merges"] is True


def test_train_converts_the_model_and_its_tokenizer_into_the_given_cache_dir(
    tmp_path: Path, smollm2_rows: datasets.Dataset
) -> None:
    from litelong_hf.finetune import TrainConfig, plan_run
    from litelong_hf.finetune.model import _conversion_dir
    from litelong_hf.layout import cache_root

    default = cache_root()
    before = sorted(str(p) for p in default.rglob("*"))
    run_cache = tmp_path / "run-cache"
    config = TrainConfig(out=str(tmp_path / "out"), model="smollm2", max_steps=1, cache_dir=str(run_cache))
    plan = plan_run(config, data=[smollm2_rows])  # what `litelong-hf train --cache-dir` checks first
    assert plan.model.gguf is not None and plan.model.cache_dir == str(run_cache)
    assert _conversion_dir(plan.model.gguf, plan.model.cache_dir).parent == run_cache / "models"
    assert plan.tokenizer.chat_template  # extracted from the GGUF into the run's cache, not the default root
    assert [p.name for p in (run_cache / "tokenizers").iterdir() if p.is_dir()] == [
        _conversion_dir(plan.model.gguf).name.replace("smollm2", "gguf-smollm2", 1)
    ]
    assert sorted(str(p) for p in default.rglob("*")) == before
    # Where the cache lives does not change the weights: a run resumes whatever its cache_dir.
    assert (
        plan.config_hash
        == plan_run(TrainConfig(**{**config.to_dict(), "cache_dir": None}), data=[smollm2_rows]).config_hash
    )
