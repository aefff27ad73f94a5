"""Client side of the publishing tests, run in a subprocess with HF_ENDPOINT pointing at the local Hub.

    python _hub_client.py push RUN_DIR REPO CONFIG [--max-shard-size S] [--row-group-size N] [--private]
    python _hub_client.py load REPO CONFIG OUT_DIR
    python _hub_client.py cli push RUN_DIR REPO --config CONFIG ...
    python _hub_client.py cli-batch ARGV_LISTS.json      (several push commands in one process)

The last stdout line is a JSON payload. ``LITELONG_TEST_NO_BACKOFF=1`` skips the sleeps of
huggingface_hub's retry backoff (the retries still happen) so failure tests stay fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
from typing import Any


class _NoSleep:
    """Stands in for the ``time`` module inside huggingface_hub's HTTP helpers: same, without sleeping."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        return None


def _setup() -> None:
    # Debug logs of huggingface_hub and litelong_hf go to stderr, which the tests scan for the token.
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("urllib3", "fsspec", "filelock", "matplotlib", "PIL", "httpcore2", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if os.environ.get("LITELONG_TEST_NO_BACKOFF") == "1":
        import huggingface_hub.utils._http as http_module

        http_module.time = _NoSleep()  # type: ignore[assignment]


def _push(args: argparse.Namespace) -> dict[str, Any]:
    from litelong_hf.hub import load_run_dir, push_to_hub

    run = load_run_dir(args.run_dir)
    result = push_to_hub(
        run.dataset,
        args.repo,
        config_name=args.config,
        report=run.report,
        private=args.private,
        max_shard_size=args.max_shard_size,
        row_group_size=args.row_group_size,
        progress=lambda line: print(f"progress: {line}", file=sys.stderr),
    )
    return {
        "repo_id": result.repo_id,
        "config_name": result.config_name,
        "commit_sha": result.commit_sha,
        "num_shards": result.num_shards,
        "files": list(result.files),
        "deleted": list(result.deleted),
        "load_snippet": result.load_snippet,
    }


def _load(args: argparse.Namespace) -> dict[str, Any]:
    import datasets

    loaded = datasets.load_dataset(args.repo, args.config, split="train")
    loaded.save_to_disk(args.out_dir)
    return {"num_rows": len(loaded), "features": str(loaded.features)}


def _cli_many(argvs: list[list[str]]) -> list[dict[str, Any]]:
    """Run the push command once per argv, in this process; what each printed and how it ended."""
    import typer
    from hub_fixtures import push_command_module
    from typer.testing import CliRunner

    app = typer.Typer()
    push_command_module().register(app)

    @app.callback()
    def _root() -> None:
        """Test app holding only the push command."""

    results = []
    for argv in argvs:
        result = CliRunner().invoke(app, argv)
        escaped = result.exception if not isinstance(result.exception, SystemExit) else None
        results.append(
            {
                "exit_code": result.exit_code,
                "output": result.output,
                "exception": type(escaped).__name__ if escaped is not None else None,
            }
        )
    return results


def _cli(argv: list[str]) -> dict[str, Any]:
    return _cli_many([argv])[0]


def main() -> int:
    _setup()
    if sys.argv[1] == "cli":
        payload = _cli(sys.argv[2:])
        print(json.dumps({"ok": payload["exit_code"] == 0, **payload}))
        return 0
    if sys.argv[1] == "cli-batch":
        with open(sys.argv[2], encoding="utf-8") as handle:
            argvs = json.load(handle)
        print(json.dumps({"ok": True, "results": _cli_many(argvs)}))
        return 0
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    push = sub.add_parser("push")
    push.add_argument("run_dir")
    push.add_argument("repo")
    push.add_argument("config")
    push.add_argument("--max-shard-size", default="100MB")
    push.add_argument("--row-group-size", type=int, default=None)
    push.add_argument("--private", action="store_true")
    load = sub.add_parser("load")
    load.add_argument("repo")
    load.add_argument("config")
    load.add_argument("out_dir")
    args = parser.parse_args()
    try:
        result = _push(args) if args.command == "push" else _load(args)
    except Exception as err:
        print(
            json.dumps(
                {
                    "ok": False,
                    "error_type": type(err).__name__,
                    "error": str(err),
                    "repr": repr(err),
                    "traceback": "".join(traceback.format_exception(err)),
                }
            )
        )
        return 3
    print(json.dumps({"ok": True, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
