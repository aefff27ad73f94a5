"""Config fields as CLI flags: every dataclass field becomes ``--field-name`` with its docstring as help."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import json
import textwrap
import types
import typing
from functools import cache
from typing import Any

import typer


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings (the string literal under each field) of a dataclass and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


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


def collect_overrides(config_class: type, raw: dict[str, str | None]) -> dict[str, Any]:
    """Coerce the given ``--field`` values of ``config_class``; fields left unset are omitted."""
    hints = typing.get_type_hints(config_class)
    return {
        name: coerce(value, hints.get(name, str), name) for name, value in raw.items() if value is not None
    }


def config_option_parameters(config_class: type, skip: set[str]) -> list[inspect.Parameter]:
    """``inspect.Parameter`` objects (for a typer command signature) of every config field not in ``skip``."""
    docs = field_docs(config_class)
    hints = typing.get_type_hints(config_class)
    params = []
    for f in dataclasses.fields(config_class):
        if f.name in skip:
            continue
        type_name = getattr(_base_type(hints.get(f.name, str)), "__name__", "str")
        default = f.default if f.default is not dataclasses.MISSING else "preset"
        help_text = f"{docs.get(f.name, '')} [{type_name}; preset default: {default!r}]"
        option = typer.Option(
            None, f"--{f.name.replace('_', '-')}", help=help_text, rich_help_panel="Config fields"
        )
        params.append(
            inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=str | None)
        )
    return params
