"""Publish generated rows to the Hugging Face Hub: parquet shards with small row groups plus a dataset card.

``push_to_hub(ds, "me/my-long-data", config_name="litelong-128k")`` puts the rows of one config under
``litelong-128k/train-00000-of-0000N.parquet``, the token-length plot under
``assets/litelong-128k-token-lengths.png`` and (re)writes ``README.md``, whose YAML ``configs:`` makes the
config loadable with ``datasets.load_dataset("me/my-long-data", "litelong-128k")``.

How a push goes (the parts live in :mod:`litelong_hf.publish`):

1. **Validate before the network** (:mod:`~litelong_hf.publish.names`, :mod:`~litelong_hf.publish.checks`):
   repo id, config name, row schema, a non-empty dataset, consistent token counts, sizes, a run report that
   belongs to the config, and that a token can be found. The card is rendered here too, so a card that
   cannot be rendered fails before any upload.
2. **Upload, then one commit** (:mod:`~litelong_hf.publish.upload`): shards are uploaded as LFS objects
   that stay invisible until the last commit publishes shards, plot and merged card together; a failed push
   publishes nothing and running it again resumes it.

The token comes from the ``token`` argument, else ``HF_TOKEN``, else the saved login (``hf auth login``);
it is never logged, printed or written in the card, and errors are scrubbed of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from litelong_hf.publish.checks import (
    DEFAULT_MAX_SHARD_SIZE,
    arrow_nbytes,
    check_dataset,
    check_report,
    check_row_group_size,
    choose_row_group_size,
    parse_size,
    plan_num_shards,
    resolve_token,
)
from litelong_hf.publish.errors import PushError, PushValidationError
from litelong_hf.publish.names import (
    expected_schema,
    histogram_path,
    shard_paths,
    validate_config_name,
    validate_repo_id,
)
from litelong_hf.publish.plot import render_length_histogram
from litelong_hf.publish.render import CardInputs, preview_row, render_config_section
from litelong_hf.publish.rundir import LoadedRun, load_run_dir
from litelong_hf.publish.stats import compute_stats
from litelong_hf.publish.upload import MAX_FILES_PER_COMMIT, PushPlan, PushResult, publish, write_shard
from litelong_hf.report import RunReport
from litelong_hf.secrets import known_secrets, scrub_text

if TYPE_CHECKING:
    import datasets

__all__ = [
    "DEFAULT_MAX_SHARD_SIZE",
    "MAX_FILES_PER_COMMIT",
    "LoadedRun",
    "PushError",
    "PushResult",
    "PushValidationError",
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
    "write_shard",
]

logger = logging.getLogger(__name__)


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
            (see :mod:`litelong_hf.publish.render` for the ``extra`` keys). A report of another config
            (``report.config_name``) is refused.
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
        PushError: the Hub refused, failed or could not be reached; nothing new is visible and running the
            same push again resumes it (uploaded shards are not sent twice).

    Example::

        result = push_to_hub(ds, "me/my-long-data", config_name="litelong-128k", report=report)
        print(result.load_snippet)
    """
    validate_repo_id(repo_id)
    validate_config_name(config_name)
    rows, schema = check_dataset(dataset, config_name)
    report = check_report(report, config_name)
    max_shard_bytes = parse_size(max_shard_size)
    nbytes = arrow_nbytes(rows)
    row_group_size = check_row_group_size(row_group_size, len(rows), nbytes)
    if commit_message is not None and not commit_message.strip():
        raise PushValidationError("commit_message is empty; leave it out for the default message.")
    resolved_token = resolve_token(token)
    secrets = known_secrets([resolved_token])
    say = progress or (lambda line: logger.info("%s", line))

    num_shards = plan_num_shards(len(rows), nbytes, max_shard_bytes)
    stats = compute_stats(rows, config_name, schema)
    card = CardInputs(
        repo_id=repo_id,
        config_name=config_name,
        stats=stats,
        data_files=f"{config_name}/train-*",
        histogram_path=histogram_path(config_name),
        preview=preview_row(rows[0], schema),
        report=report,
        num_shards=num_shards,
        row_group_size=row_group_size,
        secrets=secrets,
    )
    render_config_section(card)  # a card that cannot be rendered fails here, before any upload
    plan = PushPlan(
        dataset=rows,
        card=card,
        shard_paths=shard_paths(config_name, num_shards),
        row_group_size=row_group_size,
        plot=render_length_histogram(
            stats.row_lengths,
            stats.piece_lengths,
            title=f"{config_name}: {stats.num_rows:,} rows, {stats.total_tokens:,} tokens",
            piece_label="tokens per piece" if schema == "pretraining" else "tokens per document",
        ),
        nbytes=nbytes,
        private=private,
        branch=revision or "main",
        commit_message=commit_message or f"Add config {config_name} ({len(rows):,} rows) with litelong-hf",
    )
    say(f"{config_name}: {len(rows):,} rows, {stats.total_tokens:,} tokens -> {num_shards} shard(s)")
    try:
        return publish(plan, token=resolved_token, endpoint=endpoint, tmp_dir=tmp_dir, say=say)
    except PushError as err:
        raise type(err)(scrub_text(str(err), secrets)) from None
