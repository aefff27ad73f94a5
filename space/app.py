"""litelong-hf demo Space: generate long-context rows with every method and look inside them.

Runs on a free CPU Space and offline: no CDN fonts, no analytics, the embedded SmolLM2 model and the bundled
demo corpus by default. Generation takes the run path of ``litelong_hf.load`` and ``litelong-hf generate``
(``litelong_hf.run.generate``: the same preflight checks, the same errors, the same rows), and publishing
goes through ``litelong_hf.push_to_hub``, so what the page shows is what a user of the library gets.

This file is the page (its layout and wiring); beside it, deployed with it: ``handlers.py`` (what each
button does), ``inputs.py`` (presets, demo sizes, upload checks) and ``views.py`` (the pure views of rows,
debates and reports).

Locally::

    python space/app.py                    # http://127.0.0.1:7860
    LITELONG_HF_SPACE_CACHE=/tmp/c python space/app.py
"""

from __future__ import annotations

import os

# Before gradio / huggingface_hub are imported: no analytics or telemetry requests, ever.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("LITELONG_HF_NO_PROGRESS", "1")  # the page shows progress; keep the logs clean

import sys
from pathlib import Path
from typing import Any

import gradio as gr

from litelong_hf.presets import preset_names

sys.path.insert(0, str(Path(__file__).resolve().parent))  # handlers.py, inputs.py, views.py beside this file

from handlers import App, push_name
from inputs import (
    MAX_TOKENS,
    MIN_TOKENS,
    UPLOAD_SUFFIXES,
    SpaceInputError,
    category_choices,
    check_upload,
    demo_overrides,
    method_choices,
)
from views import PIECE_HEADERS

__all__ = ["App", "SpaceInputError", "build_app", "check_upload", "demo_overrides", "launch"]

TITLE = "litelong-hf: long-context training data from short documents"


# ============================================================================ page


CSS = """
.ll-legend { padding: 2px 8px; border-radius: 4px; margin-right: 6px; font-size: 12px; }
.ll-piece { border-bottom: 1px solid rgba(0,0,0,.15); }
.ll-piece:hover { outline: 2px solid #555; }
.ll-note { color: #666; font-size: 13px; }
"""

SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")

CORPUS_CHOICES = [
    ("Demo corpus (3,824 news articles)", "demo"),
    ("Upload .jsonl / .parquet / .txt", "upload"),
]
"""The corpus radio's (label, value) pairs; ``handlers.App`` reads the value."""
LLM_CHOICES = [("Embedded SmolLM2-135M (CPU)", "embedded"), ("OpenAI-compatible / TGI endpoint", "endpoint")]
"""The LLM radio's (label, value) pairs; ``handlers.App`` reads the value."""


def theme() -> gr.themes.Base:
    """The default theme with system fonts only: nothing is fetched from a font CDN."""
    return gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS))


def build_app(cache_dir: str | Path | None = None) -> gr.Blocks:
    """The page. ``cache_dir``: indexes, LLM answers, rows and uploads (default ``$LITELONG_HF_SPACE_CACHE``
    or the system temp folder)."""
    app = App(cache_dir)
    methods = method_choices()
    first = methods[0][1]
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        run = gr.State(None)
        gr.Markdown(
            f"# {TITLE}\nPick a method, generate a few rows of 8K–32K tokens on the embedded SmolLM2-135M "
            "(or your endpoint) and look inside: each piece of a row shaded by role, LiteLong's topic debate, "
            "hierarchical QA as a chat, NExtLong's hardness. Real runs use 64K–1M tokens: "
            '`litelong_hf.load("litelong-128k")`.'
        )
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                method = gr.Radio(methods, value=first, label="Method")
                first_presets = app.presets.get(first, [])
                config = gr.Dropdown(
                    preset_names(),
                    value=first_presets[0] if first_presets else None,
                    label="Config (preset)",
                )
                target = gr.Slider(
                    MIN_TOKENS, MAX_TOKENS, value=16384, step=1024, label="Target tokens per row"
                )
                num_rows = gr.Slider(1, 8, value=2, step=1, label="Rows")
                categories = gr.Dropdown(
                    category_choices(), value=["POL"], multiselect=True, label="LiteLong categories (BISAC)"
                )
                subcats = gr.Slider(1, 3, value=1, step=1, label="Subcategories to debate")
                corpus = gr.Radio(CORPUS_CHOICES, value="demo", label="Corpus")
                with gr.Accordion("Upload a corpus", open=False):
                    files = gr.File(
                        file_count="multiple",
                        file_types=list(UPLOAD_SUFFIXES),
                        type="filepath",
                        label="Corpus files (one format)",
                    )
                    text_column = gr.Textbox("text", label="Text column (.jsonl / .parquet)")
                upload_note = gr.Markdown(elem_id="upload-note")
                llm = gr.Radio(LLM_CHOICES, value="embedded", label="LLM")
                with gr.Accordion("Endpoint", open=False):
                    endpoint = gr.Textbox(label="Endpoint URL", placeholder="http://tgi-host:8080")
                    model = gr.Textbox(label="Model name (optional)")
                    api_key = gr.Textbox(label="Endpoint key (optional, never stored)", type="password")
                go = gr.Button("Generate", variant="primary", elem_id="generate")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="status")
                with gr.Tabs():
                    with gr.Tab("Rows"):
                        row_index = gr.Dropdown([], label="Row", elem_id="row-index")
                        row_view = gr.HTML(elem_id="row-view")
                        pieces = gr.Dataframe(headers=PIECE_HEADERS, label="Pieces", interactive=False)
                    with gr.Tab("Debate"):
                        debate = gr.HTML(elem_id="debate-view")
                    with gr.Tab("Chat (hierarchical)"):
                        chat = gr.Chatbot(label="Hierarchical QA row", height=520)
                    with gr.Tab("Lengths"):
                        plot = gr.Plot(label="Token lengths")
                    with gr.Tab("Report"):
                        hardness = gr.Markdown("NExtLong hardness figures appear here for NExtLong runs.")
                        report = gr.JSON(label="Run report")
                    with gr.Tab("Download & publish"):
                        download = gr.File(label="Rows as parquet", interactive=False)
                        repo_id = gr.Textbox(label="Dataset repo", placeholder="me/my-long-data")
                        push_config = gr.Textbox(label="Config name on the Hub")
                        hub_token = gr.Textbox(label="Hugging Face token (write)", type="password")
                        private = gr.Checkbox(label="Private repo")
                        push_button = gr.Button("Push to the Hub")
                        push_status = gr.Markdown(elem_id="push-status")

        config.input(app.fields_for_config, [config], [categories, subcats, target], api_visibility="private")
        method.change(
            app.configs_for, [method], [config, categories, subcats, target], api_name="configs", queue=False
        )
        gr.on(
            [files.change, corpus.change, text_column.change],
            app.check,
            [corpus, files, text_column],
            [upload_note],
            api_name="check_upload",
        )
        go.click(
            app.generate,
            [
                config,
                target,
                num_rows,
                categories,
                subcats,
                corpus,
                files,
                text_column,
                llm,
                endpoint,
                model,
                api_key,
            ],
            [status, run, plot, row_index, download, report, hardness],
            api_name="generate",
            concurrency_limit=1,
            concurrency_id="generate",
        ).then(
            app.show_row,
            [run, row_index],
            [row_view, pieces, debate, chat],
            api_name="show_first_row",
            api_visibility="private",
        ).then(push_name, [run], [push_config], api_name="push_name", api_visibility="private")
        row_index.input(app.show_row, [run, row_index], [row_view, pieces, debate, chat], api_name="show_row")
        push_button.click(
            app.push, [run, repo_id, push_config, hub_token, private], [push_status], api_name="push"
        )
    demo.queue(default_concurrency_limit=4)
    return demo


def launch(demo: gr.Blocks, **kwargs: Any) -> Any:
    """``demo.launch`` with the page's theme and CSS (gradio 6 takes them at launch)."""
    kwargs.setdefault("theme", theme())
    kwargs.setdefault("css", CSS)
    kwargs.setdefault("show_error", False)
    kwargs.setdefault("ssr_mode", False)  # no Node server process: the page is served by Python alone
    return demo.launch(**kwargs)


def main() -> None:
    launch(build_app(), server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"))


if __name__ == "__main__":
    main()
