"""Bad input to `litelong-hf generate` and `litelong_hf.load`: one short message naming the fix, exit 2, no
traceback, and nothing written. Every case here printed a traceback (or worse) in round 1."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

import litelong_hf
from litelong_hf.cli import app
from litelong_hf.config import ConfigError
from litelong_hf.corpus import CorpusError
from litelong_hf.layout import TopicsFileError
from litelong_hf.pipeline import NoRowsError
from litelong_hf.tokens import TokenizerNotFoundError

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def corpora(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.jsonl"
    good.write_text("".join(f'{{"body": "document number {i} is about cats and dogs."}}\n' for i in range(5)))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "fine"}\n{"text": "unterminated\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    tiny = tmp_path / "tiny.jsonl"
    tiny.write_text("".join(f'{{"text": "a short document number {i}."}}\n' for i in range(30)))
    topics = tmp_path / "topics.jsonl"
    topics.write_text('{"top": "SCIENCE", "sub": "Astronomy"}\nnot json\n')
    binary = tmp_path / "binary.parquet"
    binary.write_bytes(os.urandom(256))
    return {"good": good, "broken": broken, "empty": empty, "tiny": tiny, "topics": topics, "binary": binary}


def cases(c: dict[str, Path], tmp_path: Path) -> list[tuple[list[str], str]]:
    """(arguments after `generate`, a phrase the message must contain)."""
    out = ["--out", str(tmp_path / "out")]
    locked = tmp_path / "a-file"  # a cache dir under a regular file cannot be created, even by root
    locked.write_text("")
    dead = f"http://127.0.0.1:{free_port()}"
    return [
        (["nosuch-128k", *out], "Valid config names"),
        (["nextlong-64k", *out, "--corpus", str(tmp_path / "missing.jsonl")], "No files match"),
        (["nextlong-64k", *out, "--corpus", str(c["good"])], "body"),  # lists the columns that exist
        (["nextlong-64k", *out, "--corpus", str(c["empty"])], "no documents"),
        (["nextlong-64k", *out, "--corpus", str(c["broken"])], "broken.jsonl"),
        (["nextlong-64k", *out, "--corpus", str(c["binary"])], "binary.parquet"),
        (["random-concat-64k", *out, "--corpus", str(c["tiny"])], "Use a larger corpus"),
        (["litelong-64k", *out, "--endpoint", dead, "--categories", "POL"], "127.0.0.1"),
        (["nextlong-64k", *out, "--tokenizer", "/no/such/tokenizer"], "tokenizer"),
        (["litelong-64k", *out, "--topics-file", str(c["topics"])], "line"),
        (["litelong-64k", *out, "--topics-file", str(tmp_path / "none.jsonl")], "litelong-hf topics"),
        (["nextlong-64k", *out, "--cache-dir", str(locked / "cache")], "cache"),
        (["nextlong-64k", *out, "--chunk-charz", "5"], "No such option"),
        (["nextlong-64k", *out, "--target-tokens", "many"], "--target-tokens"),
        (["nextlong-64k", *out, "--target-tokens", "-5"], "target_tokens must be positive"),
        (["nextlong-64k", *out, "--cut-policy", "chop"], "cut_policy"),
        (["nextlong-64k", *out, "--num-shards", "0"], "num_shards"),
        (["nextlong-64k", *out, "--rows-per-topic", "2"], "--rows-per-topic"),  # a LiteLong-only field
        (["nextlong-64k", *out, "--executor", "slurm"], "executor"),
        (["litelong-64k", *out, "--categories", "NOPE"], "NOPE"),
    ]


def test_generate_bad_inputs_give_one_clear_message(corpora: dict[str, Path], tmp_path: Path) -> None:
    problems = []
    for args, phrase in cases(corpora, tmp_path):
        result = runner.invoke(app, ["generate", *args], env={"COLUMNS": "200"})
        ok = (
            result.exit_code == 2
            and phrase.lower() in result.output.lower()
            and "Traceback" not in result.output
            and not (tmp_path / "out").exists()
        )
        if not ok:
            problems.append((args[0], args[3:], result.exit_code, result.output[-400:]))
    assert not problems, "\n\n".join(map(str, problems))


def test_out_dir_not_empty(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["generate", "random-concat-64k", "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("kwargs", "error", "phrase"),
    [
        ({"corpus": "/no/such/corpus.jsonl"}, CorpusError, "No files match"),
        ({"tokenizer": "/no/such/tokenizer"}, TokenizerNotFoundError, "tokenizer"),
        ({"split": "test"}, ConfigError, "split"),
        ({"streaming": True, "executor": "ray"}, ConfigError, "streaming"),
        ({"target_tokens": 0}, ConfigError, "target_tokens"),
        ({"no_such_field": 1}, ConfigError, "no_such_field"),
    ],
)
def test_load_raises_the_projects_own_errors(kwargs: dict, error: type, phrase: str) -> None:
    with pytest.raises(error, match=phrase):
        litelong_hf.load("nextlong-64k", **kwargs)


def test_load_corpus_errors_are_not_wrapped(tmp_path: Path, corpora: dict[str, Path]) -> None:
    with pytest.raises(CorpusError, match="body"):
        litelong_hf.load("nextlong-64k", corpus=str(corpora["good"]), cache_dir=str(tmp_path))
    with pytest.raises(NoRowsError, match="larger corpus"):
        litelong_hf.load("random-concat-64k", corpus=str(corpora["tiny"]), cache_dir=str(tmp_path))
    with pytest.raises(TopicsFileError, match="line 1: missing or empty title"):
        litelong_hf.load("litelong-64k", topics_file=str(corpora["topics"]), cache_dir=str(tmp_path))


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["--debug", "generate", "nextlong-64k", "--out", str(tmp_path / "o"), "--corpus", "/no/such.jsonl"],
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, CorpusError)
