"""Training mixtures: finished runs, presets and short-data corpora interleaved by token share.

Long-context recipes never train on long rows alone: ProLong's 64K stage is 30% code repositories, 30% books,
3% textbooks and 37% short data; NExtLong's 512K stage mixes 512K rows with 64K rows packed 8 to a sequence
(1:2). A mixture is a run directory like any other (``export``, ``push``, ``train`` read it), its card
lists every component with its config hash, rows and token share.

Example::

    import litelong_hf
    result = litelong_hf.mixture(
        "mix-64k/",
        components=["runs/nextlong-64k=0.4", "litelong-64k=0.3"],   # a run directory, a preset
        short=["data/*.parquet=0.3"],                               # any corpus, packed to the row length
        num_rows=1000,
    )
    litelong_hf.mixture("mix-512k/", preset="nextlong-512k", num_rows=300)   # configs/mixtures/

The package is callable: ``litelong_hf.mixture(...)`` is :func:`mixture`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .build import MixtureResult, build_mixture, mixture
from .config import ComponentSpec, MixtureConfig, make_mixture_config, mixture_preset_names, parse_component
from .errors import MixtureError

__all__ = [
    "ComponentSpec",
    "MixtureConfig",
    "MixtureError",
    "MixtureResult",
    "build_mixture",
    "make_mixture_config",
    "mixture",
    "mixture_preset_names",
    "parse_component",
]


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`mixture` (``litelong_hf.mixture`` is the package once imported)."""

    def __call__(self, *args: Any, **kwargs: Any) -> MixtureResult:
        return mixture(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
