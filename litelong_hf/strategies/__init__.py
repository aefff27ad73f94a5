"""The synthesis methods. Each module registers its config class and strategy class on import."""

from __future__ import annotations

from typing import Any

from ..config import BaseConfig, ConfigError

_STRATEGY_CLASSES: dict[str, Any] = {}
_CONFIG_CLASSES: dict[str, type[BaseConfig]] = {}


def register(name: str, config_class: type[BaseConfig], strategy_class: Any) -> None:
    """Register a strategy under ``name`` (the ``strategy:`` value of presets)."""
    _CONFIG_CLASSES[name] = config_class
    _STRATEGY_CLASSES[name] = strategy_class


def strategy_config_class(strategy: str) -> type[BaseConfig]:
    """The config dataclass of strategy ``strategy`` (the ``strategy:`` value of a preset)."""
    if strategy not in _CONFIG_CLASSES:
        raise ConfigError(f"Unknown strategy {strategy!r}; known: {sorted(_CONFIG_CLASSES)}.")
    return _CONFIG_CLASSES[strategy]


def make_strategy(config: BaseConfig) -> Any:
    """The strategy object that runs ``config``."""
    if config.strategy not in _STRATEGY_CLASSES:
        raise ConfigError(f"Unknown strategy {config.strategy!r}; known: {sorted(_STRATEGY_CLASSES)}.")
    return _STRATEGY_CLASSES[config.strategy](config)


# Registration happens on import; keep this list in data-flow order.
from . import hierarchical, litelong, litelong_nextlong, nextlong, random_concat  # noqa: E402, F401
