"""The network half of a push: upload shards without committing them, then one commit that publishes.

1. **Upload shards without committing them**: each shard is written to a temporary folder (deterministic
   name and content for the same rows and settings) and uploaded as an LFS object with
   ``preupload_lfs_files``. Uploaded objects are invisible until a commit references them, so a push that
   fails here publishes nothing; run it again and objects already on the Hub are not sent again (the LFS
   batch API answers "already present" for their sha256).
2. **One last commit makes the config visible**: shards + plot + merged card, plus the deletion of stale
   shards of the same config (a re-push with fewer shards leaves no duplicates). It is made against the
   parent commit it was merged with, and re-merged if someone committed in between. Configs with more
   than :data:`MAX_FILES_PER_COMMIT` shards commit the extra shards first, the card always last.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litelong_hf.layout import atomic_path
from litelong_hf.publish.errors import PushError, hub_error
from litelong_hf.publish.merge import merge_card
from litelong_hf.publish.render import CardInputs

if TYPE_CHECKING:
    import datasets
    from huggingface_hub import CommitOperationAdd, HfApi

__all__ = ["MAX_FILES_PER_COMMIT", "PushPlan", "PushResult", "publish", "write_shard"]

logger = logging.getLogger("litelong_hf.hub")

MAX_FILES_PER_COMMIT = 500
"""Shards per commit; a config with more shards is committed in several commits, the card last."""

_COMMIT_RETRIES = 5


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


@dataclass
class PushPlan:
    """Everything a push decided before the network: checked rows, shard paths, the card and the plot."""

    dataset: datasets.Dataset
    card: CardInputs
    shard_paths: list[str]
    row_group_size: int
    plot: bytes
    nbytes: int
    private: bool
    branch: str
    commit_message: str

    @property
    def config_name(self) -> str:
        return self.card.config_name


def write_shard(
    dataset: datasets.Dataset, index: int, num_shards: int, path: Path, row_group_size: int
) -> None:
    """Write shard ``index`` as parquet, ``row_group_size`` rows per row group (deterministic bytes)."""
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    shard = dataset.shard(num_shards=num_shards, index=index, contiguous=True)
    # datasets draws a bar per shard here; the upload bar already says how far we are.
    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        with atomic_path(path) as tmp:
            shard.to_parquet(tmp, batch_size=row_group_size)
    finally:
        if not was_disabled:
            enable_progress_bars()


def publish(
    plan: PushPlan,
    *,
    token: str,
    endpoint: str | None,
    tmp_dir: str | Path | None,
    say: Callable[[str], None],
) -> PushResult:
    """Create or open the repo, upload the shards, and make the commit that publishes the config."""
    from huggingface_hub import HfApi

    secrets = plan.card.secrets
    api = HfApi(endpoint=endpoint, token=token, library_name="litelong-hf")
    try:
        repo_url = api.create_repo(
            plan.card.repo_id, repo_type="dataset", private=plan.private, exist_ok=True
        )
        plan.card.repo_id = repo_url.repo_id
        if plan.branch != "main":
            api.create_branch(plan.card.repo_id, branch=plan.branch, repo_type="dataset", exist_ok=True)
    except Exception as err:
        doing = f"creating or opening the dataset repo {plan.card.repo_id!r}"
        raise hub_error(err, doing, secrets, endpoint=api.endpoint) from None

    workdir = Path(tempfile.mkdtemp(prefix="litelong-push-", dir=tmp_dir))
    try:
        additions, download_size = _upload_shards(api, plan, workdir, say)
        return _commit(api, plan, additions, download_size, say)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _upload_shards(
    api: HfApi, plan: PushPlan, workdir: Path, say: Callable[[str], None]
) -> tuple[list[CommitOperationAdd], int]:
    from huggingface_hub import CommitOperationAdd

    from litelong_hf.progress import progress_bar

    additions: list[CommitOperationAdd] = []
    download_size = 0
    paths = plan.shard_paths
    with progress_bar(f"Uploading {plan.config_name}", total=len(paths), unit="shards") as advance:
        for index, path_in_repo in enumerate(paths):
            local = workdir / Path(path_in_repo).name
            write_shard(plan.dataset, index, len(paths), local, plan.row_group_size)
            download_size += local.stat().st_size
            addition = CommitOperationAdd(path_in_repo=path_in_repo, path_or_fileobj=str(local))
            try:
                api.preupload_lfs_files(
                    plan.card.repo_id, additions=[addition], repo_type="dataset", revision=plan.branch
                )
            except Exception as err:
                doing = f"uploading shard {index + 1}/{len(paths)} ({path_in_repo})"
                raise hub_error(
                    err, doing, plan.card.secrets, endpoint=api.endpoint, resumable=True
                ) from None
            additions.append(addition)
            if getattr(addition, "_is_uploaded", False):
                local.unlink(missing_ok=True)  # its content is on the Hub; only its sha256 is needed now
            logger.debug("uploaded %s (%d/%d)", path_in_repo, index + 1, len(paths))
            advance(1)
    say(f"uploaded {len(paths)} shard(s) of {plan.config_name}")
    return additions, download_size


def _commit_data_parts(api: HfApi, plan: PushPlan, head: list[CommitOperationAdd]) -> None:
    """Intermediate commits, only for configs with very many shards; the card still comes last."""
    for start in range(0, len(head), MAX_FILES_PER_COMMIT):
        part = head[start : start + MAX_FILES_PER_COMMIT]
        try:
            api.create_commit(
                plan.card.repo_id,
                operations=list(part),
                commit_message=f"{plan.commit_message} (data part {start // MAX_FILES_PER_COMMIT + 1})",
                repo_type="dataset",
                revision=plan.branch,
            )
        except Exception as err:
            raise hub_error(
                err, "committing data files", plan.card.secrets, endpoint=api.endpoint, resumable=True
            ) from None


def _commit(
    api: HfApi,
    plan: PushPlan,
    additions: list[CommitOperationAdd],
    download_size: int,
    say: Callable[[str], None],
) -> PushResult:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import HfHubHTTPError

    repo_id, card, secrets = plan.card.repo_id, plan.card, plan.card.secrets
    dataset_info = _dataset_info_yaml(plan.dataset, plan.config_name, plan.nbytes, download_size)
    _commit_data_parts(api, plan, additions[:-MAX_FILES_PER_COMMIT])
    last_additions = additions[-MAX_FILES_PER_COMMIT:]
    for attempt in range(1, _COMMIT_RETRIES + 1):
        try:
            parent = api.repo_info(repo_id, repo_type="dataset", revision=plan.branch).sha
            if not parent:
                raise PushError(f"The Hub returned no commit for branch {plan.branch!r} of {repo_id}.")
            existing_card = _read_card(api, repo_id, parent)
            stale = _stale_files(api, repo_id, parent, plan.config_name, set(plan.shard_paths))
        except Exception as err:
            raise hub_error(
                err, "reading the current dataset card", secrets, endpoint=api.endpoint, resumable=True
            ) from None
        readme = merge_card(existing_card, card, dataset_info=dataset_info)
        operations: list[Any] = [
            *last_additions,
            CommitOperationAdd(path_in_repo=card.histogram_path, path_or_fileobj=plan.plot),
            CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=readme.encode()),
            *(CommitOperationDelete(path_in_repo=p) for p in stale),
        ]
        rows, shards = len(plan.dataset), len(plan.shard_paths)
        try:
            info = api.create_commit(
                repo_id,
                operations=operations,
                commit_message=plan.commit_message,
                commit_description=f"Config `{plan.config_name}`: {rows:,} rows in {shards} parquet file(s).",
                repo_type="dataset",
                revision=plan.branch,
                parent_commit=parent,
            )
        except Exception as err:
            status = (
                err.response.status_code
                if isinstance(err, HfHubHTTPError) and err.response is not None
                else None
            )
            if status in (409, 412) and attempt < _COMMIT_RETRIES:
                say(f"the repo changed while pushing (HTTP {status}); merging the card again")
                continue
            raise hub_error(
                err, "making the final commit", secrets, endpoint=api.endpoint, resumable=True
            ) from None
        say(f"committed {plan.config_name} to {repo_id}: {info.commit_url}")
        return PushResult(
            repo_id=repo_id,
            config_name=plan.config_name,
            commit_sha=str(info.oid),
            commit_url=str(info.commit_url),
            num_rows=rows,
            num_shards=shards,
            files=(*plan.shard_paths, card.histogram_path, "README.md"),
            deleted=tuple(stale),
        )
    raise PushError(f"Could not commit {plan.config_name}: the repo kept changing; try again.")


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
