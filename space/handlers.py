"""The handlers of the demo Space's page: generate (through ``litelong_hf.run.generate``), show, push.

Imported by ``app.py``, after it has switched gradio's and the Hub's telemetry off.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import gradio as gr
import pyarrow.parquet as pq
from inputs import (
    MIN_TOKENS,
    DemoRequest,
    SpaceInputError,
    check_upload,
    debates_topics,
    demo_config,
    min_tokens,
    strategy_presets,
)
from views import (
    hardness_markdown,
    instruction_row_view,
    length_figure,
    pretraining_row_view,
    summary_markdown,
)

import litelong_hf
from litelong_hf.progress import listen
from litelong_hf.report import RunReport
from litelong_hf.run import generate as run_generate
from litelong_hf.secrets import known_secrets, scrub_text
from litelong_hf.strategies import row_kind_of

NO_KEY = "no-key"
"""Sent as the key to a visitor's endpoint when the key field is empty: never the Space's own token."""

_generate_lock = threading.Lock()


def _run_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    return pq.read_table(run["parquet"]).to_pylist()


def _read_row(run: dict[str, Any], index: int) -> dict[str, Any]:
    rows = _run_rows(run)  # at most 8 rows of 32K tokens: small
    return rows[max(0, min(int(index), len(rows) - 1))]


class App:
    """The handlers of the page, bound to one cache folder."""

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        root = cache_dir or os.environ.get("LITELONG_HF_SPACE_CACHE")
        self.root = Path(root) if root else Path(tempfile.gettempdir()) / "litelong-hf-space"
        self.root.mkdir(parents=True, exist_ok=True)
        self.presets = strategy_presets()

    # ------------------------------------------------------------------ small endpoints
    def configs_for(self, strategy: str) -> Any:
        names = self.presets.get(strategy, [])
        known = strategy in self.presets
        debate = known and debates_topics(strategy)
        low = min_tokens(strategy) if known else MIN_TOKENS
        return (
            gr.update(value=names[0] if names else None),
            gr.update(visible=debate),
            gr.update(visible=debate),
            gr.update(minimum=low, value=max(low, 16384)),
        )

    def fields_for_config(self, config_name: str) -> Any:
        strategies = [s for s, names in self.presets.items() if config_name in names]
        return self.configs_for(strategies[0] if strategies else "")[1:]

    def check(self, corpus: str, files: list[str] | None, text_column: str) -> str:
        if corpus != "upload":
            return ""
        problem = check_upload(files, text_column)
        return f"⚠ {problem}" if problem else f"✔ {len(files or [])} file(s) ready."

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        config_name: str,
        target_tokens: float,
        num_rows: float,
        categories: list[str] | None,
        max_subcategories: float,
        corpus: str,
        files: list[str] | None,
        text_column: str,
        llm: str,
        endpoint: str,
        model: str,
        api_key: str,
        progress: gr.Progress = gr.Progress(),  # gradio injects the page's progress bar
    ) -> tuple[Any, ...]:
        """Generate rows; returns the page's outputs. Bad input gives a message, never a traceback."""
        key = (api_key or "").strip()
        start = time.monotonic()
        try:
            request = DemoRequest(
                config_name,
                int(target_tokens),
                int(num_rows),
                categories,
                int(max_subcategories),
                corpus,
                files,
                text_column,
            )
            run = self._generate(request, llm, endpoint, model, key, progress)
        except Exception as err:  # every failure becomes a message in the page
            message = scrub_text(error_message(err), known_secrets([key]))
            return (f"✘ {message}", None, None, gr.update(choices=[], value=None), None, {}, "")
        rows = _run_rows(run)
        figure = length_figure(rows, run["row_kind"])
        text = summary_markdown(run["config_name"], run["report"], time.monotonic() - start)
        return (
            f"✔ {text}",
            run,
            figure,
            gr.update(choices=[(f"row {i} · {r['id']}", i) for i, r in enumerate(rows)], value=0),
            run["parquet"],
            run["report"],
            hardness_markdown(run["report"]),
        )

    def _generate(
        self,
        request: DemoRequest,
        llm: str,
        endpoint: str,
        model: str,
        key: str,
        progress: gr.Progress,
    ) -> dict[str, Any]:
        strategy, overrides = demo_config(request, self.root)
        key_env = None
        if llm == "endpoint":
            if not (endpoint or "").strip():
                raise SpaceInputError(
                    "Give the endpoint URL (e.g. http://host:8080) or pick the embedded model."
                )
            # A fresh variable per request: one visitor's key is never seen by another visitor's run, and
            # an empty key field never lets the Space's own HF_TOKEN go to a visitor's server.
            key_env = f"LITELONG_HF_SPACE_KEY_{uuid.uuid4().hex}"
            os.environ[key_env] = key or NO_KEY
            overrides.update(endpoint=endpoint.strip(), api_key_env=key_env)
            if (model or "").strip():
                overrides["model"] = model.strip()
        try:
            return self._build(request.config_name, strategy, overrides, progress)
        finally:
            if key_env:
                os.environ.pop(key_env, None)

    def _build(
        self, config_name: str, strategy: str, overrides: dict[str, Any], progress: gr.Progress
    ) -> dict[str, Any]:
        state: dict[str, Any] = {"desc": "Starting", "done": 0, "total": None}

        def heard(description: str, completed: int, total: int | None) -> None:
            state.update(desc=description, done=completed, total=total)

        progress(0.0, desc="Waiting for the generator (one run at a time)")
        with _generate_lock:
            result: dict[str, Any] = {}

            def work() -> None:
                try:  # the run path of litelong_hf.load and `litelong-hf generate`: preflight included
                    result["run"] = run_generate(config_name, cache_dir=str(self.root / "cache"), **overrides)
                except Exception as err:  # handed to the request thread, which shows it
                    result["error"] = err

            worker = threading.Thread(target=work, name="litelong-space-generate", daemon=True)
            with listen(heard):
                worker.start()
                while worker.is_alive():
                    worker.join(0.3)
                    _show(progress, state)
            if "error" in result:
                raise result["error"]
            run = result["run"]
            out = self.root / "runs" / f"{run.config.config_hash()}-{len(run.dataset)}"
            out.mkdir(parents=True, exist_ok=True)
            parquet = out / f"{config_name}-{overrides['target_tokens'] // 1024}k.parquet"
            run.dataset.to_parquet(str(parquet), batch_size=1)
        progress(1.0, desc="Done")
        return {
            "config_name": config_name,
            "strategy": strategy,
            "row_kind": row_kind_of(strategy),
            "target_tokens": overrides["target_tokens"],
            "parquet": str(parquet),
            "report": json.loads(json.dumps(run.report.to_dict(), default=str)),
            "transcripts": run.transcripts,
        }

    # ------------------------------------------------------------------ viewing
    def show_row(
        self, run: dict[str, Any] | None, index: float | None
    ) -> tuple[str, list[list[Any]], str, list[dict[str, str]]]:
        if not run:
            note = "<p class='ll-note'>Generate rows first.</p>"
            return note, [], note, []
        row = _read_row(run, int(index or 0))
        if run["row_kind"] == "instruction":
            return instruction_row_view(row)
        return pretraining_row_view(row, run.get("transcripts") or [])

    # ------------------------------------------------------------------ publishing
    def push(
        self, run: dict[str, Any] | None, repo_id: str, config_name: str, token: str, private: bool
    ) -> str:
        secret = (token or "").strip()
        if not run:
            return "⚠ Generate rows first."
        if not secret:
            return "⚠ Paste a Hugging Face token with write access (it is used for this push only)."
        try:
            import datasets

            dataset = datasets.Dataset.from_parquet(run["parquet"], cache_dir=str(self.root / "push-cache"))
            (self.root / "push-tmp").mkdir(parents=True, exist_ok=True)
            result = litelong_hf.push_to_hub(
                dataset,
                (repo_id or "").strip(),
                config_name=(config_name or "").strip() or default_push_name(run),
                token=secret,
                private=bool(private),
                report=RunReport.from_dict(run["report"]),
                endpoint=os.environ.get("HF_ENDPOINT") or None,
                tmp_dir=str(self.root / "push-tmp"),
            )
        except Exception as err:  # every failure becomes a message in the page
            return "✘ " + scrub_text(error_message(err), known_secrets([secret]))
        return (
            f"✔ Pushed {result.num_rows} row(s) of `{result.config_name}` to "
            f"[{result.repo_id}]({result.commit_url}).  \nLoad it with `{result.load_snippet}`"
        )


def error_message(err: BaseException) -> str:
    """The message of the error that caused ``err`` (``datasets`` wraps generation errors in its own)."""
    while type(err).__name__ == "DatasetGenerationError" and err.__cause__ is not None:
        err = err.__cause__
    return str(err) or type(err).__name__


def default_push_name(run: dict[str, Any]) -> str:
    """``<preset>-demo<length>k`` (e.g. ``litelong-128k-demo16k``): the publisher wants the run's preset name,
    and the suffix tells the demo's row length."""
    return f"{run['config_name']}-demo{int(run['target_tokens']) // 1024}k"


def push_name(run: dict[str, Any] | None) -> str:
    return default_push_name(run) if run else ""


def _show(progress: gr.Progress, state: dict[str, Any]) -> None:
    total, done = state["total"], state["done"]
    if total:
        progress((min(done, total), total), desc=state["desc"], unit="steps")
    else:
        progress(None, desc=f"{state['desc']} ({done:,})" if done else state["desc"])
