"""Lenient parsing: JSON, JSON in prose or fences, truncated JSON, numbered/bulleted lists, loose validation."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from llm_helpers import TOPIC_SCHEMA

from litelong_hf.llm.parsing import (
    close_truncated,
    coerce_to_schema,
    loose_validate,
    parse_answer,
    parse_list_items,
    split_item,
    strip_trailing_commas,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
containers = st.lists(json_values, min_size=1, max_size=4) | st.dictionaries(
    st.text(max_size=8), json_values, min_size=1, max_size=4
)
prose = st.text(alphabet=string.ascii_letters + " .,!?\n", max_size=60)
item_text = st.text(alphabet=string.ascii_letters + string.digits + " ,'()", min_size=1, max_size=40).filter(
    lambda s: s.strip() != "" and not s.strip()[0].isdigit()
)


@given(json_values)
def test_plain_json_round_trips(value: Any) -> None:
    outcome = parse_answer(json.dumps(value), expect="json")
    assert outcome.ok and outcome.value == value and outcome.method == "json"


@given(containers, prose, prose)
def test_json_inside_prose_is_found(value: Any, before: str, after: str) -> None:
    text = f"{before.replace('[', '').replace('{', '')}\n{json.dumps(value)}\n{after}"
    outcome = parse_answer(text, expect="json")
    assert outcome.ok
    assert outcome.value == value


@given(containers, st.sampled_from(["json", "JSON", ""]))
def test_json_in_code_fences(value: Any, language: str) -> None:
    text = f"Here you go:\n```{language}\n{json.dumps(value, indent=2)}\n```\nAnything else?"
    outcome = parse_answer(text, expect="json")
    assert outcome.ok and outcome.value == value


@given(st.lists(item_text, min_size=1, max_size=8), st.sampled_from(["{i}.", "{i})", "({i})", "-", "*", "•"]))
def test_numbered_and_bulleted_lists(items: list[str], marker: str) -> None:
    text = "Sure, here is the list:\n" + "\n".join(
        f"{marker.format(i=i + 1)} {item}" for i, item in enumerate(items)
    )
    assert parse_list_items(text) == [item.strip() for item in items]
    outcome = parse_answer(text, expect="list")
    assert outcome.ok and outcome.value == [item.strip() for item in items]


@given(
    st.lists(
        st.fixed_dictionaries({"topic": st.text(max_size=10), "explanation": st.text(max_size=20)}),
        min_size=2,
        max_size=6,
    ),
    st.data(),
)
def test_truncated_array_keeps_its_complete_elements(
    items: list[dict[str, str]], data: st.DataObject
) -> None:
    text = json.dumps(items)
    first_end = len(json.dumps(items[:1])) - 1  # just after the first element's closing brace
    cut = data.draw(st.integers(min_value=first_end, max_value=len(text) - 2))
    salvaged = close_truncated(text[:cut])
    assert isinstance(salvaged, list) and len(salvaged) >= 1
    assert salvaged == items[: len(salvaged)]


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_parse_never_raises_and_always_explains(text: str) -> None:
    outcome = parse_answer(text, TOPIC_SCHEMA)
    assert (outcome.value is None) == (outcome.error is not None)


def test_topics_as_prose_list_become_objects() -> None:
    text = "Subtopics:\n1. **Black holes**: regions where gravity traps light.\n2. Exoplanets - worlds beyond the Sun."
    outcome = parse_answer(text, TOPIC_SCHEMA)
    assert outcome.ok and outcome.method == "list"
    assert outcome.value == [
        {"topic": "Black holes", "explanation": "regions where gravity traps light."},
        {"topic": "Exoplanets", "explanation": "worlds beyond the Sun."},
    ]


def test_wrapped_list_is_unwrapped_and_missing_keys_are_reported() -> None:
    wrapped = '{"topics": [{"topic": "Tides", "explanation": "The sea rises."}]}'
    assert parse_answer(wrapped, TOPIC_SCHEMA).value == [{"topic": "Tides", "explanation": "The sea rises."}]
    missing = parse_answer('[{"topic": "Tides"}]', TOPIC_SCHEMA)
    assert not missing.ok and "explanation" in (missing.error or "")


def test_unparseable_answer_has_a_reason() -> None:
    outcome = parse_answer("I cannot help with that.", {"type": "object", "required": ["summary"]})
    assert outcome.value is None and outcome.error == "no JSON value found in the answer"


def test_trailing_commas_are_repaired_outside_strings_only() -> None:
    assert strip_trailing_commas("[1, 2, ]") == "[1, 2 ]"
    assert strip_trailing_commas('{"a": ",]", }') == '{"a": ",]" }'
    assert parse_answer('{"accepted": [1, 2,],}', expect="json").value == {"accepted": [1, 2]}


def test_escaped_quotes_do_not_confuse_the_scanners() -> None:
    text = '[{"topic": "The \\"Big\\" Bang", "explanation": "x"}, {"topic": "cut'
    assert close_truncated(text) == [{"topic": 'The "Big" Bang', "explanation": "x"}]


def test_verdict_object_wrapping_and_loose_types() -> None:
    verdict = {
        "type": "object",
        "properties": {
            "rejected_topics": {"type": "array", "items": {"type": "object", "required": ["title"]}}
        },
        "required": ["rejected_topics"],
    }
    assert coerce_to_schema([{"title": "x"}], verdict) == {"rejected_topics": [{"title": "x"}]}
    assert loose_validate({"rejected_topics": "none"}, verdict) == [
        "$.rejected_topics should be array, got string"
    ]
    assert loose_validate(True, {"type": "integer"}) == ["$ should be integer, got boolean"]
    assert loose_validate(3.0, {"type": "integer"}) == []


def test_split_item_separators() -> None:
    assert split_item("Tides: the sea") == ("Tides", "the sea")
    assert split_item("Tides — the sea") == ("Tides", "the sea")
    assert split_item("Well-known tides") == ("Well-known tides", None)
