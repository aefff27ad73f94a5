"""The synthesis methods. Each module registers its config class and strategy class on import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import BaseConfig, ConfigError

if TYPE_CHECKING:
    from .base import RowKind, Strategy
    from .context import StrategyContext

_STRATEGY_CLASSES: dict[str, type[Strategy]] = {}
_CONFIG_CLASSES: dict[str, type[BaseConfig]] = {}


def register(name: str, config_class: type[BaseConfig], strategy_class: type[Strategy]) -> None:
    """Register a strategy under ``name`` (the ``strategy:`` value of presets)."""
    _CONFIG_CLASSES[name] = config_class
    _STRATEGY_CLASSES[name] = strategy_class


def strategy_names() -> list[str]:
    """The registered strategy names (the ``strategy:`` values a preset may hold)."""
    return sorted(_STRATEGY_CLASSES)


def strategy_config_class(strategy: str) -> type[BaseConfig]:
    """The config dataclass of strategy ``strategy`` (the ``strategy:`` value of a preset)."""
    if strategy not in _CONFIG_CLASSES:
        raise ConfigError(f"Unknown strategy {strategy!r}; known: {sorted(_CONFIG_CLASSES)}.")
    return _CONFIG_CLASSES[strategy]


def strategy_class(strategy: str) -> type[Strategy]:
    """The strategy class registered under ``strategy``."""
    if strategy not in _STRATEGY_CLASSES:
        raise ConfigError(f"Unknown strategy {strategy!r}; known: {sorted(_STRATEGY_CLASSES)}.")
    return _STRATEGY_CLASSES[strategy]


def make_strategy(config: BaseConfig, context: StrategyContext | None = None) -> Strategy:
    """The strategy object that runs ``config``, working with ``context`` (default: one on the config's
    cache root)."""
    return strategy_class(config.strategy)(config, context)


def row_kind_of(name: str) -> RowKind:
    """The row schema (``pretraining`` / ``instruction``) of a strategy name or a preset name.

    ``row_kind_of("hierarchical")`` and ``row_kind_of("hierarchical-128k")`` are both ``"instruction"``:
    the answer is the ``row_kind`` class attribute of the strategy, never a comparison of names."""
    if name in _STRATEGY_CLASSES:
        return _STRATEGY_CLASSES[name].row_kind
    from litelong_hf.presets import load_preset, preset_names

    if name in preset_names():
        return strategy_class(str(load_preset(name).get("strategy", ""))).row_kind
    raise ConfigError(
        f"Unknown strategy or config {name!r}; strategies: {', '.join(strategy_names())}; "
        f"configs: {', '.join(preset_names())}."
    )


# Registration happens on import; keep this list in data-flow order.
from . import hierarchical, litelong, litelong_nextlong, nextlong, random_concat  # noqa: E402, F401
