"""The YAML presets in ``configs/`` (installed as ``litelong_hf.presets``): one per config name, and the
functions that turn a name plus overrides into a strategy config.

    from litelong_hf.presets import make_config
    config = make_config("litelong-128k", rows_per_topic=2)
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from typing import Any

import yaml

from litelong_hf.config import BaseConfig, ConfigError, given
from litelong_hf.strategies import strategy_config_class


def preset_names() -> list[str]:
    """Names of the YAML presets shipped in ``configs/``."""
    files = resources.files("litelong_hf.presets")
    return sorted(p.name.removesuffix(".yaml") for p in files.iterdir() if p.name.endswith(".yaml"))


def load_preset(name: str) -> dict[str, Any]:
    """The raw YAML mapping of preset ``name``."""
    names = preset_names()
    if name not in names:
        raise ConfigError(f"Unknown config {name!r}. Valid config names: {', '.join(names)}.")
    text = resources.files("litelong_hf.presets").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"Preset {name}.yaml must be a mapping of field: value.")
    data.setdefault("name", name)
    return data


def config_fields(config_class: type[BaseConfig]) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(config_class)}


def make_config(name: str, **overrides: Any) -> BaseConfig:
    """Build the config of preset ``name`` with keyword overrides (:data:`~litelong_hf.config.UNSET` values
    leave the preset's; ``None`` is a value: ``bm25_stemmer=None`` turns stemming off).

    Raises :class:`ConfigError` for an unknown name or a field the strategy does not have.
    """
    data = load_preset(name)
    config_class = strategy_config_class(str(data.get("strategy", "")))
    known = config_fields(config_class)
    overrides = given(overrides)
    unknown = sorted(k for k in list(data) + list(overrides) if k not in known)
    if unknown:
        raise ConfigError(
            f"Unknown field(s) {unknown} for config {name!r} (strategy {data.get('strategy')!r}). "
            f"Valid fields: {', '.join(sorted(known))}."
        )
    data.update(overrides)
    try:
        return config_class(**data)
    except TypeError as exc:
        raise ConfigError(f"Invalid config {name!r}: {exc}") from exc


def config_from_dict(data: dict[str, Any]) -> BaseConfig:
    """Rebuild a config saved with :meth:`BaseConfig.to_dict`."""
    config_class = strategy_config_class(str(data.get("strategy", "")))
    known = config_fields(config_class)
    return config_class(**{k: v for k, v in data.items() if k in known})
