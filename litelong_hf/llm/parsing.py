"""Lenient parsing of LLM answers. Pure functions: text in, value or reason out; no I/O, no logging.

Small models wrap JSON in prose or code fences, leave trailing commas, get cut off by ``max_tokens``, or
answer a numbered list when JSON was asked for. :func:`parse_answer` tries, in order: the whole answer as
JSON, each fenced block, the same with trailing commas removed, every JSON value embedded in the prose, a
truncated array or object closed after its last complete element, and finally (when a list was asked for)
numbered or bulleted lines. Each candidate is adapted to the schema's shape and checked loosely (types and
required keys); the first that passes wins. What cannot be parsed comes back with a reason, never dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Expect = Literal["json", "list"]

_MAX_EMBEDDED_ATTEMPTS = 500
"""Bound on ``raw_decode`` attempts in one answer, so a pathological answer cannot take quadratic time."""

_FENCE = re.compile(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\r?\n?(.*?)(?:```|\Z)", re.DOTALL)
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,3}\s*[.):]|\(\d{1,3}\)|[-*•+–·])\s+(?P<item>\S.*?)\s*$")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_ITEM_SEPARATORS = (": ", " - ", " – ", " — ")
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


@dataclass(frozen=True)
class ParseOutcome:
    """The result of parsing one answer.

    ``value`` is the parsed object (``None`` when ``error`` is set); ``method`` says which reading worked:
    ``json``, ``fenced``, ``repaired`` (trailing commas), ``embedded`` (inside prose), ``truncated``
    (closed after the last complete element) or ``list`` (numbered/bulleted lines).
    """

    value: Any
    error: str | None
    method: str

    @property
    def ok(self) -> bool:
        """True when a value was found and it matches the schema loosely."""
        return self.error is None


def parse_answer(
    text: str, schema: Mapping[str, Any] | None = None, *, expect: Expect | None = None
) -> ParseOutcome:
    """Parse an LLM answer into the shape ``schema`` describes, as leniently as is still honest.

    ``expect`` defaults to ``list`` when the schema's top level is an array, else ``json``.

    >>> parse_answer('Sure! ```json\\n[{"topic": "Tides"}]\\n```').value
    [{'topic': 'Tides'}]
    >>> parse_answer("1. Tides\\n2. Orbits", expect="list").value
    ['Tides', 'Orbits']
    """
    want: Expect = expect or ("list" if schema is not None and schema_type(schema) == "array" else "json")
    first_problem: str | None = None
    for value, method in iter_json_candidates(text):
        if schema is not None:
            value = coerce_to_schema(value, schema)
            problems = loose_validate(value, schema)
            if problems:
                first_problem = first_problem or f"{method} JSON does not match the schema: {problems[0]}"
                continue
        elif want == "list":
            value = _unwrap_single_list(value)
            if not isinstance(value, list):
                first_problem = first_problem or f"{method} JSON is a {type(value).__name__}, not a list"
                continue
        return ParseOutcome(value, None, method)

    if want == "list":
        items: Any = parse_list_items(text)
        if items:
            if schema is None:
                return ParseOutcome(items, None, "list")
            items = coerce_to_schema(items, schema)
            problems = loose_validate(items, schema)
            if not problems:
                return ParseOutcome(items, None, "list")
            first_problem = first_problem or f"list items do not match the schema: {problems[0]}"
    reason = first_problem or (
        "no JSON value or list items found in the answer"
        if want == "list"
        else "no JSON value found in the answer"
    )
    return ParseOutcome(None, reason, "")


def iter_json_candidates(text: str) -> Iterator[tuple[Any, str]]:
    """Every JSON value that can be read out of ``text``, most literal reading first, with its method."""
    stripped = text.strip()
    blocks = [stripped, *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for index, block in enumerate(blocks):
        value = _loads(block)
        if value is not _NOT_JSON:
            yield value, "json" if index == 0 else "fenced"
    for block in blocks:
        repaired = strip_trailing_commas(block)
        value = _loads(repaired) if repaired != block else _NOT_JSON
        if value is not _NOT_JSON:
            yield value, "repaired"
    yield from ((value, "embedded") for value in iter_embedded_json(text))
    for block in blocks:
        closed = close_truncated(block)
        if closed is not None:
            yield closed, "truncated"


def iter_embedded_json(text: str) -> Iterator[Any]:
    """JSON objects and arrays embedded in prose, left to right, outermost first, without overlaps."""
    decoder = json.JSONDecoder()
    position, attempts = 0, 0
    while attempts < _MAX_EMBEDDED_ATTEMPTS:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            return
        start = min(starts)
        attempts += 1
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        yield value
        position = end


def _scan(text: str, start: int = 0) -> Iterator[tuple[int, str, bool]]:
    """Each character of ``text`` from ``start``: ``(position, char, inside)``, where ``inside`` says whether
    it belongs to a JSON string (its quotes and escapes included). The one reader of JSON string syntax."""
    in_string = escaped = False
    for i in range(start, len(text)):
        char = text[i]
        inside = in_string or char == '"'
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        yield i, char, inside


def strip_trailing_commas(text: str) -> str:
    """``text`` without commas that directly precede ``]`` or ``}`` outside strings (a common LLM slip)."""
    out: list[str] = []
    for i, char, inside in _scan(text):
        if not inside and char == "," and text[i + 1 :].lstrip()[:1] in ("]", "}"):
            continue
        out.append(char)
    return "".join(out)


def close_truncated(text: str) -> Any | None:
    """Read a JSON array/object cut off mid-way (``max_tokens``), keeping only its complete elements.

    Returns None when ``text`` does not start like JSON or nothing complete precedes the cut.

    >>> close_truncated('[{"a": 1}, {"a": 2}, {"a"')
    [{'a': 1}, {'a': 2}]
    """
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    if start < 0:
        return None
    stack: list[str] = []
    # (cut position, brackets still open there): the latest point where a nested value had just closed.
    last_cut: tuple[int, str] | None = None
    for i, char, inside in _scan(text, start):
        if inside:
            continue
        if char in "[{":
            stack.append("]" if char == "[" else "}")
        elif char in "]}":
            if not stack or stack[-1] != char:
                return None
            stack.pop()
            if not stack:
                return None  # complete, not truncated: the other readings handle it
            last_cut = (i + 1, "".join(reversed(stack)))
    if last_cut is None:
        return None
    cut, closers = last_cut
    try:
        return json.loads(strip_trailing_commas(text[start:cut] + closers))
    except ValueError:
        return None


def parse_list_items(text: str) -> list[str]:
    """The items of a numbered (``1.``, ``1)``, ``(1)``) or bulleted (``-``, ``*``, ``•``) list, in order.

    >>> parse_list_items("Here:\\n1. **Tides**: the sea rises\\n2) Orbits\\n- Comets")
    ['Tides: the sea rises', 'Orbits', 'Comets']
    """
    items: list[str] = []
    for line in text.splitlines():
        match = _LIST_ITEM.match(line)
        if match:
            item = _EMPHASIS.sub(r"\2", match.group("item")).strip().strip('"').strip()
            if item:
                items.append(item)
    return items


def split_item(item: str) -> tuple[str, str | None]:
    """Split ``"Title: explanation"`` (or ``-``, en/em dash) into its two parts; no separator: ``(item, None)``."""
    cuts = [(item.find(sep), sep) for sep in _ITEM_SEPARATORS if item.find(sep) > 0]
    if not cuts:
        return item.strip(), None
    index, sep = min(cuts)
    return item[:index].strip(), item[index + len(sep) :].strip() or None


def schema_type(schema: Mapping[str, Any]) -> str | None:
    """The JSON type a schema node describes (``object``, ``array``...), inferring it when ``type`` is absent."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def coerce_to_schema(value: Any, schema: Mapping[str, Any]) -> Any:
    """Adapt common near-misses to the schema's shape; anything else comes back unchanged.

    - an array was asked for and an object holding exactly one list came back (``{"topics": [...]}``): the list;
    - an array of objects was asked for and one such object came back: a one-element list;
    - an object with a single array property was asked for and a bare list came back: the wrapped list;
    - array items that are strings where objects with string properties were asked for: ``"Title: why"`` is
      split into the first two string properties.
    """
    kind = schema_type(schema)
    items_schema = schema.get("items") if isinstance(schema.get("items"), Mapping) else None
    if kind == "array" and isinstance(value, dict):
        unwrapped = _unwrap_single_list(value)
        if isinstance(unwrapped, list):
            value = unwrapped
        elif items_schema is not None and schema_type(items_schema) == "object":
            value = [value]
    if kind == "object" and isinstance(value, list):
        properties = schema.get("properties") or {}
        array_props = [
            k for k, v in properties.items() if isinstance(v, Mapping) and schema_type(v) == "array"
        ]
        if len(array_props) == 1 and set(schema.get("required") or []) <= set(array_props):
            value = {array_props[0]: value}
    if (
        kind == "array"
        and isinstance(value, list)
        and items_schema is not None
        and schema_type(items_schema) == "object"
    ):
        value = [_item_to_object(v, items_schema) if isinstance(v, str) else v for v in value]
    return value


def loose_validate(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """Problems that would break a consumer: wrong JSON types and missing required keys (recursively).

    Deliberately loose: patterns, enums, lengths and extra keys are not checked, since constrained decoding
    already enforced them where the server could, and a caller can still use a near-miss.
    """
    for combinator in ("anyOf", "oneOf"):
        branches = schema.get(combinator)
        if isinstance(branches, list) and branches:
            results = [loose_validate(value, b, path) for b in branches if isinstance(b, Mapping)]
            return [] if any(not r for r in results) else results[0]
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind) if isinstance(kind, list) else []
    if not kinds and (inferred := schema_type(schema)) is not None:
        kinds = [inferred]
    if kinds and not any(_is_json_type(value, k) for k in kinds):
        return [f"{path} should be {' or '.join(kinds)}, got {_json_type_name(value)}"]
    problems: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key in schema.get("required") or []:
            if key not in value:
                problems.append(f"{path} is missing required key {key!r}")
        for key, sub in properties.items():
            if key in value and isinstance(sub, Mapping):
                problems.extend(loose_validate(value[key], sub, f"{path}.{key}"))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            problems.extend(loose_validate(item, schema["items"], f"{path}[{index}]"))
            if len(problems) >= 5:
                break
    return problems


_NOT_JSON = object()


def _loads(text: str) -> Any:
    """``json.loads`` or the ``_NOT_JSON`` sentinel (``null`` is a valid answer, so None cannot mean failure)."""
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _unwrap_single_list(value: Any) -> Any:
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    return value


def _item_to_object(item: str, item_schema: Mapping[str, Any]) -> Any:
    properties = item_schema.get("properties") or {}
    string_props = [k for k, v in properties.items() if isinstance(v, Mapping) and schema_type(v) == "string"]
    if not string_props:
        return item
    head, tail = split_item(item)
    obj: dict[str, str] = {string_props[0]: head}
    if tail is not None and len(string_props) > 1:
        obj[string_props[1]] = tail
    return obj


def _is_json_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False  # bool is an int subclass in Python, but not a JSON number
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    expected = _JSON_TYPES.get(kind)
    return expected is None or isinstance(value, expected)


def _json_type_name(value: Any) -> str:
    for name, types in _JSON_TYPES.items():
        if isinstance(value, types) and not (name in ("integer", "number") and isinstance(value, bool)):
            return name
    return type(value).__name__
