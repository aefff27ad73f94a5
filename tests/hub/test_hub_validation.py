"""push_to_hub checks its inputs before any network request; pure helpers of litelong_hf.hub."""

from __future__ import annotations

import datasets
import pytest
from hub_fixtures import instruction_dataset, pretraining_dataset, pretraining_rows, push_command_module
from typer.testing import CliRunner

from litelong_hf.hub import (
    PushValidationError,
    choose_row_group_size,
    expected_schema,
    load_run_dir,
    parse_size,
    plan_num_shards,
    push_to_hub,
    shard_paths,
    validate_config_name,
    validate_repo_id,
    write_shard,
)
from litelong_hf.report import RunReport

# Nothing listens there: a test that reached the network would fail with a connection error instead.
UNREACHABLE = "http://127.0.0.1:9"


@pytest.mark.parametrize("repo_id", ["me/my-long-data", "org_1/Data.v2", "plainname"])
def test_valid_repo_ids(repo_id: str) -> None:
    assert validate_repo_id(repo_id) == repo_id


@pytest.mark.parametrize(
    "repo_id", ["", "a/b/c", "me/", "/x", "me/bad name", "me/x--y", "me/data.git", "-me/x"]
)
def test_invalid_repo_ids(repo_id: str) -> None:
    with pytest.raises(PushValidationError, match="repo"):
        validate_repo_id(repo_id)


@pytest.mark.parametrize(
    "name",
    [
        "litelong-64k",
        "litelong-nextlong-128k",
        "nextlong-512k",
        "hierarchical-1m",
        "litelong-128k-fineweb",
        "random-concat-64k",
    ],
)
def test_valid_config_names(name: str) -> None:
    assert validate_config_name(name)


def test_config_name_parts() -> None:
    assert tuple(validate_config_name("litelong-nextlong-128k-news-v2")) == (
        "litelong-nextlong",
        "128k",
        "news-v2",
    )
    assert expected_schema("hierarchical-350k") == "instruction"
    assert expected_schema("random-concat-128k") == "pretraining"


def test_report_of_another_config_is_refused() -> None:
    good = pretraining_dataset(2, 32, 1)
    with pytest.raises(PushValidationError, match=r"generated as 'litelong-64k'.*--config litelong-64k"):
        _push(good, config_name="nextlong-64k", report=RunReport(config_name="litelong-64k"))
    with pytest.raises(PushValidationError, match="generated as 'litelong-64k'"):
        _push(good, config_name="litelong-128k", report=RunReport(config_name="litelong-64k"))


@pytest.mark.parametrize(
    "name", ["", "default", "litelong", "LiteLong-128k", "longlite-64k", "litelong-128", "x/y"]
)
def test_invalid_config_names(name: str) -> None:
    with pytest.raises(PushValidationError, match="Unknown config name"):
        validate_config_name(name)


def test_sizes_and_shards() -> None:
    assert parse_size(1234) == 1234
    assert parse_size("100MB") == 100_000_000
    assert parse_size("1.5GB") == 1_500_000_000
    assert parse_size("512MiB") == 512 * 2**20
    for bad in ("lots", "-1MB", 0, "0B"):
        with pytest.raises(PushValidationError):
            parse_size(bad)  # type: ignore[arg-type]
    assert plan_num_shards(0, 0, 10) == 0
    assert plan_num_shards(10, 5, 100) == 1
    assert plan_num_shards(10, 1000, 100) == 10
    assert plan_num_shards(3, 1000, 100) == 3  # never more shards than rows
    assert choose_row_group_size(100, 100 * 9_000_000) == 3  # 1M-token rows: ~9 MB each
    assert choose_row_group_size(100, 100 * 100_000) == 8
    assert choose_row_group_size(1, 200_000_000) == 1
    assert shard_paths("litelong-64k", 2) == [
        "litelong-64k/train-00000-of-00002.parquet",
        "litelong-64k/train-00001-of-00002.parquet",
    ]


def test_shards_are_byte_identical_across_writes(tmp_path) -> None:
    ds = pretraining_dataset(6, 64, 1)
    write_shard(ds, 1, 2, tmp_path / "a.parquet", 2)
    write_shard(ds, 1, 2, tmp_path / "b.parquet", 2)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def _push(ds: object, **kwargs: object) -> None:
    push_to_hub(ds, kwargs.pop("repo_id", "me/data"), endpoint=UNREACHABLE, token="hf_dummy", **kwargs)  # type: ignore[arg-type]


def test_bad_inputs_fail_before_the_network() -> None:
    good = pretraining_dataset(2, 32, 1)
    with pytest.raises(PushValidationError, match="Invalid repo id"):
        _push(good, repo_id="me/bad name", config_name="litelong-64k")
    with pytest.raises(PushValidationError, match="Unknown config name"):
        _push(good, config_name="default")
    with pytest.raises(PushValidationError, match="no rows"):
        _push(good.select([]), config_name="litelong-64k")
    with pytest.raises(PushValidationError, match=r"missing column\(s\) \['input_ids'\]"):
        _push(good.remove_columns("input_ids"), config_name="litelong-64k")
    with pytest.raises(PushValidationError, match="instruction rows"):
        _push(instruction_dataset(2, 1), config_name="litelong-64k")
    with pytest.raises(PushValidationError, match="look like pretraining rows"):
        _push(good, config_name="hierarchical-128k")
    with pytest.raises(PushValidationError, match="materialized"):
        _push(good.to_iterable_dataset(), config_name="litelong-64k")
    with pytest.raises(PushValidationError, match="DatasetDict"):
        _push(datasets.DatasetDict({"train": good, "test": good}), config_name="litelong-64k")
    with pytest.raises(PushValidationError, match="row_group_size"):
        _push(good, config_name="litelong-64k", row_group_size=0)
    with pytest.raises(PushValidationError, match="report must be a RunReport"):
        _push(good, config_name="litelong-64k", report={"stats": {}})


def test_report_of_the_same_config_with_a_suffix_passes_validation() -> None:
    from litelong_hf.hub import PushError

    with pytest.raises(PushError, match="Could not reach") as caught:
        _push(
            pretraining_dataset(2, 32, 1),
            config_name="litelong-64k-news",
            report=RunReport(config_name="litelong-64k"),
        )
    assert not isinstance(caught.value, PushValidationError)


def test_inconsistent_token_counts_are_rejected() -> None:
    rows = pretraining_rows(2, 32, 1)
    rows[1]["n_tokens"] = 31
    bad = datasets.Dataset.from_list(rows, features=pretraining_dataset(1, 8, 1).features)
    with pytest.raises(PushValidationError, match="n_tokens is 31 but input_ids has 32 ids"):
        _push(bad, config_name="litelong-64k")
    rows = pretraining_rows(2, 32, 1)
    rows[0]["piece_lengths"] = [1, 2]
    bad = datasets.Dataset.from_list(rows, features=pretraining_dataset(1, 8, 1).features)
    with pytest.raises(PushValidationError, match="piece_lengths sum to 3"):
        _push(bad, config_name="litelong-64k")


def test_missing_token_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(PushValidationError, match="No Hugging Face token found"):
        push_to_hub(pretraining_dataset(1, 8, 1), "me/data", config_name="litelong-64k", endpoint=UNREACHABLE)
    with pytest.raises(PushValidationError, match="token is empty"):
        push_to_hub(pretraining_dataset(1, 8, 1), "me/data", config_name="litelong-64k", token=" ")


def test_load_run_dir_layouts(tmp_path) -> None:
    ds = pretraining_dataset(2, 16, 1)
    ds.save_to_disk(str(tmp_path / "run" / "dataset"))
    RunReport(config_name="litelong-64k").save(tmp_path / "run" / "report.json")
    (tmp_path / "run" / "config.yaml").write_text("target_tokens: 16\nseed: 3\n")
    run = load_run_dir(tmp_path / "run")
    assert run.dataset.to_list() == ds.to_list()
    assert run.report is not None and run.report.config_name == "litelong-64k"
    assert run.report.extra["config"] == {"target_tokens": 16, "seed": 3}

    datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "plain"))
    plain = load_run_dir(tmp_path / "plain")
    assert plain.report is None and len(plain.dataset) == 2

    (tmp_path / "empty").mkdir()
    with pytest.raises(PushValidationError, match="No rows in"):
        load_run_dir(tmp_path / "empty")
    with pytest.raises(PushValidationError, match="does not exist"):
        load_run_dir(tmp_path / "missing")
    broken = tmp_path / "broken"
    ds.save_to_disk(str(broken / "dataset"))
    (broken / "report.json").write_text("{not json")
    with pytest.raises(PushValidationError, match="not a readable run report"):
        load_run_dir(broken)
    (broken / "report.json").unlink()
    (broken / "config.yaml").write_text("a: [unclosed\n")
    with pytest.raises(PushValidationError, match="not readable YAML"):
        load_run_dir(broken)
    (tmp_path / "file").write_text("x")
    with pytest.raises(PushValidationError, match="not a directory"):
        load_run_dir(tmp_path / "file")


def test_cli_reports_errors_without_traceback(tmp_path) -> None:
    import typer

    app = typer.Typer()
    push_command_module().register(app)

    @app.callback()
    def _root() -> None:
        """Test app."""

    pretraining_dataset(2, 16, 1).save_to_disk(str(tmp_path / "run" / "dataset"))
    runner = CliRunner()
    result = runner.invoke(app, ["push", str(tmp_path / "run"), "me/data"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "No config name" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["push", str(tmp_path / "nowhere"), "me/data", "--config", "litelong-64k"])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["push", "--help"])
    assert result.exit_code == 0 and "--max-shard-size" in result.output
