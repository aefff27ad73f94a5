"""Import ``mosaicml-streaming`` (the ``streaming`` package) where no matching ``torchvision`` exists.

``import streaming`` imports its vision datasets, which import ``torchvision``. PyPI's ``torchvision`` wheels
are built against CUDA ``torch``; next to the CPU build of ``torch`` (what this project pins) they fail to
load, and a CPU ``torchvision`` is not on PyPI. Text shards never touch the vision code, so when
``torchvision`` is absent we give that one import two placeholder modules and take them out of
``sys.modules`` again right after: nothing else in the process ever sees them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from functools import cache
from typing import Any

INSTALL_HINT = (
    'pip install "litelong-hf[export]" && pip install --no-deps "mosaicml-streaming==0.13.0" '
    "(its declared pins on numpy, transformers and torchvision conflict with this project's)"
)
"""How to install the MDS writer and reader; also in docs/export.md and .ci/setup."""

_PLACEHOLDERS = (
    "torchvision",
    "torchvision.datasets",
    "torchvision.transforms",
    "torchvision.transforms.functional",
)


class StreamingMissingError(ImportError):
    """``mosaicml-streaming`` (or one of its runtime dependencies) is not installed; the message says how."""


def _placeholder(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.util.spec_from_loader(name, loader=None)
    return module


def _unavailable(*_args: Any, **_kwargs: Any) -> Any:
    raise ImportError("torchvision is not installed: streaming's vision datasets are unavailable.")


@cache
def import_streaming() -> types.ModuleType:
    """The ``streaming`` module (its ``MDSWriter``, ``StreamingDataset``, ``StreamingDataLoader``)."""
    if importlib.util.find_spec("streaming") is None:
        raise StreamingMissingError(f"MDS export needs mosaicml-streaming: {INSTALL_HINT}.")
    if "streaming" in sys.modules or importlib.util.find_spec("torchvision") is not None:
        return _import()
    # transformers (imported by streaming's data loader) caches whether torchvision exists: let it look first.
    if importlib.util.find_spec("transformers") is not None:
        importlib.import_module("transformers")
    added = [name for name in _PLACEHOLDERS if name not in sys.modules]
    for name in added:
        sys.modules[name] = _placeholder(name)
    datasets_module = sys.modules["torchvision.datasets"]
    datasets_module.VisionDataset = type("VisionDataset", (), {"__init__": _unavailable})  # type: ignore[attr-defined]
    sys.modules["torchvision.transforms.functional"].to_tensor = _unavailable  # type: ignore[attr-defined]
    try:
        return _import()
    finally:
        for name in added:
            sys.modules.pop(name, None)


def _import() -> types.ModuleType:
    try:
        return importlib.import_module("streaming")
    except ImportError as exc:
        raise StreamingMissingError(
            f"mosaicml-streaming cannot be imported ({type(exc).__name__}: {exc}); {INSTALL_HINT}."
        ) from exc
