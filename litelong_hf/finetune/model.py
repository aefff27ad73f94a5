"""Which model to train: the packaged SmolLM2 (GGUF, converted once), a local folder, a .gguf file or a Hub id.

Two phases, so that bad input fails before any weights load:

- :func:`resolve_model` checks the reference and returns a :class:`ModelRef`; :meth:`ModelRef.config` and
  :meth:`ModelRef.tokenizer` read only metadata (config.json, tokenizer files, GGUF header);
- :meth:`ModelRef.weights_dir` materializes an HF-format folder. A GGUF is dequantized and converted once
  into ``<cache>/models/`` (the ref's ``cache_dir``, else the default root): ``save_pretrained`` on a GGUF-loaded model raises (measured), so the model is
  rebuilt from its config without ``quantization_config`` and given the dequantized state dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..layout import build_once, model_dir
from .errors import TrainError

SMOLLM2_ALIASES = ("smollm2", "smollm2-135m", "smollm2-135m-instruct")


@dataclass(frozen=True)
class ModelRef:
    """A model that exists: a local HF folder, a GGUF file, or a Hub id.

    ``cache_dir``: the cache root its converted weights and extracted tokenizer go to (None: the default).
    """

    name: str
    path: Path | None = None
    gguf: Path | None = None
    cache_dir: str | None = None

    @property
    def hub_id(self) -> str | None:
        return self.name if self.path is None and self.gguf is None else None

    def _converted(self) -> Path | None:
        if self.gguf is None:
            return None
        folder = _conversion_dir(self.gguf, self.cache_dir)
        return folder if (folder / "config.json").is_file() else None

    def _source(self) -> tuple[str, dict[str, Any]]:
        converted = self._converted()
        if converted is not None:
            return str(converted), {}
        if self.gguf is not None:
            return str(self.gguf.parent), {"gguf_file": self.gguf.name}
        return str(self.path) if self.path is not None else self.name, {}

    def config(self) -> Any:
        """The model's transformers config (metadata only)."""
        from transformers import AutoConfig

        source, kwargs = self._source()
        try:
            config = AutoConfig.from_pretrained(source, **kwargs)
        except (OSError, ValueError) as exc:
            raise TrainError(f"Cannot read the config of model {self.name!r}: {str(exc)[:300]}") from None
        if getattr(config, "quantization_config", None) is not None and self.gguf is not None:
            del config.quantization_config
        return config

    def tokenizer(self) -> Any:
        """The model's fast tokenizer (no weights), aligned with its reference
        (:func:`~litelong_hf.tokens.aligned_hf_tokenizer`): the agreement check, training and the tokenizer
        saved with the trained model all use it."""
        from transformers import AutoTokenizer

        from ..tokens import _gguf_tokenizer_dir, aligned_hf_tokenizer

        if self.gguf is not None and self._converted() is None:
            folder = _gguf_tokenizer_dir(self.gguf, self.cache_dir)
            return aligned_hf_tokenizer(AutoTokenizer.from_pretrained(str(folder)))
        source, kwargs = self._source()
        try:
            return aligned_hf_tokenizer(AutoTokenizer.from_pretrained(source, **kwargs))
        except (OSError, ValueError) as exc:
            raise TrainError(f"Cannot read the tokenizer of model {self.name!r}: {str(exc)[:300]}") from None

    def weights_dir(self) -> str:
        """An HF-format folder (or Hub id) with weights, converting a GGUF once."""
        if self.gguf is not None:
            return str(gguf_to_hf(self.gguf, self.cache_dir))
        return str(self.path) if self.path is not None else self.name

    def row_tokenizer_name(self) -> str:
        """What to pass to ``generate --tokenizer`` for rows in this model's tokens."""
        if self.name.lower() in SMOLLM2_ALIASES:
            return "smollm2"
        return str(self.gguf or self.path or self.name)


def resolve_model(name: str, cache_dir: str | None = None) -> ModelRef:
    """Check a ``--model`` value and say what it is. Raises :class:`TrainError` for a missing path.

    ``cache_dir``: where a GGUF model's conversion and tokenizer are cached (None: the default root)."""
    if name.lower() in SMOLLM2_ALIASES:
        from ..resources import smollm2_gguf_path

        return ModelRef(name=name.lower(), gguf=smollm2_gguf_path(), cache_dir=cache_dir)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise TrainError(f"Model folder {path} has no config.json; give a Hugging Face model folder.")
        return ModelRef(name=name, path=path, cache_dir=cache_dir)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise TrainError(f"Model file {path} does not exist.")
        return ModelRef(name=name, gguf=path, cache_dir=cache_dir)
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or path.exists():
        raise TrainError(
            f"Model path {name} does not exist; give a model folder, a .gguf file, a Hub id or 'smollm2'."
        )
    return ModelRef(name=name, cache_dir=cache_dir)


def _conversion_dir(gguf: Path, cache_dir: str | None = None) -> Path:
    stat = gguf.stat()
    return model_dir(f"{gguf.stem}-{stat.st_size}-{int(stat.st_mtime)}".lower(), cache_dir)


def gguf_to_hf(gguf: Path, cache_dir: str | None = None) -> Path:
    """Convert a GGUF model to an HF folder (fp32 safetensors + tokenizer) in the cache, once."""
    from ..tokens import aligned_hf_tokenizer

    def convert(tmp: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        loaded = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        config = loaded.config
        if getattr(config, "quantization_config", None) is not None:
            del config.quantization_config
        state = loaded.state_dict()
        del loaded
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        missing, unexpected = model.load_state_dict(state, strict=False)
        # Tied embeddings have no separate lm_head tensor in the GGUF; anything else missing is a real error.
        missing = [m for m in missing if not (m == "lm_head.weight" and config.tie_word_embeddings)]
        if missing or unexpected:
            raise RuntimeError(
                f"GGUF conversion of {gguf} lost weights: missing {missing}, unexpected {unexpected}"
            )
        model.save_pretrained(str(tmp))
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        aligned_hf_tokenizer(tokenizer).save_pretrained(str(tmp))

    return build_once(_conversion_dir(gguf, cache_dir), "config.json", convert)


def pick_runtime(attn_implementation: str, precision: str) -> tuple[str, Any, bool]:
    """``(attn_implementation, dtype, bf16)`` for this machine.

    bf16 and flash-attention varlen only where a GPU has them; sdpa and fp32 on CPU.
    """
    import importlib.util

    import torch

    cuda = torch.cuda.is_available()
    bf16_ok = cuda and torch.cuda.is_bf16_supported()
    if precision == "auto":
        bf16 = bf16_ok
    elif precision == "bf16":
        if not bf16_ok:
            raise TrainError("--precision bf16 needs a GPU with bf16; use --precision fp32 (or auto).")
        bf16 = True
    elif precision == "fp32":
        bf16 = False
    else:
        raise TrainError(f"Unknown --precision {precision!r}; use auto, bf16 or fp32.")
    attn = attn_implementation
    if attn == "auto":
        has_flash = cuda and importlib.util.find_spec("flash_attn") is not None
        attn = "flash_attention_2" if has_flash and bf16 else "sdpa"
    elif attn.startswith("flash_attention") and not cuda:
        raise TrainError(f"--attn-implementation {attn} needs a GPU; use sdpa on CPU (or auto).")
    return attn, (torch.bfloat16 if bf16 else torch.float32), bf16
