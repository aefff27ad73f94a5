"""Config fields as CLI flags: every dataclass field becomes ``--field-name``, typed, with its help text."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable
from typing import Any

import typer


def field_help(cls: type) -> dict[str, str]:
    """The help text of every field of a config dataclass (``field(metadata={"help": ...})``)."""
    return {f.name: str(f.metadata.get("help", "")) for f in dataclasses.fields(cls)}


def _base_type(annotation: Any) -> Any:
    """``int | None`` -> ``int``; other annotations unchanged."""
    if isinstance(annotation, str):
        annotation = eval(annotation, vars(typing))  # dataclass annotations under `from __future__`
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def coerce(value: str, annotation: Any, name: str) -> Any:
    """Turn a CLI string into the field's type; ``none`` gives ``None``. Raises ``typer.BadParameter``."""
    if value.lower() in ("none", "null"):
        return None
    base = _base_type(annotation)
    origin = typing.get_origin(base) or base
    try:
        if base is bool:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if base is int:
            return int(value.replace("_", ""))
        if base is float:
            return float(value)
        if origin in (dict, list, tuple):
            if origin is dict or value.lstrip().startswith("["):
                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
    except (ValueError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"--{name.replace('_', '-')}: cannot read {value!r} ({exc}).") from exc
    return value


def collect_overrides(config_class: type, raw: dict[str, Any]) -> dict[str, Any]:
    """The given ``--field`` values of ``config_class`` in the field's type; unset fields are omitted.

    Plain ``int``/``float``/``bool``/``str`` flags arrive typed from the command line; lists, mappings and
    optional fields (which accept ``none``) arrive as text and are read here."""
    hints = typing.get_type_hints(config_class)
    return {
        name: coerce(value, hints.get(name, str), name) if isinstance(value, str) else value
        for name, value in raw.items()
        if value is not None
    }


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _flag_type(annotation: Any) -> Any:
    """The type typer parses a flag into: the field's own for plain scalars, text for everything else."""
    base = _base_type(annotation)
    if not _is_optional(annotation) and base in (int, float, bool, str):
        return base
    return str


def config_option_parameters(config_class: type, skip: set[str]) -> list[inspect.Parameter]:
    """``inspect.Parameter`` objects (for a typer command signature) of every config field not in ``skip``."""
    docs = field_help(config_class)
    hints = typing.get_type_hints(config_class)
    params = []
    for f in dataclasses.fields(config_class):
        if f.name in skip:
            continue
        type_name = getattr(_base_type(hints.get(f.name, str)), "__name__", "str")
        default = f.default if f.default is not dataclasses.MISSING else "preset"
        choices = f.metadata.get("choices")
        allowed = f" One of: {', '.join(map(str, choices))}." if choices else ""
        help_text = f"{docs.get(f.name, '')}{allowed} [{type_name}; preset default: {default!r}]"
        flag = f"--{f.name.replace('_', '-')}"
        kind = _flag_type(hints.get(f.name, str))
        names = [f"{flag}/--no-{f.name.replace('_', '-')}"] if kind is bool else [flag]
        option = typer.Option(None, *names, help=help_text, rich_help_panel="Config fields")
        params.append(
            inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind | None)
        )
    return params


def _field_parameter(
    f: dataclasses.Field[Any], annotation: Any, help_text: str, aliases: tuple[str, ...]
) -> inspect.Parameter:
    """A typer option with the field's own default and type (a command's flag, not a preset override)."""
    flag = f"--{f.name.replace('_', '-')}"
    base = _base_type(annotation)
    names = [f"{flag}/--no-{f.name.replace('_', '-')}"] if base is bool else [flag, *aliases]
    kind = base | None if _is_optional(annotation) else base
    option = typer.Option(f.default, *names, help=help_text)
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)


def with_config_fields(
    config_class: type,
    fields: dict[str, str],
    target: Callable[..., Any],
    param: str,
    aliases: dict[str, tuple[str, ...]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the flags of ``fields`` of ``config_class`` (same names, defaults and help as
    ``generate``'s) in place of its parameter ``param``, which receives ``target(**{fields[name]: value})``.

    An ``Exception`` from ``target`` reaches the command's caller as is (commands report user errors).
    """
    hints = typing.get_type_hints(config_class)
    by_name = {f.name: f for f in dataclasses.fields(config_class)}
    docs = field_help(config_class)
    extra = [
        _field_parameter(by_name[name], hints[name], docs[name], (aliases or {}).get(name, ()))
        for name in fields
    ]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(command).parameters.values()
            if p.name != param
        ]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            values = {dst: kwargs.pop(src) for src, dst in fields.items()}
            return command(**{param: target(**values)}, **kwargs)

        wrapper.__signature__ = inspect.Signature(extra + own)  # type: ignore[attr-defined]
        # typer reads annotations through typing.get_type_hints, which would see the command's ``param``.
        wrapper.__annotations__ = {
            **{p.name: p.annotation for p in extra},
            **{k: v for k, v in command.__annotations__.items() if k != param},
        }
        return wrapper

    return decorate
