"""Long-range dependency scores: how much a small LM gains from a row's long context.

Two scores share the LM and the settings:

- :func:`dependency_cross` (``dependency_cross``, the headline): how much the OTHER pieces of a row help
  predict one of its pieces. A tail of ``tail`` tokens is taken inside a piece that is not the row's
  first, ``short_context`` tokens after that piece's start. It is scored given the ``window - tail``
  tokens before it (crossing into the earlier pieces) and given only its own piece's ``short_context``
  tokens before it. Unrelated pieces (random concatenation) help nothing beyond the piece's own start: the
  gain is about zero. Related pieces (one topic's documents, meta-chunks of one document) help.
- :func:`dependency_gain` (``dependency_local``): windows sampled anywhere in the row, pieces ignored.

For a sampled window of ``window`` LM tokens, the last ``tail`` tokens are scored twice: given the whole
window before them, and given only the ``short_context`` tokens right before them. The score is the mean
log-probability gain in nats per token (full minus short). A row cut from one long coherent document
gains (names, topic and facts from far back help); a random concatenation of short documents hardly
does (what lies further back is about something else).

Two LMs compute log-probabilities:

- :class:`LlamaCppLM` (default): the packaged SmolLM2 through llama.cpp, 2 CPU cores are enough. Logits
  are requested only for the tail positions of each batch, so memory stays at one vocabulary row per
  scored token (``Llama(logits_all=True)`` would hold ``n_ctx x vocabulary`` floats: 1.6 GB at 8K).
- :class:`TransformersLM`: any causal LM (``AutoModelForCausalLM``), on a GPU where there is one.

Example::

    lm = LlamaCppLM(window=2048)
    gain = dependency_gain(lm, rows_texts, DependencyConfig(window=2048))
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np


class DependencyError(ValueError):
    """The dependency score cannot be computed as configured; the message names the fix."""


@dataclass(frozen=True)
class DependencyConfig:
    """How windows are sampled and scored."""

    window: int = field(default=2048, metadata={"help": "LM tokens per scored window (<= the LM's window)."})
    short_context: int = field(
        default=256, metadata={"help": "Tokens of recent context in the short-context pass."}
    )
    tail: int = field(
        default=128, metadata={"help": "Last tokens of each window whose log-probs are compared."}
    )
    windows_per_row: int = field(default=2, metadata={"help": "Windows sampled from each row."})
    max_rows: int = field(default=8, metadata={"help": "Rows sampled from the set (seeded)."})
    seed: int = field(default=0, metadata={"help": "Seed of the row and window sampling."})

    def __post_init__(self) -> None:
        if min(self.window, self.short_context, self.tail, self.windows_per_row, self.max_rows) < 1:
            raise DependencyError("window, short_context, tail, windows_per_row and max_rows must be >= 1")
        if self.short_context + self.tail >= self.window:
            raise DependencyError(
                f"short_context ({self.short_context}) + tail ({self.tail}) must be below window "
                f"({self.window}); otherwise the long context adds nothing to compare"
            )


class LogProbLM(Protocol):
    """A causal LM that scores token ids."""

    name: str
    max_window: int

    def tokenize(self, text: str) -> list[int]: ...

    def tail_logprobs(self, ids: Sequence[int], n_tail: int) -> np.ndarray:
        """``log p(ids[i] | ids[:i])`` for the last ``n_tail`` positions, in order."""
        ...


def _log_softmax_at(logits: np.ndarray, target: int) -> float:
    peak = float(logits.max())
    return float(logits[target]) - peak - math.log(float(np.exp(logits - peak).sum()))


class LlamaCppLM:
    """A GGUF model (default: the packaged SmolLM2-135M-Instruct) scored through llama.cpp."""

    def __init__(self, window: int = 2048, model_path: str | None = None, threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise DependencyError(
                "the embedded LM needs llama-cpp-python: pip install 'litelong-hf[local]'"
            ) from exc
        from ..llm.embedded import default_threads
        from ..resources import smollm2_gguf_path

        path = Path(model_path) if model_path else smollm2_gguf_path()
        self.path = path
        self.name = f"llama.cpp/{path.name}"
        self.n_batch = 512
        self.llama = Llama(
            model_path=str(path),
            n_ctx=window,
            n_batch=self.n_batch,
            n_threads=threads or default_threads(),
            verbose=False,
        )
        trained = self.llama.metadata.get(
            f"{self.llama.metadata.get('general.architecture', 'llama')}.context_length"
        )
        self.max_window = min(window, int(trained)) if trained else window
        self.n_vocab = int(self.llama.n_vocab())

    def tokenize(self, text: str) -> list[int]:
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def evaluate(self, ids: Sequence[int], scored_from: int | None = None) -> list[float]:
        """Run ``ids`` through the model; log-probs of every token from position ``scored_from`` on.

        With ``scored_from=None`` nothing is scored (a plain evaluation, the benchmark's reference).
        """
        import llama_cpp

        ctx = self.llama._ctx  # the high-level API has no per-position logits without logits_all
        batch = self.llama._batch
        ctx.kv_cache_clear()
        out: list[float] = []
        n = len(ids)
        for start in range(0, n, self.n_batch):
            chunk = list(ids[start : start + self.n_batch])
            batch.set_batch(batch=chunk, n_past=start, logits_all=False)
            wanted = []
            for i in range(len(chunk)):
                pos = start + i
                # logits at position pos predict token pos + 1
                want = scored_from is not None and scored_from - 1 <= pos < n - 1
                batch.batch.logits[i] = want
                if want:
                    wanted.append(i)
            if not wanted:
                batch.batch.logits[len(chunk) - 1] = True  # llama.cpp wants at least one output
            ctx.decode(batch)
            for i in wanted:
                row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, i), shape=(self.n_vocab,))
                out.append(_log_softmax_at(row, int(ids[start + i + 1])))
        return out

    def tail_logprobs(self, ids: Sequence[int], n_tail: int) -> np.ndarray:
        if len(ids) > self.max_window:
            raise DependencyError(f"{len(ids)} tokens exceed the LM window of {self.max_window}")
        return np.asarray(self.evaluate(ids, scored_from=len(ids) - n_tail), dtype=np.float64)


class TransformersLM:
    """Any ``AutoModelForCausalLM`` (local folder or Hub id), on CUDA when available."""

    def __init__(self, model: str, window: int = 2048, device: str | None = None) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            from ..tokens import aligned_hf_tokenizer
        except ImportError as exc:
            raise DependencyError("transformers LMs need: pip install 'litelong-hf[train]'") from exc
        try:
            self.tokenizer: Any = aligned_hf_tokenizer(AutoTokenizer.from_pretrained(model))
            self.model: Any = cast(Any, AutoModelForCausalLM.from_pretrained(model, dtype="auto"))
        except (OSError, ValueError) as exc:
            raise DependencyError(
                f"cannot load {model!r} ({type(exc).__name__}): pass a local model folder or a Hub id while online"
            ) from None
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.name = f"transformers/{model}"
        positions = getattr(self.model.config, "max_position_embeddings", None) or window
        self.max_window = min(window, int(positions))

    def tokenize(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def tail_logprobs(self, ids: Sequence[int], n_tail: int) -> np.ndarray:
        import torch

        tensor = torch.tensor([list(ids)], device=self.device)
        with torch.no_grad():
            logits = self.model(tensor).logits[0, -n_tail - 1 : -1].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        targets = tensor[0, -n_tail:]
        return logprobs.gather(1, targets[:, None])[:, 0].cpu().numpy().astype(np.float64)


def make_lm(lm: str, window: int) -> LogProbLM:
    """``embedded`` (SmolLM2 through llama.cpp), a ``.gguf`` file, or a transformers model folder / id."""
    if lm == "embedded":
        return LlamaCppLM(window=window)
    if lm.endswith(".gguf"):
        if not Path(lm).is_file():
            raise DependencyError(f"GGUF file {lm} does not exist")
        return LlamaCppLM(window=window, model_path=lm)
    return TransformersLM(lm, window=window)


@dataclass
class DependencyResult:
    """Mean gain over windows, and how many windows and rows it rests on."""

    gain: float | None
    windows: int
    rows: int
    skipped_rows: int
    per_window: list[float]

    @classmethod
    def of(cls, gains: list[float], rows: int, skipped_rows: int) -> DependencyResult:
        """The mean of ``gains`` (``None`` when there is none)."""
        gain = float(np.mean(gains)) if gains else None
        return cls(gain=gain, windows=len(gains), rows=rows, skipped_rows=skipped_rows, per_window=gains)

    def summary(self) -> dict[str, Any]:
        return {
            "gain": None if self.gain is None else round(self.gain, 4),
            "windows": self.windows,
            "rows": self.rows,
            "skipped_rows": self.skipped_rows,
        }


def _sampling(lm: LogProbLM, config: DependencyConfig, n_rows: int) -> tuple[int, random.Random, list[int]]:
    """The window the LM allows, the seeded generator and the seeded order of the rows."""
    window = min(config.window, lm.max_window)
    if config.short_context + config.tail >= window:
        raise DependencyError(
            f"the LM window ({window}) is too small for short_context + tail; lower them or raise --window"
        )
    rng = random.Random(config.seed)
    order = list(range(n_rows))
    rng.shuffle(order)
    return window, rng, order


def window_gain(lm: LogProbLM, window_ids: Sequence[int], config: DependencyConfig) -> float:
    """Mean log-prob gain of the last ``tail`` tokens: full window vs the short recent context only."""
    full = lm.tail_logprobs(window_ids, config.tail)
    short = lm.tail_logprobs(window_ids[-(config.short_context + config.tail) :], config.tail)
    return float(np.mean(full - short))


def dependency_gain(lm: LogProbLM, texts: Sequence[str], config: DependencyConfig) -> DependencyResult:
    """The dependency score of a set of rows (their texts): mean :func:`window_gain` over sampled windows.

    Rows shorter than a window are scored on all of their tokens when they still exceed the short
    context plus the tail; shorter ones are skipped and counted.
    """
    window, rng, order = _sampling(lm, config, len(texts))
    gains: list[float] = []
    used = skipped = 0
    for index in order[: config.max_rows]:
        ids = lm.tokenize(texts[index])
        if len(ids) <= config.short_context + config.tail + 16:
            skipped += 1
            continue
        used += 1
        span = min(window, len(ids))
        starts = [rng.randrange(0, len(ids) - span + 1) for _ in range(config.windows_per_row)]
        for start in starts:
            gains.append(window_gain(lm, ids[start : start + span], config))
    return DependencyResult.of(gains, used, skipped)


# ------------------------------------------------------------------------------------------ cross-piece


def piece_starts(lengths: Sequence[int]) -> list[int]:
    """The offset of each piece in the row: ``[0, l0, l0 + l1, ...]`` (one per piece)."""
    starts, total = [], 0
    for n in lengths:
        starts.append(total)
        total += n
    return starts


def cross_tails(
    lengths: Sequence[int], config: DependencyConfig, rng: random.Random
) -> list[tuple[int, int]]:
    """``(piece_start, tail_start)`` of the tails scored in a row whose pieces are ``lengths`` LM tokens long.

    A piece is eligible when it is not the first and holds ``short_context + tail`` tokens; up to
    ``windows_per_row`` eligible pieces are drawn without replacement; each tail starts ``short_context``
    tokens after its piece's start. Returned in row order.
    """
    starts = piece_starts(lengths)
    need = config.short_context + config.tail
    eligible = [j for j in range(1, len(lengths)) if lengths[j] >= need]
    picked = sorted(rng.sample(eligible, min(config.windows_per_row, len(eligible))))
    return [(starts[j], starts[j] + config.short_context) for j in picked]


def cross_window_gain(
    lm: LogProbLM, ids: Sequence[int], piece_start: int, tail_start: int, window: int, tail: int
) -> float:
    """Mean log-prob gain of ``ids[tail_start : tail_start + tail]``: the ``window - tail`` tokens before it
    (earlier pieces included) vs only its own piece's tokens before it (from ``piece_start``)."""
    end = tail_start + tail
    full = lm.tail_logprobs(ids[max(0, end - window) : end], tail)
    short = lm.tail_logprobs(ids[piece_start:end], tail)
    return float(np.mean(full - short))


def dependency_cross(
    lm: LogProbLM, rows_pieces: Sequence[Sequence[str]], config: DependencyConfig
) -> DependencyResult:
    """The cross-piece score of a set of rows, each given as its pieces' texts in order.

    Each piece is tokenized by the LM on its own (a row's LM ids are their concatenation). Rows are taken
    in a seeded order until ``max_rows`` rows with an eligible piece (:func:`cross_tails`) are scored;
    rows without one are skipped and counted.
    """
    window, rng, order = _sampling(lm, config, len(rows_pieces))
    gains: list[float] = []
    used = skipped = 0
    for index in order:
        if used >= config.max_rows:
            break
        pieces = [lm.tokenize(text) for text in rows_pieces[index]]
        tails = cross_tails([len(p) for p in pieces], config, rng)
        if not tails:
            skipped += 1
            continue
        used += 1
        ids = [t for p in pieces for t in p]
        for piece_start, tail_start in tails:
            gains.append(cross_window_gain(lm, ids, piece_start, tail_start, window, config.tail))
    return DependencyResult.of(gains, used, skipped)
