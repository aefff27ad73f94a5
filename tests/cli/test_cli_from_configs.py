"""Every CLI from its config (#18 items 1-4): a preset's flags are its config class's fields with their help,
"not given" is UNSET (so ``none`` really sets ``None``), every command reports user errors the same way
(``error: ...``, exit 2), and ``choices``/``min`` metadata is checked once, in ``BaseConfig``."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from litelong_hf.cli import app
from litelong_hf.cli.options import field_default, given_values
from litelong_hf.cli.topics import DEBATE_FIELDS
from litelong_hf.config import UNSET, BaseConfig, ConfigError
from litelong_hf.finetune import TrainConfig, TrainError
from litelong_hf.presets import load_preset, make_config, preset_names
from litelong_hf.run import prepare
from litelong_hf.strategies import strategy_config_class
from litelong_hf.strategies.litelong import LiteLongConfig
from litelong_hf.strategies.nextlong import NExtLongConfig

runner = CliRunner()
WIDE = {"COLUMNS": "300"}


def _help(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.replace("│", " ").split())


def _config_class(preset: str) -> type[BaseConfig]:
    return strategy_config_class(str(load_preset(preset)["strategy"]))


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


# ---------------------------------------------------------------------------------------------------------
# 1. `generate PRESET --help`: that preset's fields only, each with its own help


def test_preset_help_shows_its_own_fields_and_help_only() -> None:
    text = _help("generate", "litelong-128k")
    assert "--rows-per-topic" in text and "--categories" in text
    for foreign in ("--chunk-chars", "--grouping", "--documents-per-bundle", "--question-plan"):
        assert foreign not in text, foreign
    # --max-hits is LiteLong's (not hierarchical's "`grouping: topic`: most BM25 hits per topic")
    assert "Most documents retrieved per topic" in text and "grouping: topic" not in text
    # the preset's own values are the defaults shown
    assert f"Default: {load_preset('litelong-128k')['rows_per_topic']!r}" in text


def test_litelong_nextlong_carries_nextlong_help() -> None:
    text = _help("generate", "litelong-nextlong-128k")
    chunk = NExtLongConfig.__dataclass_fields__["chunk_chars"].metadata["help"]
    assert "Largest chunk in characters" in chunk and " ".join(chunk.split())[:60] in text


@pytest.mark.parametrize("preset", preset_names())
def test_every_field_of_every_preset_is_a_flag_with_help(preset: str) -> None:
    text = _help("generate", preset)
    for f in dataclasses.fields(_config_class(preset)):
        if f.name in ("name", "strategy"):
            continue
        assert f.metadata.get("help"), f"{preset}: {f.name} has no help"
        assert _flag(f.name) in text, f"{preset}: {_flag(f.name)} missing from --help"


def test_generate_lists_presets_and_rejects_unknown_ones(tmp_path: Path) -> None:
    text = _help("generate")
    assert all(name in text for name in preset_names())
    result = runner.invoke(app, ["generate", "litelong-100k", "--out", str(tmp_path / "o")], env=WIDE)
    assert result.exit_code == 2 and result.output.startswith("error:")
    assert "Valid config names" in result.output and "litelong-128k" in result.output


# ---------------------------------------------------------------------------------------------------------
# 2. "not given" is UNSET; None is a value


def _optional_fields_not_none_by_default() -> list[tuple[str, str]]:
    """(preset, field) for every optional field whose value in the preset (YAML or field default) is not None."""
    cases = []
    for preset in preset_names():
        cls = _config_class(preset)
        hints = typing.get_type_hints(cls)
        values = load_preset(preset)
        for f in dataclasses.fields(cls):
            value = values.get(f.name, field_default(f))
            if type(None) in typing.get_args(hints[f.name]) and value is not None:
                cases.append((preset, f.name))
    return cases


@pytest.mark.parametrize(("preset", "name"), _optional_fields_not_none_by_default())
def test_none_overrides_a_preset_value(preset: str, name: str) -> None:
    """``None`` reaches the config class as a value (today's filters dropped it: the preset's value won)."""
    direct = _config_class(preset)(**{**load_preset(preset), name: None})
    assert getattr(make_config(preset, **{name: None}), name) == getattr(direct, name)
    assert getattr(make_config(preset, **{name: UNSET}), name) == getattr(make_config(preset), name)


def test_none_reaches_the_builder_through_prepare(tmp_path: Path) -> None:
    builder = prepare(
        "nextlong-64k", cache_dir=str(tmp_path), check=False, bm25_stemmer=None, label_field=None
    )
    assert builder.resolved.bm25_stemmer is None and builder.resolved.label_field is None
    assert prepare("nextlong-64k", cache_dir=str(tmp_path), check=False).resolved.bm25_stemmer == "english"


def test_none_on_the_command_line_reaches_the_runs_config(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["generate", "nextlong-64k", "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    args += ["--num-rows", "1", "--max-bytes", "400000", "--target-tokens", "2048"]
    args += ["--bm25-stemmer", "none", "--label-field", "none", "--max-documents", "none"]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["bm25_stemmer"] is None and config["label_field"] is None
    assert config["max_documents"] is None and config["bm25_stopwords"] == "en"  # not given: the preset's


def test_text_none_stays_text_for_a_field_that_cannot_be_none() -> None:
    values = given_values(NExtLongConfig, {"split_long_lines": "none", "label_field": "none", "seed": None})
    assert values == {"split_long_lines": "none", "label_field": None}


# ---------------------------------------------------------------------------------------------------------
# 3. every command reports a user error as `error: ...` and exits 2


def _leaf_commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    if hasattr(command, "commands"):  # a group (typer's click or the vendored one)
        return [leaf for name, sub in command.commands.items() for leaf in _leaf_commands(sub, (*path, name))]
    return [(" ".join(path), command)]


def test_every_command_goes_through_cli_errors() -> None:
    leaves = _leaf_commands(typer.main.get_command(app))
    assert len(leaves) > len(preset_names()) + 8
    missing = [name for name, cmd in leaves if not getattr(cmd.callback, "cli_errors", False)]
    assert not missing, missing


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["train", "--data", "rows", "--out", "{file}"], "is a file"),
        (["train", "--data", "rows", "--out", "{tmp}/o", "--schedule", "nosuch"], "Unknown schedule"),
        (["train", "--data", "rows", "--out", "{tmp}/o", "--batch-size", "0"], "batch_size must be positive"),
        (["corpus", "stats", "--corpus", "{tmp}/none.jsonl"], "No files match"),
        (["index", "build", "--corpus", "{tmp}/none.jsonl"], "No files match"),
        (["eval", "compare", "{tmp}/a.json", "{tmp}/b.json"], "a.json"),
        (["eval", "generate", "--out", "{tmp}/s.jsonl", "--tasks", "niah_9"], "niah_9"),
        (["topics", "nextlong-64k", "--out", "{tmp}/t.jsonl"], "not a LiteLong config"),
        (["generate", "nextlong-64k", "--out", "{tmp}/o", "--bm25-backend", "jax"], "bm25_backend"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args: list[str], phrase: str, tmp_path: Path) -> None:
    a_file = tmp_path / "plain-file"
    a_file.write_text("x")
    args = [a.format(tmp=tmp_path, file=a_file) for a in args]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and phrase in errors[0], result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------------------
# 4. train and topics derive their flags from TrainConfig / LiteLongConfig; metadata checked once


def test_train_flags_are_train_config_fields_with_its_defaults() -> None:
    text = _help("train")
    for f in dataclasses.fields(TrainConfig):
        assert _flag(f.name) in text and " ".join(str(f.metadata["help"]).split())[:40] in text, f.name
    assert "Default: 'cosine'" in text and "Default: 0.1" in text  # weight decay, from the field
    assert given_values(TrainConfig, dict.fromkeys(f.name for f in dataclasses.fields(TrainConfig))) == {}
    defaults = {f.name: field_default(f) for f in dataclasses.fields(TrainConfig)}
    assert TrainConfig(**given_values(TrainConfig, {"data": ("a", "b"), "seed": None})).to_dict() == {
        **defaults,
        "data": ["a", "b"],
    }


def test_topics_flags_are_litelong_fields() -> None:
    text = _help("topics")
    fields = LiteLongConfig.__dataclass_fields__
    for name in DEBATE_FIELDS:
        assert _flag(name) in text and " ".join(str(fields[name].metadata["help"]).split())[:30] in text, name


def _metadata_cases() -> list[tuple[str, str, Any]]:
    cases = []
    for preset in preset_names():
        for f in dataclasses.fields(_config_class(preset)):
            if f.metadata.get("choices"):
                cases.append((preset, f.name, "no-such-choice"))
            if f.metadata.get("min") is not None:
                cases.append((preset, f.name, f.metadata["min"] - 1))
    return cases


@pytest.mark.parametrize(("preset", "name", "bad"), _metadata_cases())
def test_choices_and_min_metadata_are_checked(preset: str, name: str, bad: Any) -> None:
    with pytest.raises(ConfigError, match=f"{name} must be"):
        make_config(preset, **{name: bad})


def test_metadata_check_wording_and_train_config() -> None:
    with pytest.raises(ConfigError, match=r"cut_policy must be one of 'truncate', 'drop_row', got 'chop'"):
        make_config("random-concat-64k", cut_policy="chop")
    with pytest.raises(ConfigError, match=re.escape("overfetch must be >= 1, got 0.5")):
        make_config("nextlong-64k", overfetch=0.5)
    with pytest.raises(ConfigError, match="feedback_docs must be 0 or more"):
        make_config("litelong-64k", feedback_docs=-1)
    with pytest.raises(TrainError, match="gradient_accumulation_steps must be positive"):
        TrainConfig(gradient_accumulation_steps=0)


def test_scalar_flags_still_parse(tmp_path: Path) -> None:
    """Typed flags keep typer's own checks (a non-number is a usage error naming the flag)."""
    result = runner.invoke(
        app, ["generate", "nextlong-64k", "--out", str(tmp_path / "o"), "--chunk-chars", "many"], env=WIDE
    )
    assert result.exit_code == 2 and "--chunk-chars" in result.output
