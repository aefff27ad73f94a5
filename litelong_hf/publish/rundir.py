"""The run directory (``litelong-hf generate --out DIR``, see :class:`litelong_hf.layout.RunDir`): written
by :func:`write_run_dir`, read back for a push by :func:`load_run_dir`.

``DIR/parquet/`` holds the rows once: hard links to the run's shard parquet files
(:mod:`litelong_hf.rowstore`). A ``DIR/dataset/`` of older runs and a plain ``Dataset.save_to_disk`` folder
are read too. Every reading problem is a :class:`~litelong_hf.publish.errors.PushValidationError` that says
what the folder should hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litelong_hf import layout
from litelong_hf.config import ConfigError
from litelong_hf.layout import RunDir
from litelong_hf.progress import stage
from litelong_hf.publish.errors import PushValidationError
from litelong_hf.report import RunReport
from litelong_hf.rowstore import RowsNotFound, link_rows, read_rows

if TYPE_CHECKING:
    import datasets

    from litelong_hf.run import Run

__all__ = ["LoadedRun", "load_run_dir", "write_run_dir"]


def write_run_dir(run: Run, out: Path, overwrite: bool = False) -> None:
    """Write ``out`` (the ``save`` stage): ``parquet/`` (the shard files, hard-linked: no row is copied),
    ``report.json``, ``config.yaml`` and, when the run asked an LLM, ``transcripts.jsonl``.

    The folder appears whole or not at all, and keys never reach it (they are redacted).
    """
    import yaml

    from litelong_hf.secrets import known_secrets, redact

    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{out} exists and is not empty; pass --overwrite or choose another --out.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create {out}: {exc.strerror}; choose a writable --out.") from None
    secrets = known_secrets()
    with layout.atomic_folder(out) as folder, stage("save", 3 + bool(run.transcripts), unit="files") as bar:
        tmp = RunDir(folder)
        link_rows(run.shard_files, tmp.parquet)
        bar.advance(1)
        if run.transcripts:
            layout.atomic_write_jsonl(tmp.transcripts, run.transcripts)
            bar.advance(1)
        layout.atomic_write_json(tmp.report, redact(run.report.to_dict(), secrets))
        bar.advance(1)
        config = redact(run.config.to_dict(), secrets)
        layout.atomic_write_text(tmp.config, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        bar.advance(1)


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
    message = f"No rows in {root}: it has no parquet/ folder (written by `litelong-hf generate --out DIR`)"
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
    if not run.parquet.is_dir():
        data_dir = run.dataset if run.dataset.is_dir() else root
        if not any((data_dir / marker).is_file() for marker in _SAVED_MARKERS):
            raise PushValidationError(_no_rows_message(root, report))
        if _holds_no_rows(data_dir):
            raise PushValidationError(
                f"The dataset in {data_dir} has no rows: nothing to publish. Check the run report for skipped "
                "inputs, and generate again."
            )
    try:
        loaded = read_rows(root)
    except RowsNotFound as err:
        raise PushValidationError(f"{err} Generate the rows again.") from None
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
        raise PushValidationError(
            f"The rows in {root} cannot be read ({type(err).__name__}: {err}); generate them again."
        ) from None
    if len(loaded) == 0:
        raise PushValidationError(
            f"The rows in {root} are empty: nothing to publish. Check the run report for skipped inputs, and "
            "generate again."
        )
    config = _read_config(run.config) if run.config.is_file() else None
    if config is not None:
        report = report or RunReport()
        report.extra.setdefault("config", config)
    return LoadedRun(dataset=loaded, report=report, config=config)
