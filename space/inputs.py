"""The demo Space's inputs: presets by method, demo-size overrides, and checks of a visitor's uploads.

Pure apart from reading uploads and the packaged presets; nothing here imports gradio. What differs
between methods is read from the strategies themselves (``row_kind_of``, the fields of each config class),
not from comparisons of their names; the per-method demo sizes are data (:data:`DEMO_SETTINGS`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from litelong_hf.presets import load_preset, preset_names
from litelong_hf.strategies import row_kind_of, strategy_config_class
from litelong_hf.taxonomy import bisac_major_subjects

METHODS: dict[str, str] = {
    "LiteLong (topic debate + BM25)": "litelong",
    "NExtLong (meta-chunks + hard negatives)": "nextlong",
    "LiteLong + NExtLong": "litelong-nextlong",
    "Hierarchical QA (chat rows)": "hierarchical",
    "Random concatenation (baseline)": "random-concat",
}
"""Method label on the page -> strategy name of the presets in ``configs/``."""

MIN_TOKENS, MAX_TOKENS = 8192, 32768
INSTRUCTION_MIN_TOKENS = 16384
"""Instruction rows hold at least one document plus its questions."""
MAX_ROWS = {"pretraining": 8, "instruction": 2}
"""Most rows per demo run, by row kind."""
UPLOAD_SUFFIXES = (".jsonl", ".parquet", ".txt")
MAX_UPLOAD_BYTES = 50 * 2**20
DEMO_MAX_DOCUMENTS = 1500
"""Documents of an uploaded corpus (and of the demo corpus for NExtLong) read at demo size."""


class SpaceInputError(ValueError):
    """A visitor's input cannot be used; the message says what to change."""


def _debate_settings(target_tokens: int) -> dict[str, Any]:
    del target_tokens
    return {"expansion_factor": 2, "llm_max_tokens": 300, "rows_per_topic": 1}


def _negatives_settings(target_tokens: int) -> dict[str, Any]:
    del target_tokens
    return {"max_documents": DEMO_MAX_DOCUMENTS}


def _hierarchical_settings(target_tokens: int) -> dict[str, Any]:
    # The LLM reads the whole document once (chunk summaries): its length is the run's main cost
    # (~140 prompt tokens/s for the 135M model on 2 cores), so a quarter of the target (one 4K chunk at
    # 16K, two at 32K).
    document = target_tokens // 4
    return {
        "document_tokens": document,
        "min_document_tokens": document // 2,
        "small_chunk_tokens": 4096,
        "medium_chunk_size": 2,
        "global_questions": 1,
        "medium_questions": 1,
        "small_questions": 0,
        "diverse_questions": 1,
        "revisit_questions": 0,
        "max_documents_per_row": 1,
        "summary_max_tokens": 160,
        "qa_retries": 0,
        # The packaged 135M model fails most QA gates (its answers run to the length limit), so with the
        # gates on a demo row would need most of the corpus; the demo shows the method's raw turns.
        "qa_gates": False,
    }


DEMO_SETTINGS: dict[str, Callable[[int], dict[str, Any]]] = {
    "litelong": _debate_settings,
    "litelong-nextlong": lambda target: {**_debate_settings(target), **_negatives_settings(target)},
    "nextlong": _negatives_settings,
    "hierarchical": _hierarchical_settings,
}
"""Strategy -> the overrides (a function of the target length) that run it in well under a minute on 2
CPU cores; a strategy not listed runs at its preset's settings."""


def config_fields(strategy: str) -> set[str]:
    """The field names of ``strategy``'s config class."""
    return {f.name for f in fields(strategy_config_class(strategy))}


def debates_topics(strategy: str) -> bool:
    """Whether ``strategy`` debates topics of categories (its config takes ``categories``)."""
    return "categories" in config_fields(strategy)


def min_tokens(strategy: str) -> int:
    """The shortest demo row of ``strategy``."""
    return INSTRUCTION_MIN_TOKENS if row_kind_of(strategy) == "instruction" else MIN_TOKENS


def strategy_presets() -> dict[str, list[str]]:
    """Preset names by strategy, e.g. ``{"litelong": ["litelong-128k", ...]}``."""
    out: dict[str, list[str]] = {}
    for name in preset_names():
        out.setdefault(str(load_preset(name).get("strategy", "")), []).append(name)
    return out


def method_choices() -> list[tuple[str, str]]:
    available = strategy_presets()
    return [(label, strategy) for label, strategy in METHODS.items() if strategy in available]


def category_choices() -> list[tuple[str, str]]:
    return [(f"{code} · {name.title()}", code) for code, name in sorted(bisac_major_subjects().items())]


def demo_overrides(
    strategy: str, target_tokens: int, categories: Sequence[str] | None, max_subcategories: int
) -> dict[str, Any]:
    """The config overrides that make ``strategy`` run in well under a minute on 2 CPU cores (pure)."""
    if not MIN_TOKENS <= target_tokens <= MAX_TOKENS:
        raise SpaceInputError(f"Target length must be between {MIN_TOKENS:,} and {MAX_TOKENS:,} tokens.")
    low = min_tokens(strategy)
    if target_tokens < low:
        raise SpaceInputError(
            f"{row_kind_of(strategy).title()} rows need at least {low:,} tokens (one document plus its "
            "questions); raise the target length."
        )
    overrides: dict[str, Any] = {"target_tokens": int(target_tokens)}
    if debates_topics(strategy):
        if not categories:
            raise SpaceInputError("Pick at least one LiteLong category (e.g. POL · Political Science).")
        overrides.update(categories=list(categories), max_subcategories=int(max_subcategories))
    settings = DEMO_SETTINGS.get(strategy)
    if settings is not None:
        overrides.update(settings(int(target_tokens)))
    return overrides


@dataclass(frozen=True)
class DemoRequest:
    """What a visitor asked for, before any model runs."""

    config_name: str
    target_tokens: int
    num_rows: int
    categories: Sequence[str] | None = None
    max_subcategories: int = 1
    corpus: str = "demo"
    """``demo`` (the bundled corpus) or ``upload`` (``files``)."""
    files: Sequence[str] | None = None
    text_column: str = "text"


def demo_config(request: DemoRequest, root: Path) -> tuple[str, dict[str, Any]]:
    """The strategy of ``request``'s preset and the overrides of its demo run; uploads are staged under
    ``root``. Raises :class:`SpaceInputError` naming what to change."""
    if request.config_name not in preset_names():
        raise SpaceInputError(f"Unknown config {request.config_name!r}; pick one from the list.")
    strategy = str(load_preset(request.config_name).get("strategy", ""))
    most = MAX_ROWS[row_kind_of(strategy)]
    if not 1 <= request.num_rows <= most:
        raise SpaceInputError(f"Rows must be between 1 and {most} for this method at demo size.")
    overrides = demo_overrides(strategy, request.target_tokens, request.categories, request.max_subcategories)
    overrides["num_rows"] = request.num_rows
    if request.corpus == "upload":
        problem = check_upload(request.files, request.text_column)
        if problem:
            raise SpaceInputError(problem)
        overrides.update(
            corpus=stage_upload(request.files or [], root),
            text_column=(request.text_column or "").strip() or "text",
            max_documents=DEMO_MAX_DOCUMENTS,
            min_chars=1,
        )
        if "grouping" in config_fields(strategy):
            overrides["grouping"] = "none"  # an uploaded corpus has no topic labels to group by
    return strategy, overrides


def check_upload(paths: Sequence[str] | None, text_column: str = "text") -> str:
    """Why the uploaded corpus files cannot be used, or ``""`` if they look fine (reads them; no model)."""
    if not paths:
        return "Upload at least one .jsonl, .parquet or .txt file, or choose the demo corpus."
    column = (text_column or "").strip() or "text"
    suffixes = {Path(p).suffix.lower() for p in paths}
    if len(suffixes) > 1:
        return f"The files mix formats ({', '.join(sorted(suffixes))}); upload one format at a time."
    for path in map(Path, paths):
        problem = _check_file(path, column)
        if problem:
            return f"{path.name}: {problem}"
    return ""


def _check_file(path: Path, column: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return f"unsupported file type {suffix or '(none)'!r}; use .jsonl, .parquet or .txt."
    size = path.stat().st_size
    if size == 0:
        return "the file is empty."
    if size > MAX_UPLOAD_BYTES:
        return f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB; the demo takes small corpora."
    if suffix == ".parquet":
        with path.open("rb") as handle:
            if handle.read(4) != b"PAR1":
                return "this is not a parquet file (it lacks the PAR1 signature)."
        try:
            schema = pq.read_schema(path)
            num_rows = pq.ParquetFile(path).metadata.num_rows
        except (OSError, ValueError) as err:  # pyarrow raises ArrowInvalid (a ValueError) or OSError
            return f"the parquet file cannot be read ({err})."
        if column not in schema.names:
            return f"there is no column {column!r} (columns: {', '.join(schema.names)}); set 'Text column'."
        return "" if num_rows else "the file holds no rows."
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        return "this looks like a binary file, not UTF-8 text."
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "the file is not UTF-8 text."
    if suffix == ".txt":
        return "" if text.strip() else "the file holds only whitespace."
    documents = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return f"line {number} is not JSON; .jsonl files hold one JSON object per line."
        if not isinstance(record, dict):
            return f"line {number} is not a JSON object."
        if column not in record:
            return f"line {number} has no {column!r} field (fields: {', '.join(record)}); set 'Text column'."
        if not isinstance(record[column], str):
            return f"line {number}: {column!r} is not a string."
        documents += 1
    return "" if documents else "the file holds no documents."


def stage_upload(paths: Sequence[str], root: Path) -> str:
    """Copy uploaded files into a folder named by their content, so one upload always maps to one corpus
    path (and re-running it reuses the cached index and rows)."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: Path(p).name):
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes())
    folder = root / "uploads" / digest.hexdigest()[:16]
    if not folder.is_dir():
        staging = root / "uploads" / f".{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        for path in paths:
            shutil.copyfile(path, staging / Path(path).name)
        try:
            staging.rename(folder)
        except OSError:  # another visitor staged the same files first
            shutil.rmtree(staging)
    return str(folder)
