"""Who answers the suite: a transformers model, any OpenAI-compatible / TGI endpoint, the embedded model.

A runner has a ``tokenizer`` (the suite is generated in it, so lengths are exact for that model), a
``max_positions`` (checked before anything runs) and ``generate(samples) -> predictions``.

:func:`oracle_answer` solves every task by reading the prompt (it never looks at the references), so a
:class:`ScriptedRunner` around it must score 100%: a check of the suite itself (``--oracle``).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from .ruler import Sample, SuiteError, Tokenizer

TEMPLATE_MARGIN = 64
"""Tokens reserved for a chat template around the prompt when checking a model's positions."""


class EvalError(RuntimeError):
    """An evaluation cannot run as asked (model too short, endpoint unreachable, ...); the message says
    what to change."""


class LengthBeyondModelError(EvalError):
    """A requested length does not fit the model's positions."""


class Runner(Protocol):
    """Something that answers samples."""

    name: str
    tokenizer: Tokenizer
    max_positions: int | None
    """Positions the model was trained for (``None``: unknown, not checked)."""

    def generate(self, samples: Sequence[Sample]) -> list[str]: ...


def check_positions(runner: Runner, lengths: Sequence[int], max_new_tokens: int, allow_longer: bool) -> None:
    """Raise :class:`LengthBeyondModelError` when the longest sample cannot fit the model's positions."""
    if runner.max_positions is None or allow_longer:
        return
    need = max(lengths) + max_new_tokens + TEMPLATE_MARGIN
    if need > runner.max_positions:
        fitting = runner.max_positions - max_new_tokens - TEMPLATE_MARGIN
        raise LengthBeyondModelError(
            f"length {max(lengths):,} (+{max_new_tokens} generated tokens and the chat template) is beyond "
            f"the {runner.max_positions:,} positions of {runner.name}. Evaluate --lengths up to {fitting:,}, "
            "or pass --allow-longer to run past the trained positions (the model then extrapolates, e.g. "
            "after RoPE scaling with `litelong-hf train`)."
        )


# --------------------------------------------------------------------------------------------- scripted


@dataclass
class ScriptedRunner:
    """Answers with a Python function of the sample: the oracle, a deliberately wrong model, a replay."""

    name: str
    answer: Callable[[Sample], str]
    tokenizer: Tokenizer
    max_positions: int | None = None

    def generate(self, samples: Sequence[Sample]) -> list[str]:
        return [self.answer(s) for s in samples]


_NEEDLE = re.compile(r"One of the special magic \w+ for ([\w-]+) is: ([\w-]+)\.")
_QUESTION_KEYS = re.compile(r"special magic \w+ for (.+?) mentioned in the provided text\?")
_PASSKEY = re.compile(r"The pass key is (\d+)\.")
_ASSIGN = re.compile(r"VAR ([A-Z]{5}) = (?:VAR )?(\w+)\.")
_VT_VALUE = re.compile(r"assigned the value (\d+) in the text above")
_CWE_N = re.compile(r"What are the (\d+) most common words")
_CWE_ITEM = re.compile(r"\d+\. ([a-z]+)")


def oracle_answer(sample: Sample) -> str:
    """The right answer, found by reading ``sample.input`` the way a perfect model would."""
    text = sample.input
    if sample.task.startswith("niah"):
        asked = _QUESTION_KEYS.search(text)
        if asked is None:
            return ""
        keys = re.split(r", | and ", asked.group(1))
        values = [value for key, value in _NEEDLE.findall(text) if key in keys]
        return ", ".join(values)
    if sample.task == "passkey":
        found = _PASSKEY.search(text)
        return found.group(1) if found else ""
    if sample.task == "vt":
        value = _VT_VALUE.search(text)
        if value is None:
            return ""
        children: dict[str, list[str]] = {}
        for name, source in _ASSIGN.findall(text):
            children.setdefault(source, []).append(name)
        found_names: list[str] = []
        queue = deque([value.group(1)])
        while queue:
            for name in children.get(queue.popleft(), []):
                found_names.append(name)
                queue.append(name)
        return " ".join(found_names)
    if sample.task == "cwe":
        n = _CWE_N.search(text)
        words = Counter(_CWE_ITEM.findall(text))
        return ", ".join(w for w, _ in words.most_common(int(n.group(1)) if n else 10))
    raise SuiteError(f"the oracle does not know task {sample.task!r}")


def wrong_answer(sample: Sample) -> str:
    """An answer that is always wrong (for tests and as a floor)."""
    del sample
    return "I could not find it."


# ------------------------------------------------------------------------------------------------ LLM layer


class LlamaCppTokenizer:
    """The tokenizer inside a GGUF file (vocabulary only, no weights loaded)."""

    def __init__(self, model_path: str | Path) -> None:
        from llama_cpp import Llama
        from llama_cpp._utils import suppress_stdout_stderr

        self.name = f"gguf:{Path(model_path).name}"
        # A vocabulary-only load still warns about the (absent) trained window on stderr: keep it quiet.
        with suppress_stdout_stderr(disable=False):
            self._llama = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
        context = self._llama.metadata.get(
            f"{self._llama.metadata.get('general.architecture', 'llama')}.context_length"
        )
        self.n_ctx_train: int | None = int(context) if context else None

    def encode(self, text: str) -> list[int]:
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def decode(self, ids: Sequence[int]) -> str:
        return bytes(self._llama.detokenize(list(ids))).decode("utf-8", errors="replace")


class LLMRunner:
    """Any :class:`litelong_hf.llm.ChatLLM` (an endpoint or the embedded model), greedy, one user turn."""

    def __init__(self, llm: Any, tokenizer: Tokenizer, max_positions: int | None) -> None:
        self.llm = llm
        self.name = str(llm.model_id)
        self.tokenizer = tokenizer
        self.max_positions = max_positions
        self.skipped = 0
        """Samples the backend refused as too long for its window (scored 0)."""

    def generate(self, samples: Sequence[Sample]) -> list[str]:
        from ..llm import ChatRequest

        requests = [
            ChatRequest(
                messages=[{"role": "user", "content": s.input}],
                temperature=0.0,
                top_p=1.0,
                max_tokens=s.max_new_tokens,
                seed=0,
            )
            for s in samples
        ]
        results = self.llm.chat_many_sync(requests)
        self.skipped += sum(1 for r in results if r.error)
        return [r.text for r in results]


def embedded_runner(max_length: int, max_new_tokens: int, model_path: str | None = None) -> LLMRunner:
    """The packaged SmolLM2 (or ``model_path``) in process, with a window that fits the longest sample."""
    from ..llm import EmbeddedLLM, LLMConfig
    from ..resources import smollm2_gguf_path

    path = model_path or str(smollm2_gguf_path())
    try:
        tokenizer = LlamaCppTokenizer(path)
    except ImportError as exc:
        raise EvalError(
            "the embedded model needs llama-cpp-python: pip install 'litelong-hf[local]'"
        ) from exc
    n_ctx = max_length + max_new_tokens + TEMPLATE_MARGIN
    llm = EmbeddedLLM(LLMConfig(n_ctx=n_ctx, model_path=path))
    return LLMRunner(llm, tokenizer, tokenizer.n_ctx_train)


def endpoint_runner(
    endpoint: str, *, model: str | None = None, tokenizer: str = "llama-3", api_key_env: str | None = None
) -> LLMRunner:
    """An OpenAI-compatible / TGI endpoint; ``tokenizer`` names the served model's tokenizer."""
    from ..llm import LLMConfig, LLMError, build_llms
    from ..tokens import TokenCounter

    kwargs: dict[str, Any] = {"endpoint": endpoint, "model": model}
    if api_key_env:
        kwargs["api_key_env"] = api_key_env
    try:
        llm = build_llms(LLMConfig(**kwargs), needed=("qa",), probe=True)["qa"]
    except LLMError as exc:
        raise EvalError(f"{exc}") from None
    return LLMRunner(llm, TokenCounter.get(tokenizer), int(llm.context_window))


# ------------------------------------------------------------------------------------------------ transformers


class _HFTokenizer:
    def __init__(self, tokenizer: Any, name: str) -> None:
        self.tokenizer = tokenizer
        self.name = name

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=False))


class TransformersRunner:
    """A causal LM from a local folder or a Hub id, greedy, through its own tokenizer and chat template."""

    def __init__(self, model: str, *, device: str | None = None) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            from ..tokens import aligned_hf_tokenizer
        except ImportError as exc:
            raise EvalError("transformers models need: pip install 'litelong-hf[train]'") from exc
        try:
            hf_tokenizer = aligned_hf_tokenizer(AutoTokenizer.from_pretrained(model))
            self.model: Any = cast(Any, AutoModelForCausalLM.from_pretrained(model, dtype="auto"))
        except (OSError, ValueError) as exc:
            raise EvalError(
                f"cannot load transformers model {model!r} ({type(exc).__name__}): pass a local folder with "
                "config.json, weights and a tokenizer, or a Hub id while online"
            ) from None
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.name = model
        self._hf = hf_tokenizer
        self.tokenizer: Tokenizer = _HFTokenizer(hf_tokenizer, model)
        positions = getattr(self.model.config, "max_position_embeddings", None)
        self.max_positions: int | None = int(positions) if positions else None

    def _prompt_ids(self, text: str) -> list[int]:
        tok = self._hf
        if getattr(tok, "chat_template", None):
            rendered = tok.apply_chat_template(
                [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
            )
            return list(tok(rendered, add_special_tokens=False)["input_ids"])
        ids = self.tokenizer.encode(text)
        return [tok.bos_token_id, *ids] if tok.bos_token_id is not None else ids

    def generate(self, samples: Sequence[Sample]) -> list[str]:
        import torch

        tok = self._hf
        out: list[str] = []
        for sample in samples:
            ids = torch.tensor([self._prompt_ids(sample.input)], device=self.device)
            with torch.no_grad():
                generated = self.model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=sample.max_new_tokens,
                    do_sample=False,
                    pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                )
            out.append(str(tok.decode(generated[0, ids.shape[1] :].tolist(), skip_special_tokens=True)))
        return out
