"""The embedded backend: the packaged SmolLM2-135M-Instruct GGUF, in process, through ``llama_cpp.Llama``.

It is the default when no endpoint is configured, so everything runs offline. One model instance per
process and (file, n_ctx, threads), loaded on first use (0.15 s, 0.2 GB). llama.cpp is not thread-safe and
generates one answer at a time, so generation runs on a single dedicated worker thread (the event loop stays
free) behind a lock (for callers that share the instance from other threads).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litelong_hf.llm.base import ChatLLM, ChatRequest, RawCompletion
from litelong_hf.llm.cache import RequestCache
from litelong_hf.llm.config import LLMConfig
from litelong_hf.llm.dialects import schema_fields
from litelong_hf.llm.errors import ContextLengthExceeded, LLMConfigError

_INSTALL_HINT = "pip install 'litelong-hf[local]'  (llama-cpp-python; its first install compiles for ~6 min)"


@dataclass
class _LoadedModel:
    llama: Any  # llama_cpp.Llama; typed loosely so the module imports without llama_cpp installed
    lock: threading.Lock
    executor: ThreadPoolExecutor


_models: dict[tuple[str, int, int], _LoadedModel] = {}
_models_lock = threading.Lock()


def default_threads() -> int:
    """Generation threads when the config does not say: half the logical CPUs, between 1 and 4.

    Half, because ``os.cpu_count`` counts hyper-threads and llama.cpp's threads spin-wait on each other: on
    a busy machine, one thread per physical core measured 2-5x faster than one per logical CPU (2 cores,
    shared). Beyond 4 threads a 135M model gains little.
    """
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def _close_all() -> None:
    """Free every loaded model while the interpreter is still whole.

    Left to garbage collection at exit, ``Llama.__del__`` runs after llama_cpp's module globals are gone and
    prints a ``TypeError`` traceback for each model.
    """
    with _models_lock:
        loaded = list(_models.values())
        _models.clear()
    for model in loaded:
        model.executor.shutdown(wait=True)
        model.llama.close()


def _load(model_path: str, n_ctx: int, threads: int) -> _LoadedModel:
    key = (model_path, n_ctx, threads)
    with _models_lock:
        loaded = _models.get(key)
        if loaded is None:
            if not _models:
                atexit.register(_close_all)
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LLMConfigError(f"The embedded model needs llama-cpp-python: {_INSTALL_HINT}") from exc
            if not Path(model_path).is_file():
                raise LLMConfigError(f"Model file {model_path} does not exist; set model_path to a GGUF file")
            # n_ctx is always explicit: llama.cpp would default to 512 tokens, far below SmolLM2's 8192.
            from litelong_hf.resources import EMBEDDED_CHAT_FORMATS

            chat_format = EMBEDDED_CHAT_FORMATS.get(Path(model_path).name)  # None: the GGUF's own template
            llama = Llama(
                model_path=model_path, n_ctx=n_ctx, n_threads=threads, verbose=False, chat_format=chat_format
            )
            loaded = _LoadedModel(
                llama=llama,
                lock=threading.Lock(),
                executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="litelong-hf-embedded"),
            )
            _models[key] = loaded
        return loaded


class EmbeddedLLM(ChatLLM):
    """A :class:`ChatLLM` running a GGUF model in this process (default: the packaged SmolLM2-135M-Instruct)."""

    def __init__(self, config: LLMConfig | None = None, *, cache: RequestCache | None = None) -> None:
        super().__init__(cache=cache)
        self.config = config or LLMConfig()
        from litelong_hf.resources import embedded_gguf_path

        self.model_path = embedded_gguf_path(self.config.model, self.config.model_path)
        self.threads = self.config.threads or default_threads()

    def __repr__(self) -> str:
        return f"EmbeddedLLM({self.model_path.name!r}, n_ctx={self.config.n_ctx}, threads={self.threads})"

    @property
    def model_id(self) -> str:
        return f"embedded/{self.model_path.name}"

    @property
    def context_window(self) -> int:
        return self.config.n_ctx

    @property
    def max_concurrency(self) -> int:
        return 1

    def _model(self) -> _LoadedModel:
        return _load(str(self.model_path), self.config.n_ctx, self.threads)

    async def _complete(self, request: ChatRequest) -> RawCompletion:
        model = self._model()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(model.executor, self._generate, model, request)

    def _generate(self, model: _LoadedModel, request: ChatRequest) -> RawCompletion:
        kwargs: dict[str, Any] = {}
        if request.schema is not None:
            # llama_cpp's create_chat_completion takes the same form as its server (grammar from the schema).
            kwargs.update(schema_fields("llamacpp", request.schema))
        with model.lock:
            try:
                output = model.llama.create_chat_completion(
                    messages=[dict(m) for m in request.messages],
                    temperature=request.temperature,
                    top_p=request.top_p,
                    max_tokens=request.max_tokens,
                    seed=request.seed,
                    **kwargs,
                )
            except ValueError as exc:
                if "context window" in str(exc) or "exceed" in str(exc):
                    raise ContextLengthExceeded(str(exc)) from None
                raise
        choice = output["choices"][0]
        usage = output.get("usage") or {}
        return RawCompletion(
            text=choice["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
