"""JSON Schema checks name the path that failed; the emulator's answers match."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from streambatch import ConfigError
from streambatch._core.jsonschema import check_schema, first_problem
from streambatch.testing._structured import requested_schema, value_for

ORDER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "status": {"enum": ["open", "paid"]},
        "note": {"type": ["string", "null"], "maxLength": 5},
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/Item"},
        },
    },
    "required": ["id", "status", "items"],
    "additionalProperties": False,
    "$defs": {
        "Item": {
            "type": "object",
            "properties": {"sku": {"type": "string"}, "price": {"type": "number"}},
            "required": ["sku", "price"],
        }
    },
}


def order(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": 7,
        "status": "open",
        "items": [{"sku": "a", "price": 1.5}, {"sku": "b", "price": 2}],
    }
    value.update(changes)
    return value


def test_a_matching_value_has_no_problem() -> None:
    assert first_problem(order(), ORDER) is None
    assert first_problem(order(note=None), ORDER) is None
    assert first_problem(order(id=7.0), ORDER) is None  # 7.0 is an integer


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            order(items=[{"sku": "a", "price": 1}, {"sku": "b", "price": "2"}]),
            "$.items[1].price: expected number, got string",
        ),
        (order(id=0), "$.id: expected at least 1, got 0"),
        (order(id=True), "$.id: expected integer, got boolean"),
        (order(status="lost"), '$.status: "lost" is not one of "open", "paid"'),
        (order(note="too long"), "$.note: expected at most 5 characters, got 8"),
        (order(items=[]), "$.items: expected at least 1 items, got 0"),
        (order(items=[{"sku": "a"}]), "$.items[0].price: required property missing"),
        (order(extra=1), "$.extra: property not allowed"),
        ({"id": 1, "status": "open"}, "$.items: required property missing"),
        ([1], "$: expected object, got array"),
    ],
)
def test_a_problem_names_the_path_that_failed(value: object, problem: str) -> None:
    assert first_problem(value, ORDER) == problem


def test_a_key_with_quotes_is_escaped_in_the_path() -> None:
    schema = {"type": "object", "properties": {'say "hi"': {"type": "string"}}}
    assert first_problem({'say "hi"': 1}, schema) == (
        '$["say \\"hi\\""]: expected string, got integer'
    )


def test_keys_that_are_not_names_are_quoted_and_unions_explained() -> None:
    schema = {"type": "object", "properties": {"a b": {"anyOf": [{"type": "string"}]}}}
    assert first_problem({"a b": 1}, schema) == (
        '$["a b"]: matches none of anyOf ($["a b"]: expected string, got integer)'
    )


def test_gemini_upper_case_types_and_nullable_are_read() -> None:
    schema = {
        "type": "OBJECT",
        "properties": {"n": {"type": "NUMBER", "nullable": True}},
    }
    assert first_problem({"n": None}, schema) is None
    assert (
        first_problem({"n": "x"}, schema) == "$.n: expected number or null, got string"
    )


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ([1], "schema must be a JSON object"),
        ({"type": "text"}, "schema.type: 'text' is not one of"),
        ({"properties": {"a": 3}}, "schema.properties.a must be a schema"),
        ({"required": "a"}, "schema.required must be a list of property names"),
        ({"$ref": "#/$defs/Nope"}, "$ref '#/$defs/Nope' points at nothing"),
        ({"$ref": "http://x/s.json"}, "only local $ref are supported"),
        ({"pattern": "("}, "schema.pattern is not a regular expression"),
    ],
)
def test_an_unusable_schema_is_refused_naming_where(schema: object, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_schema(schema)
    assert words in str(caught.value)


# Schemas of the kind the providers' structured outputs take, generated.
_LEAVES = st.one_of(
    st.just({"type": "string"}),
    st.builds(
        lambda low, extra: {
            "type": "string",
            "minLength": low,
            "maxLength": low + extra,
        },
        st.integers(0, 40),
        st.integers(0, 10),
    ),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.builds(
        lambda low, width: {"type": "integer", "minimum": low, "maximum": low + width},
        st.integers(-1000, 1000),
        st.integers(0, 50),
    ),
    st.builds(
        lambda low: {"type": "number", "exclusiveMinimum": low},
        st.floats(-1e6, 1e6, allow_nan=False),
    ),
    st.builds(
        lambda step: {"type": "integer", "multipleOf": step, "minimum": 1},
        st.integers(1, 9),
    ),
    st.lists(st.one_of(st.text(max_size=5), st.integers()), min_size=1, max_size=4).map(
        lambda options: {"enum": options}
    ),
    st.sampled_from(["date", "date-time", "email", "uuid"]).map(
        lambda name: {"type": "string", "format": name}
    ),
)


def _object(children: dict[str, Any], strict: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": children}
    if strict:
        schema |= {"required": list(children), "additionalProperties": False}
    return schema


SCHEMAS = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.builds(
            _object,
            st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
            st.booleans(),
        ),
        st.builds(
            lambda items, low: {"type": "array", "items": items, "minItems": low},
            inner,
            st.integers(0, 3),
        ),
        st.lists(inner, min_size=1, max_size=3).map(lambda o: {"anyOf": o}),
        inner.map(lambda s: {"allOf": [s]}),
        inner.filter(lambda s: isinstance(s.get("type"), str)).map(
            lambda s: s | {"type": [s["type"], "null"]}
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(SCHEMAS, st.binary(min_size=1, max_size=16))
def test_the_emulator_answers_json_that_matches_any_schema(
    schema: dict[str, Any], seed: bytes
) -> None:
    check_schema(schema)
    value = value_for(schema, seed)
    assert first_problem(value, schema) is None, value
    assert value_for(schema, seed) == value  # deterministic


def test_the_emulator_answers_recursive_and_referenced_schemas() -> None:
    tree = {
        "$ref": "#/$defs/Node",
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["name", "children"],
            }
        },
    }
    value = value_for(tree, b"seed")
    assert first_problem(value, tree) is None
    assert first_problem(value_for(ORDER, b"x"), ORDER) is None


@pytest.mark.parametrize(
    "body",
    [
        {"response_format": {"type": "json_schema", "json_schema": {"schema": ORDER}}},
        {"text": {"format": {"type": "json_schema", "name": "o", "schema": ORDER}}},
        {"output_config": {"format": {"type": "json_schema", "schema": ORDER}}},
        {"output_format": {"type": "json_schema", "schema": ORDER}},
        {"generationConfig": {"responseJsonSchema": ORDER}},
        {"generationConfig": {"responseSchema": ORDER}},
    ],
)
def test_the_emulator_reads_each_providers_field(body: dict[str, Any]) -> None:
    assert requested_schema(body) == ORDER


def test_the_emulator_ignores_other_formats() -> None:
    assert requested_schema({"response_format": {"type": "json_object"}}) is None
    assert requested_schema({"messages": []}) is None


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(-1e6, 1e6, allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=400, deadline=None)
@given(SCHEMAS, st.binary(min_size=1, max_size=8), JSON, st.data())
def test_the_checker_agrees_with_the_reference_validator(
    schema: dict[str, Any], seed: bytes, other: object, data: st.DataObject
) -> None:
    """Same verdict as the ``jsonschema`` package, on answers that match and on
    values that mostly do not (the emulator's answer with one part replaced)."""
    jsonschema = pytest.importorskip("jsonschema")
    reference = jsonschema.Draft202012Validator(schema)
    good = value_for(schema, seed)
    for value in (good, other, _replace_one(good, other, data)):
        mine = first_problem(value, schema)
        assert (mine is None) == reference.is_valid(value), (value, mine)


def _replace_one(value: Any, new: object, data: st.DataObject) -> Any:
    """``value`` with one part (itself, an item, a property) replaced by ``new``."""
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        return [
            *value[:index],
            _replace_one(value[index], new, data),
            *value[index + 1 :],
        ]
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        return {**value, key: _replace_one(value[key], new, data)}
    return new
