"""Publish generated rows to the Hugging Face Hub: parquet shards with small row groups plus a dataset card.

``push_to_hub(ds, "me/my-long-data", config_name="litelong-128k")`` puts the rows of one config under
``litelong-128k/train-00000-of-0000N.parquet``, the token-length plot under
``assets/litelong-128k-token-lengths.png`` and (re)writes ``README.md``, whose YAML ``configs:`` makes the
config loadable with ``datasets.load_dataset("me/my-long-data", "litelong-128k")``.

How a push goes, and why:

1. **Validate before the network**: repo id, config name, row schema (pretraining or instruction columns),
   a non-empty dataset, consistent token counts, sizes, and that a token can be found.
2. **Upload shards without committing them**: each shard is written to a temporary folder (deterministic
   name and content for the same rows and settings) and uploaded as an LFS object with
   ``preupload_lfs_files``. Uploaded objects are invisible until a commit references them, so a push that
   fails here publishes nothing; run it again and objects already on the Hub are not sent again (the LFS
   batch API answers "already present" for their sha256).
3. **One last commit makes the config visible**: shards + plot + merged card, plus the deletion of stale
   shards of the same config (a re-push with fewer shards leaves no duplicates). It is made against the
   parent commit it was merged with, and re-merged if someone committed in between. Configs with more
   than :data:`MAX_FILES_PER_COMMIT` shards commit the extra shards first, the card always last.

The token comes from the ``token`` argument, else ``HF_TOKEN``, else the saved login (``hf auth login``);
it is never logged, printed or written in the card, and errors are scrubbed of it.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litelong_hf.card import (
    INSTRUCTION_COLUMNS,
    PRETRAINING_COLUMNS,
    CardInputs,
    RowSchema,
    compute_stats,
    detect_row_schema,
    known_secrets,
    merge_card,
    preview_row,
    render_config_section,
    render_length_histogram,
    scrub_text,
)
from litelong_hf.report import RunReport

if TYPE_CHECKING:
    import datasets
    from huggingface_hub import CommitOperationAdd, HfApi

__all__ = [
    "DEFAULT_MAX_SHARD_SIZE",
    "MAX_FILES_PER_COMMIT",
    "PushError",
    "PushResult",
    "PushValidationError",
    "RunDir",
    "choose_row_group_size",
    "expected_schema",
    "histogram_path",
    "load_run_dir",
    "parse_size",
    "plan_num_shards",
    "push_to_hub",
    "shard_paths",
    "validate_config_name",
    "validate_repo_id",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_SHARD_SIZE = "100MB"
"""Largest shard, measured on the in-memory Arrow size of its rows (parquet files come out smaller)."""

MAX_FILES_PER_COMMIT = 500
"""Shards per commit; a config with more shards is committed in several commits, the card last."""

_TARGET_ROW_GROUP_BYTES = 32 * 1024 * 1024
_MAX_ROW_GROUP_ROWS = 8
_COMMIT_RETRIES = 5

CONFIG_NAME_RE = re.compile(
    r"^(?P<method>litelong-nextlong|litelong|nextlong|hierarchical)-(?P<length>[1-9][0-9]*[km])"
    r"(?P<suffix>(?:-[a-z0-9]+)*)$"
)
"""Config names: ``<method>-<length>[-<suffix>]``, e.g. ``litelong-128k``, ``hierarchical-1m``,
``nextlong-64k-fineweb``."""

_REPO_PART_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$")
_SIZE_RE = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[KMGT]i?B|B)?\s*$", re.I)
_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


class PushError(RuntimeError):
    """A push could not be done; the message says why and what to do. It never contains the token."""


class PushValidationError(PushError, ValueError):
    """The inputs of a push are wrong; raised before any network request."""


@dataclass(frozen=True)
class PushResult:
    """What a push published."""

    repo_id: str
    config_name: str
    commit_sha: str
    commit_url: str
    num_rows: int
    num_shards: int
    files: tuple[str, ...]
    deleted: tuple[str, ...]

    @property
    def load_snippet(self) -> str:
        """The line that loads the config back."""
        return f'datasets.load_dataset("{self.repo_id}", "{self.config_name}", split="train")'


# ============================================================================ pure helpers


def validate_repo_id(repo_id: str) -> str:
    """Return ``repo_id`` if it is a valid ``namespace/name`` (or bare ``name``), else raise with the fix."""
    if not isinstance(repo_id, str) or not repo_id:
        raise PushValidationError("repo_id is empty; give it as 'namespace/name', e.g. 'me/my-long-data'.")
    parts = repo_id.split("/")
    problems = []
    if len(parts) > 2:
        problems.append("it has more than one '/'")
    for part in parts:
        if not _REPO_PART_RE.match(part):
            problems.append(
                f"{part!r} must be 1-96 characters of letters, digits, '-', '_', '.', "
                "starting with a letter or digit and not ending with '-' or '.'"
            )
        elif "--" in part or ".." in part:
            problems.append(f"{part!r} contains '--' or '..'")
    if parts[-1].endswith(".git"):
        problems.append("the name must not end with '.git'")
    if problems:
        raise PushValidationError(
            f"Invalid repo id {repo_id!r}: {'; '.join(problems)}. Use 'namespace/name', e.g. 'me/my-long-data'."
        )
    return repo_id


def validate_config_name(config_name: str) -> re.Match[str]:
    """Check a config name is ``<method>-<length>[-<suffix>]`` (e.g. ``litelong-128k``); return the match."""
    match = CONFIG_NAME_RE.match(config_name or "")
    if match is None:
        raise PushValidationError(
            f"Unknown config name {config_name!r}: config names are <method>-<length>[-<suffix>] with method "
            "litelong, nextlong, litelong-nextlong or hierarchical and a length like 64k, 128k, 512k or 1m "
            "(lower case), e.g. 'litelong-128k', 'hierarchical-1m' or 'nextlong-64k-fineweb'."
        )
    return match


def expected_schema(config_name: str) -> RowSchema:
    """Hierarchical configs hold instruction rows; every other config holds pretraining rows."""
    return "instruction" if config_name.startswith("hierarchical-") else "pretraining"


def parse_size(size: int | str) -> int:
    """Bytes in ``size``: an int, or a string like ``"100MB"``, ``"1.5GB"``, ``"512MiB"``."""
    if isinstance(size, bool):
        raise PushValidationError(f"Invalid size {size!r}")
    if isinstance(size, int):
        value = size
    else:
        match = _SIZE_RE.match(str(size))
        if match is None:
            raise PushValidationError(f"Invalid size {size!r}: use bytes or a string like '100MB' or '1GB'.")
        value = int(float(match.group("number")) * _UNITS[(match.group("unit") or "B").upper()])
    if value <= 0:
        raise PushValidationError(f"Invalid size {size!r}: it must be positive.")
    return value


def plan_num_shards(num_rows: int, num_bytes: int, max_shard_bytes: int) -> int:
    """Number of shards so that none exceeds ``max_shard_bytes`` (at least 1, at most one per row)."""
    if num_rows <= 0:
        return 0
    return max(1, min(num_rows, math.ceil(num_bytes / max_shard_bytes)))


def choose_row_group_size(num_rows: int, num_bytes: int) -> int:
    """Rows per parquet row group: ~32 MB of Arrow data, between 1 and 8 rows (a 1M-token row is ~9 MB)."""
    if num_rows <= 0:
        return 1
    bytes_per_row = max(1, num_bytes // num_rows)
    return max(1, min(_MAX_ROW_GROUP_ROWS, _TARGET_ROW_GROUP_BYTES // bytes_per_row))


def shard_paths(config_name: str, num_shards: int, split: str = "train") -> list[str]:
    """Deterministic shard paths: ``<config>/<split>-00000-of-00003.parquet`` ..."""
    return [f"{config_name}/{split}-{i:05d}-of-{num_shards:05d}.parquet" for i in range(num_shards)]


def histogram_path(config_name: str) -> str:
    """Where the token-length plot of a config lives in the repo."""
    return f"assets/{config_name}-token-lengths.png"


# ============================================================================ run directories


@dataclass
class RunDir:
    """A generation output folder read back: the rows, the run report and the config, when present."""

    dataset: datasets.Dataset
    report: RunReport | None
    config: dict[str, Any] | None


def load_run_dir(path: str | Path) -> RunDir:
    """Read what ``litelong-hf generate --out DIR`` writes, or a plain ``Dataset.save_to_disk`` folder.

    Layout of a run directory::

        DIR/dataset/       datasets.Dataset.save_to_disk(...) of the rows (a DatasetDict: its "train")
        DIR/report.json    RunReport.save(...)            (optional)
        DIR/config.yaml    the resolved config             (optional; copied to report.extra["config"])
    """
    import datasets
    import yaml

    root = Path(path)
    if not root.is_dir():
        raise PushValidationError(
            f"{root} is not a directory; give the folder written by `litelong-hf generate`."
        )
    data_dir = root / "dataset" if (root / "dataset").is_dir() else root
    markers = ("state.json", "dataset_info.json", "dataset_dict.json")
    if not any((data_dir / m).is_file() for m in markers):
        raise PushValidationError(
            f"No saved dataset in {root}: expected {root}/dataset/ (from `litelong-hf generate --out`) or a "
            "folder written by datasets' save_to_disk."
        )
    loaded = datasets.load_from_disk(str(data_dir))
    if isinstance(loaded, datasets.DatasetDict):
        if "train" not in loaded:
            raise PushValidationError(f"{data_dir} holds splits {list(loaded)} but no 'train' split.")
        loaded = loaded["train"]
    report = RunReport.load(root / "report.json") if (root / "report.json").is_file() else None
    config = None
    if (root / "config.yaml").is_file():
        parsed = yaml.safe_load((root / "config.yaml").read_text())
        config = parsed if isinstance(parsed, dict) else None
    if config is not None:
        report = report or RunReport()
        report.extra.setdefault("config", config)
    return RunDir(dataset=loaded, report=report, config=config)


# ============================================================================ validation


def _check_dataset(dataset: Any, config_name: str) -> tuple[datasets.Dataset, RowSchema]:
    import datasets

    if isinstance(dataset, datasets.DatasetDict):
        if list(dataset) != ["train"]:
            raise PushValidationError(
                f"Pass a Dataset (the rows of one config), not a DatasetDict with splits {list(dataset)}."
            )
        dataset = dataset["train"]
    if isinstance(dataset, datasets.IterableDataset):
        raise PushValidationError(
            "push_to_hub needs a materialized datasets.Dataset (the shard count and the card statistics need "
            "every row): write the rows with `litelong-hf generate --out DIR` and push DIR, or build the "
            "Dataset with datasets.Dataset.from_generator."
        )
    if not isinstance(dataset, datasets.Dataset):
        raise PushValidationError(f"Expected a datasets.Dataset, got {type(dataset).__name__}.")
    if len(dataset) == 0:
        raise PushValidationError(
            f"The dataset for config {config_name!r} has no rows: nothing to publish. Check the run report "
            "for skipped inputs."
        )
    schema = expected_schema(config_name)
    required = PRETRAINING_COLUMNS if schema == "pretraining" else INSTRUCTION_COLUMNS
    missing = [c for c in required if c not in dataset.column_names]
    if missing:
        found = detect_row_schema(dataset.column_names)
        hint = ""
        if found is not None and found != schema:
            hint = (
                f" These look like {found} rows, but {config_name!r} is a {schema} config "
                f"({'hierarchical-* configs hold instruction rows' if schema == 'instruction' else 'only hierarchical-* configs hold instruction rows'})."
            )
        raise PushValidationError(
            f"The dataset is missing column(s) {missing} of the {schema} row schema for {config_name!r} "
            f"(it has {dataset.column_names}).{hint}"
        )
    _check_token_counts(dataset, schema)
    return dataset, schema


def _check_token_counts(dataset: datasets.Dataset, schema: RowSchema) -> None:
    """``n_tokens`` must equal ``len(input_ids)`` and ``sum(piece_lengths)`` (pretraining rows)."""
    if schema != "pretraining":
        return
    import pyarrow.compute as pc

    table = dataset.select_columns(["id", "n_tokens", "input_ids", "piece_lengths"]).with_format("arrow")
    for batch in table.iter(batch_size=64):
        n_tokens = batch["n_tokens"]
        lengths = pc.list_value_length(batch["input_ids"])
        sums = [sum(p or []) for p in batch["piece_lengths"].to_pylist()]
        for i, (n, ids_len) in enumerate(zip(n_tokens.to_pylist(), lengths.to_pylist(), strict=True)):
            if n != ids_len:
                raise PushValidationError(
                    f"Row {batch['id'][i].as_py()!r}: n_tokens is {n} but input_ids has {ids_len} ids. "
                    "Rows must hold exactly n_tokens ids; regenerate them."
                )
            if sums[i] != n:
                raise PushValidationError(
                    f"Row {batch['id'][i].as_py()!r}: piece_lengths sum to {sums[i]}, not n_tokens={n}."
                )


def _resolve_token(token: str | None) -> str:
    if token is not None:
        if not isinstance(token, str) or not token.strip():
            raise PushValidationError("token is empty; pass a Hugging Face token with write access.")
        return token.strip()
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise PushValidationError(
            "No Hugging Face token found: pass token=..., set the HF_TOKEN environment variable, or log in "
            "with `hf auth login`. The token needs write access to the target namespace."
        )
    return found


def _arrow_nbytes(dataset: datasets.Dataset) -> int:
    table = dataset.data
    if len(table) == 0:
        return 0
    # With an indices mapping (after select/shuffle) the table holds more rows than the dataset.
    return int(table.nbytes * len(dataset) / len(table))


# ============================================================================ push


def push_to_hub(
    dataset: datasets.Dataset,
    repo_id: str,
    *,
    config_name: str,
    private: bool = False,
    token: str | None = None,
    report: RunReport | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    row_group_size: int | None = None,
    endpoint: str | None = None,
    tmp_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> PushResult:
    """Publish the rows of one config to a dataset repo, with a generated dataset card.

    Several configs live in one repo; pushing another config keeps the others (their card sections and
    YAML ``configs:`` entries are merged), pushing the same config again replaces it.

    Args:
        dataset: the rows (pretraining or instruction schema, see DESIGN.md).
        repo_id: ``namespace/name`` of the dataset repo; created if missing.
        config_name: ``<method>-<length>[-<suffix>]``, e.g. ``litelong-128k``; the data goes to
            ``<config_name>/train-XXXXX-of-YYYYY.parquet``.
        private: create the repo private (ignored if it already exists).
        token: Hub token with write access; default ``HF_TOKEN`` or the saved login.
        report: the run report; its stats, skip reasons, LLM counters and ``extra`` metadata go in the card
            (see :mod:`litelong_hf.card` for the ``extra`` keys).
        revision: branch to push to (created if missing); default ``main``.
        commit_message: summary of the final commit.
        max_shard_size: largest shard (Arrow size), bytes or a string like ``"100MB"``.
        row_group_size: rows per parquet row group (default: 1-8 rows, ~32 MB).
        endpoint: Hub URL; default ``HF_ENDPOINT`` or https://huggingface.co.
        tmp_dir: where shards are written before upload (default: the system temp folder).
        progress: called with one line per step (e.g. ``print`` or a progress bar's ``write``).

    Returns:
        What was published: the commit, the shard files, stale files deleted.

    Raises:
        PushValidationError: bad inputs, before any network request.
        PushError: the Hub refused or failed; nothing new is visible and running the same push again
            resumes it (uploaded shards are not sent twice).

    Example::

        result = push_to_hub(ds, "me/my-long-data", config_name="litelong-128k", report=report)
        print(result.load_snippet)
    """
    # ---------------------------------------------------------------- 1. validation, no network
    validate_repo_id(repo_id)
    validate_config_name(config_name)
    dataset, schema = _check_dataset(dataset, config_name)
    if report is not None and not isinstance(report, RunReport):
        raise PushValidationError(f"report must be a RunReport, got {type(report).__name__}.")
    max_shard_bytes = parse_size(max_shard_size)
    nbytes = _arrow_nbytes(dataset)
    if row_group_size is None:
        row_group_size = choose_row_group_size(len(dataset), nbytes)
    elif isinstance(row_group_size, bool) or not isinstance(row_group_size, int) or row_group_size < 1:
        raise PushValidationError(
            f"row_group_size must be a positive number of rows, got {row_group_size!r}."
        )
    if commit_message is not None and not commit_message.strip():
        raise PushValidationError("commit_message is empty.")
    resolved_token = _resolve_token(token)
    secrets = known_secrets([resolved_token])
    say = progress or (lambda line: logger.info("%s", line))

    num_shards = plan_num_shards(len(dataset), nbytes, max_shard_bytes)
    paths = shard_paths(config_name, num_shards)
    stats = compute_stats(dataset, config_name, schema)
    plot_path = histogram_path(config_name)
    plot = render_length_histogram(
        stats.row_lengths,
        stats.piece_lengths,
        title=f"{config_name}: {stats.num_rows:,} rows, {stats.total_tokens:,} tokens",
        piece_label="tokens per piece" if schema == "pretraining" else "tokens per document",
    )
    card_inputs = CardInputs(
        repo_id=repo_id,
        config_name=config_name,
        stats=stats,
        data_files=f"{config_name}/train-*",
        histogram_path=plot_path,
        preview=preview_row(dataset[0], schema),
        report=report,
        num_shards=num_shards,
        row_group_size=row_group_size,
        secrets=secrets,
    )
    render_config_section(card_inputs)  # a card that cannot be rendered fails here, before any upload
    say(f"{config_name}: {len(dataset):,} rows, {stats.total_tokens:,} tokens -> {num_shards} shard(s)")

    try:
        return _push(
            dataset=dataset,
            repo_id=repo_id,
            config_name=config_name,
            private=private,
            token=resolved_token,
            revision=revision,
            commit_message=commit_message,
            row_group_size=row_group_size,
            endpoint=endpoint,
            tmp_dir=tmp_dir,
            paths=paths,
            card_inputs=card_inputs,
            plot=plot,
            nbytes=nbytes,
            say=say,
        )
    except PushError as err:
        raise type(err)(scrub_text(str(err), secrets)) from None


def _push(
    *,
    dataset: datasets.Dataset,
    repo_id: str,
    config_name: str,
    private: bool,
    token: str,
    revision: str | None,
    commit_message: str | None,
    row_group_size: int,
    endpoint: str | None,
    tmp_dir: str | Path | None,
    paths: list[str],
    card_inputs: CardInputs,
    plot: bytes,
    nbytes: int,
    say: Callable[[str], None],
) -> PushResult:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token, library_name="litelong-hf")
    branch = revision or "main"
    try:
        repo_url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        repo_id = repo_url.repo_id
        if branch != "main":
            api.create_branch(repo_id, branch=branch, repo_type="dataset", exist_ok=True)
    except Exception as err:
        raise _hub_error(
            err, f"creating or opening the dataset repo {repo_id!r}", card_inputs.secrets
        ) from None
    card_inputs.repo_id = repo_id

    workdir = Path(tempfile.mkdtemp(prefix="litelong-push-", dir=tmp_dir))
    try:
        additions, download_size = _upload_shards(
            api, dataset, repo_id, branch, paths, row_group_size, workdir, say, card_inputs.secrets
        )
        return _commit(
            api,
            repo_id=repo_id,
            config_name=config_name,
            branch=branch,
            additions=additions,
            paths=paths,
            card_inputs=card_inputs,
            plot=plot,
            dataset=dataset,
            nbytes=nbytes,
            download_size=download_size,
            commit_message=commit_message
            or f"Add config {config_name} ({len(dataset):,} rows) with litelong-hf",
            say=say,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _upload_shards(
    api: HfApi,
    dataset: datasets.Dataset,
    repo_id: str,
    branch: str,
    paths: list[str],
    row_group_size: int,
    workdir: Path,
    say: Callable[[str], None],
    secrets: Sequence[str],
) -> tuple[list[CommitOperationAdd], int]:
    from huggingface_hub import CommitOperationAdd

    from litelong_hf.progress import progress_bar

    additions: list[CommitOperationAdd] = []
    download_size = 0
    config_name = paths[0].split("/")[0]
    with progress_bar(f"Uploading {config_name}", total=len(paths), unit="shards") as advance:
        for index, path_in_repo in enumerate(paths):
            local = workdir / Path(path_in_repo).name
            _write_shard(dataset, index, len(paths), local, row_group_size)
            download_size += local.stat().st_size
            addition = CommitOperationAdd(path_in_repo=path_in_repo, path_or_fileobj=str(local))
            try:
                api.preupload_lfs_files(repo_id, additions=[addition], repo_type="dataset", revision=branch)
            except Exception as err:
                raise _hub_error(
                    err,
                    f"uploading shard {index + 1}/{len(paths)} ({path_in_repo})",
                    secrets,
                    resumable=True,
                ) from None
            additions.append(addition)
            if getattr(addition, "_is_uploaded", False):
                local.unlink(missing_ok=True)  # its content is on the Hub; only its sha256 is needed now
            logger.debug("uploaded %s (%d/%d)", path_in_repo, index + 1, len(paths))
            advance(1)
    say(f"uploaded {len(paths)} shard(s) of {config_name}")
    return additions, download_size


def _write_shard(
    dataset: datasets.Dataset, index: int, num_shards: int, path: Path, row_group_size: int
) -> None:
    """Write shard ``index`` as parquet, ``row_group_size`` rows per row group (deterministic bytes)."""
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    shard = dataset.shard(num_shards=num_shards, index=index, contiguous=True)
    # datasets draws a bar per shard here; the upload bar above already says how far we are.
    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        shard.to_parquet(str(path), batch_size=row_group_size)
    finally:
        if not was_disabled:
            enable_progress_bars()


def _commit(
    api: HfApi,
    *,
    repo_id: str,
    config_name: str,
    branch: str,
    additions: list[CommitOperationAdd],
    paths: list[str],
    card_inputs: CardInputs,
    plot: bytes,
    dataset: datasets.Dataset,
    nbytes: int,
    download_size: int,
    commit_message: str,
    say: Callable[[str], None],
) -> PushResult:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import HfHubHTTPError

    secrets = card_inputs.secrets
    dataset_info = _dataset_info_yaml(dataset, config_name, nbytes, download_size)
    # Intermediate commits, only for configs with very many shards; the card still comes last.
    head_additions, last_additions = additions[:-MAX_FILES_PER_COMMIT], additions[-MAX_FILES_PER_COMMIT:]
    for start in range(0, len(head_additions), MAX_FILES_PER_COMMIT):
        part = head_additions[start : start + MAX_FILES_PER_COMMIT]
        try:
            api.create_commit(
                repo_id,
                operations=list(part),
                commit_message=f"{commit_message} (data part {start // MAX_FILES_PER_COMMIT + 1})",
                repo_type="dataset",
                revision=branch,
            )
        except Exception as err:
            raise _hub_error(err, "committing data files", secrets, resumable=True) from None

    for attempt in range(1, _COMMIT_RETRIES + 1):
        try:
            parent = api.repo_info(repo_id, repo_type="dataset", revision=branch).sha
            if not parent:
                raise PushError(f"The Hub returned no commit for branch {branch!r} of {repo_id}.")
            existing_card = _read_card(api, repo_id, parent)
            stale = _stale_files(api, repo_id, parent, config_name, set(paths))
        except Exception as err:
            raise _hub_error(err, "reading the current dataset card", secrets, resumable=True) from None
        readme = merge_card(existing_card, card_inputs, dataset_info=dataset_info)
        operations: list[Any] = [
            *last_additions,
            CommitOperationAdd(path_in_repo=card_inputs.histogram_path, path_or_fileobj=plot),
            CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=readme.encode()),
            *(CommitOperationDelete(path_in_repo=p) for p in stale),
        ]
        try:
            info = api.create_commit(
                repo_id,
                operations=operations,
                commit_message=commit_message,
                commit_description=f"Config `{config_name}`: {len(dataset):,} rows in {len(paths)} parquet file(s).",
                repo_type="dataset",
                revision=branch,
                parent_commit=parent,
            )
        except HfHubHTTPError as err:
            status = err.response.status_code if err.response is not None else None
            if status in (409, 412) and attempt < _COMMIT_RETRIES:
                say(f"the repo changed while pushing (HTTP {status}); merging the card again")
                continue
            raise _hub_error(err, "making the final commit", secrets, resumable=True) from None
        except Exception as err:
            raise _hub_error(err, "making the final commit", secrets, resumable=True) from None
        say(f"committed {config_name} to {repo_id}: {info.commit_url}")
        return PushResult(
            repo_id=repo_id,
            config_name=config_name,
            commit_sha=str(info.oid),
            commit_url=str(info.commit_url),
            num_rows=len(dataset),
            num_shards=len(paths),
            files=(*paths, card_inputs.histogram_path, "README.md"),
            deleted=tuple(stale),
        )
    raise PushError(f"Could not commit {config_name}: the repo kept changing; try again.")


def _read_card(api: HfApi, repo_id: str, revision: str) -> str | None:
    from huggingface_hub.errors import EntryNotFoundError

    try:
        path = api.hf_hub_download(repo_id, "README.md", repo_type="dataset", revision=revision)
    except EntryNotFoundError:
        return None
    return Path(path).read_text(encoding="utf-8")


def _stale_files(api: HfApi, repo_id: str, revision: str, config_name: str, keep: set[str]) -> list[str]:
    """Files under ``<config_name>/`` that the new shards do not overwrite (old shard counts)."""
    from huggingface_hub.errors import EntryNotFoundError
    from huggingface_hub.hf_api import RepoFile

    try:
        entries = list(
            api.list_repo_tree(
                repo_id, path_in_repo=config_name, recursive=True, repo_type="dataset", revision=revision
            )
        )
    except EntryNotFoundError:
        return []
    return sorted(e.path for e in entries if isinstance(e, RepoFile) and e.path not in keep)


def _dataset_info_yaml(
    dataset: datasets.Dataset, config_name: str, nbytes: int, download_size: int
) -> dict[str, Any]:
    """The YAML ``dataset_info`` entry (features, split sizes) in the format ``datasets`` writes itself."""
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    splits = SplitDict()
    splits.add(SplitInfo(name="train", num_bytes=nbytes, num_examples=len(dataset)))
    info = DatasetInfo(
        features=dataset.features,
        splits=splits,
        download_size=download_size,
        dataset_size=nbytes,
        config_name=config_name,
    )
    card_data = DatasetCardData()
    DatasetInfosDict({config_name: info}).to_dataset_card_data(card_data)
    entry = dict(card_data.to_dict()["dataset_info"])
    entry.pop("config_name", None)
    return entry


def _hub_error(err: Exception, doing: str, secrets: Sequence[str], *, resumable: bool = False) -> PushError:
    """A clear, token-free PushError for a failure while ``doing`` something on the Hub."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    # The original exception is not chained (it holds the request, Authorization header included); its
    # text, scrubbed, goes to the debug log.
    logger.debug("Hub error while %s: %s", doing, scrub_text(f"{type(err).__name__}: {err}", secrets))
    status = None
    if isinstance(err, HfHubHTTPError) and err.response is not None:
        status = err.response.status_code
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    cause = err.__cause__ or err.__context__
    if isinstance(err, RuntimeError) and cause is not None and not isinstance(err, HfHubHTTPError):
        # huggingface_hub wraps upload errors: "Error while uploading 'x' to the Hub." from the HTTP error.
        if isinstance(cause, HfHubHTTPError) and cause.response is not None:
            status = cause.response.status_code
        first_line = f"{first_line} ({str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__})"
    if status == 401 or (isinstance(err, RepositoryNotFoundError) and status in (401, 403)):
        message = (
            f"The Hub rejected the token while {doing} (HTTP {status}). Check the token (token=..., HF_TOKEN "
            "or `hf auth login`) and that it has write access to this namespace."
        )
    elif status == 403:
        message = (
            f"The token may not write to this repo ({doing}, HTTP 403). Use a token with write access to "
            "the namespace, or push to your own namespace."
        )
    else:
        message = f"The push failed while {doing}: {first_line}"
    if resumable:
        message += (
            " Nothing new was published (the config becomes visible only with the final commit). Run the "
            "same push again to resume: shards already uploaded are not sent again."
        )
    return PushError(scrub_text(message, secrets))
