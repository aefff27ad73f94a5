"""What config fields share, kept light (``import litelong_hf`` imports it): :data:`UNSET`, the value of an
override that was not given, and :func:`check_field_metadata`, the one check of the ``choices`` and ``min``
metadata of every config dataclass (run configs and ``TrainConfig``). Re-exported by :mod:`litelong_hf.config`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Final


class Unset(enum.Enum):
    """The type of :data:`UNSET` (an enum, so it stays one object through pickling and hashing)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
"""An override that was not given: the preset's (or the field's) value stays. ``None`` is a value like any
other, so ``bm25_stemmer=None`` (``--bm25-stemmer none``) really turns stemming off."""


def given(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` without the ones that are :data:`UNSET`: the only place "not given" is dropped."""
    return {k: v for k, v in overrides.items() if v is not UNSET}


def _below_min(value: Any, least: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value < least


def _rule(least: Any, value: Any) -> str:
    if least == 0:
        return "0 or more"
    if least == 1 and isinstance(value, int):
        return "positive"
    return f">= {least}"


def check_field_metadata(config: Any, error: type[Exception]) -> None:
    """Raise ``error`` for a field of dataclass ``config`` whose value is outside its ``choices`` or below
    its ``min`` metadata (``None`` is left to the field's type; ``min`` 1 reads "must be positive", 0
    "must be 0 or more"). The CLI shows the same metadata in each flag's help."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if value is None:
            continue
        choices = f.metadata.get("choices")
        if choices is not None and value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise error(f"{f.name} must be one of {allowed}, got {value!r}.")
        least = f.metadata.get("min")
        if least is not None and _below_min(value, least):
            raise error(f"{f.name} must be {_rule(least, value)}, got {value!r}.")
