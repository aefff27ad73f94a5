"""Config fields as CLI flags: every dataclass field becomes ``--field-name``, typed, with its help text.

One mechanism for every command that takes config fields (``generate``, ``topics``, ``train``, ``corpus
stats``, ``index build``): :func:`field_options` turns fields into typer options, :func:`given_values`
reads them back. A flag that is not on the command line is left out (typer hands it over as ``None``), so
the preset or the dataclass supplies its value, stated once in the field; an optional field takes the text
``none`` for ``None`` (which really disables what its help says it disables).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import typer

from ..fields import UNSET, given

CONFIG_PANEL = "Config fields"


def flag(name: str) -> str:
    """The flag of field ``name``: ``chunk_chars`` -> ``--chunk-chars``."""
    return f"--{name.replace('_', '-')}"


def _resolve(annotation: Any) -> Any:
    if isinstance(annotation, str):
        annotation = eval(annotation, vars(typing))  # dataclass annotations under `from __future__`
    return annotation


def _base_type(annotation: Any) -> Any:
    """``int | None`` -> ``int``; other annotations unchanged."""
    annotation = _resolve(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(_resolve(annotation))


def _is_repeatable(annotation: Any) -> bool:
    """A required ``list[str]`` (``TrainConfig.data``) is a repeatable flag; an optional list is text."""
    return typing.get_origin(_resolve(annotation)) is list and not _is_optional(annotation)


def coerce(value: str, annotation: Any, name: str) -> Any:
    """Turn a CLI string into the field's type; ``none`` gives ``None`` where the field may be ``None``
    (``--split-long-lines none`` stays the text). Raises ``typer.BadParameter``."""
    if value.lower() in ("none", "null") and _is_optional(annotation):
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
        raise typer.BadParameter(f"{flag(name)}: cannot read {value!r} ({exc}).") from exc
    return value


def _flag_type(annotation: Any) -> Any:
    """The type typer parses a flag into: the field's own for plain scalars and repeatable lists, text for
    everything else (optional fields, mappings, comma-separated lists), read by :func:`coerce`."""
    if _is_repeatable(annotation):
        return list[str]
    base = _base_type(annotation)
    if not _is_optional(annotation) and base in (int, float, bool, str):
        return base
    return str


def _metavar(annotation: Any, kind: Any) -> str | None:
    """``<int>`` for an optional int read as text (typer would say ``<str>``); typer's own otherwise."""
    base = _base_type(annotation)
    return f"<{base.__name__}>" if kind is str and base in (int, float) else None


def field_default(f: dataclasses.Field[Any]) -> Any:
    """The default a dataclass field states (its factory called), or ``UNSET`` if it has none."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return UNSET


def help_text(f: dataclasses.Field[Any]) -> str:
    """A field's help with its ``choices`` and ``min`` metadata (what ``BaseConfig`` checks)."""
    text = str(f.metadata.get("help", ""))
    choices = f.metadata.get("choices")
    if choices:
        text += f" One of: {', '.join(map(str, choices))}."
    if f.metadata.get("min") is not None:
        text += f" At least {f.metadata['min']}."
    return text


def _default_shown(value: Any) -> str:
    if value is UNSET:
        return " Default: the preset's."
    if isinstance(value, list | tuple) and not value:
        return ""
    return f" Default: {value!r}."


def field_options(
    config_class: type,
    names: Iterable[str] | None = None,
    *,
    skip: Collection[str] = (),
    shown: Mapping[str, Any] | None = None,
    aliases: Mapping[str, tuple[str, ...]] | None = None,
    required: Collection[str] = (),
    panel: str | None = CONFIG_PANEL,
) -> list[inspect.Parameter]:
    """Typer options (``inspect.Parameter`` objects for a command signature) of fields of ``config_class``:
    ``names`` in that order (default: every field) minus ``skip``.

    Every option defaults to "not given"; its help shows ``shown[name]`` as the default (default: the
    field's own; ``UNSET`` reads "the preset's"). ``required`` fields must be given. A field's ``panel``
    metadata groups it in ``--help`` (default: ``panel``).
    """
    by_name = {f.name: f for f in dataclasses.fields(config_class)}
    hints = typing.get_type_hints(config_class)
    params = []
    for name in names if names is not None else list(by_name):
        if name in skip:
            continue
        f = by_name[name]
        kind = _flag_type(hints[name])
        decls = [f"{flag(name)}/--no-{flag(name)[2:]}"] if kind is bool else [flag(name)]
        decls += (aliases or {}).get(name, ())
        must = name in required
        default = field_default(f) if shown is None else shown.get(name, field_default(f))
        option = typer.Option(
            ... if must else None,
            *decls,
            help=help_text(f) + ("" if must else _default_shown(default)),
            show_default=False,
            rich_help_panel=f.metadata.get("panel", panel),
            metavar=_metavar(hints[name], kind),
        )
        annotation = kind if must else kind | None
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)
        )
    return params


def _read(value: Any, annotation: Any, name: str) -> Any:
    if value is None or (isinstance(value, list | tuple) and not value):
        return UNSET
    if isinstance(value, str) and _flag_type(annotation) is str:
        return coerce(value, annotation, name)
    return list(value) if isinstance(value, tuple) else value


def given_values(config_class: type, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The flags of ``config_class``'s fields that were on the command line, in the field's type.

    typer hands a flag that was not given over as ``None`` (the text ``none`` arrives as text, and becomes
    ``None`` here), so ``None`` is read as :data:`~litelong_hf.fields.UNSET` at this one boundary; an empty
    repeatable flag is not given either."""
    hints = typing.get_type_hints(config_class)
    values = {name: _read(value, hints[name], name) for name, value in raw.items()}
    return given(values)


def with_fields(
    params: list[inspect.Parameter], command: Callable[..., Any], drop: Collection[str] = ()
) -> Callable[..., Any]:
    """A new function calling ``command``, whose signature is ``command``'s own parameters (less ``drop``
    and its ``**kwargs``, which receive ``params``) followed by ``params``; ``command`` is left as it is,
    so registering a command twice (a second app) builds the same signature.

    typer reads both ``__signature__`` and the annotations, so both are set."""
    base = inspect.signature(command).parameters.values()
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in base
        if p.name not in drop and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    kept = {p.name for p in own}

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        return command(**kwargs)

    wrapper.__signature__ = inspect.Signature([*own, *params])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        **{k: v for k, v in command.__annotations__.items() if k in kept or k == "return"},
        **{p.name: p.annotation for p in params},
    }
    return wrapper


def with_config_fields(
    config_class: type,
    fields: dict[str, str],
    target: Callable[..., Any],
    param: str,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the flags of ``fields`` of ``config_class`` (same names, defaults and help as
    ``generate``'s) in place of its parameter ``param``, which receives ``target(**{fields[name]: value})``
    with the field's own default for a flag not given.

    An ``Exception`` from ``target`` reaches the command's caller as is (commands report user errors).
    """
    by_name = {f.name: f for f in dataclasses.fields(config_class)}
    extra = field_options(config_class, fields, panel=None)

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            values = {name: field_default(by_name[name]) for name in fields}
            values.update(given_values(config_class, {name: kwargs.pop(name) for name in fields}))
            return command(**{param: target(**{fields[k]: v for k, v in values.items()})}, **kwargs)

        return with_fields(extra, wrapper, drop={param})

    return decorate
