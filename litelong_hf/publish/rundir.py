"""Read a run directory (``litelong-hf generate --out DIR``, see :class:`litelong_hf.layout.RunDir`) for a push.

A plain ``Dataset.save_to_disk`` folder works too. Every problem is a
:class:`~litelong_hf.publish.errors.PushValidationError` that says what the folder should hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litelong_hf.layout import RunDir
from litelong_hf.publish.errors import PushValidationError
from litelong_hf.report import RunReport

if TYPE_CHECKING:
    import datasets

__all__ = ["LoadedRun", "load_run_dir"]

_SAVED_MARKERS = ("state.json", "dataset_info.json", "dataset_dict.json")


@dataclass
class LoadedRun:
    """A run directory read back: the rows, the run report and the config, when present."""

    dataset: datasets.Dataset
    report: RunReport | None
    config: dict[str, Any] | None


def _read_report(path: Path) -> RunReport:
    try:
        return RunReport.load(path)
    except (OSError, ValueError, TypeError, AttributeError) as err:
        raise PushValidationError(
            f"{path} is not a readable run report ({type(err).__name__}: {err}); regenerate the run with "
            "`litelong-hf generate --out DIR`, or remove report.json to push the rows without it."
        ) from None


def _read_config(path: Path) -> dict[str, Any] | None:
    import yaml

    try:
        parsed = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise PushValidationError(
            f"{path} is not readable YAML ({type(err).__name__}); fix or remove it."
        ) from None
    return parsed if isinstance(parsed, dict) else None


def _no_rows_message(root: Path, report: RunReport | None) -> str:
    message = f"No rows in {root}: it has no dataset/ folder (written by `litelong-hf generate --out DIR`)"
    if report is not None and report.skipped:
        return message + (
            f"; its report.json lists {report.total_skipped():,} skipped inputs: fix what they name and "
            "generate again."
        )
    return message + " and is no folder written by datasets' save_to_disk; generate the rows first."


def _holds_no_rows(data_dir: Path) -> bool:
    """Whether a saved dataset (or its ``train`` split) has no data files: ``datasets`` cannot load it."""
    for state in (data_dir / "state.json", data_dir / "train" / "state.json"):
        if state.is_file():
            try:
                files = json.loads(state.read_text(encoding="utf-8")).get("_data_files")
            except (OSError, ValueError, AttributeError):
                return False
            return isinstance(files, list) and not files
    return False


def load_run_dir(path: str | Path) -> LoadedRun:
    """Read what ``litelong-hf generate --out DIR`` writes, or a plain ``Dataset.save_to_disk`` folder.

    ``DIR/config.yaml``, when present, is copied to ``report.extra["config"]`` (unless the report has one).
    """
    import datasets

    run = RunDir(Path(path))
    root = run.root
    if not root.exists():
        raise PushValidationError(
            f"{root} does not exist; give the folder written by `litelong-hf generate --out DIR`."
        )
    if not root.is_dir():
        raise PushValidationError(
            f"{root} is not a directory; give the folder written by `litelong-hf generate --out DIR`."
        )
    report = _read_report(run.report) if run.report.is_file() else None
    data_dir = run.dataset if run.dataset.is_dir() else root
    if not any((data_dir / marker).is_file() for marker in _SAVED_MARKERS):
        raise PushValidationError(_no_rows_message(root, report))
    if _holds_no_rows(data_dir):
        raise PushValidationError(
            f"The dataset in {data_dir} has no rows: nothing to publish. Check the run report for skipped "
            "inputs, and generate again."
        )
    try:
        loaded = datasets.load_from_disk(str(data_dir))
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
        raise PushValidationError(
            f"The rows in {data_dir} cannot be read ({type(err).__name__}: {err}); generate them again."
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        if "train" not in loaded:
            raise PushValidationError(f"{data_dir} holds splits {list(loaded)} but no 'train' split.")
        loaded = loaded["train"]
    config = _read_config(run.config) if run.config.is_file() else None
    if config is not None:
        report = report or RunReport()
        report.extra.setdefault("config", config)
    return LoadedRun(dataset=loaded, report=report, config=config)
