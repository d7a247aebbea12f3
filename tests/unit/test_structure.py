"""schema= takes msgspec structs, dataclasses, TypedDicts, pydantic models and
JSON Schema dicts, and refuses anything else when it is given."""

from __future__ import annotations

import dataclasses
from typing import Any, TypedDict

import msgspec
import pytest

from streambatch import ConfigError
from streambatch._core.jsonschema import first_problem
from streambatch._core.structure import SchemaMismatch, json_schema_for, structure_for


class Item(msgspec.Struct):
    sku: str
    price: float


class Order(msgspec.Struct):
    id: int
    items: list[Item]


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


GOOD = '{"id": 1, "items": [{"sku": "a", "price": 2.5}]}'
BAD = '{"id": 1, "items": [{"sku": "a", "price": 2}, {"sku": "b", "price": "x"}]}'


def mismatch(schema: object, text: str) -> str:
    structure = structure_for(schema)
    assert structure is not None
    with pytest.raises(SchemaMismatch) as caught:
        structure.decode(text)
    return str(caught.value)


def test_a_msgspec_struct_decodes_and_a_mismatch_names_the_path() -> None:
    structure = structure_for(Order)
    assert structure is not None
    assert structure.decode(GOOD) == Order(1, [Item("a", 2.5)])
    assert mismatch(Order, BAD) == "$.items[1].price: expected float, got str"
    assert mismatch(Order, '{"items": []}') == "$.id: required property missing"
    assert mismatch(Order, "{").startswith("$: not valid JSON")


def test_a_dataclass_and_a_typeddict_decode() -> None:
    point = structure_for(Point)
    movie = structure_for(Movie)
    assert point is not None and movie is not None
    assert point.decode('{"x": 1, "y": 2}') == Point(1, 2)
    assert movie.decode('{"title": "M", "year": 1931}') == {"title": "M", "year": 1931}
    assert mismatch(Movie, '{"title": "M", "year": "x"}') == (
        "$.year: expected int, got str"
    )


def test_a_json_schema_dict_gives_plain_values() -> None:
    schema = json_schema_for(Order)
    structure = structure_for(schema)
    assert structure is not None
    assert structure.decode(GOOD) == {"id": 1, "items": [{"sku": "a", "price": 2.5}]}
    assert mismatch(schema, BAD) == "$.items[1].price: expected number, got string"


def test_json_schema_for_puts_the_type_at_the_root() -> None:
    schema = json_schema_for(Order)
    assert schema["type"] == "object"
    assert schema["required"] == ["id", "items"]
    assert "Item" in schema["$defs"] and "Order" not in schema["$defs"]
    assert first_problem({"id": 1, "items": [{"sku": "a", "price": 1}]}, schema) is None


def test_a_pydantic_model_is_validated_by_pydantic() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Person(pydantic.BaseModel):  # type: ignore[misc,name-defined]
        name: str
        tags: list[int]

    structure = structure_for(Person)
    assert structure is not None
    person = structure.decode('{"name": "Ada", "tags": [1]}')
    assert isinstance(person, Person) and person.tags == [1]
    assert mismatch(Person, '{"name": "Ada", "tags": [1, "x"]}').startswith(
        "$.tags[1]: Input should be a valid integer"
    )
    assert json_schema_for(Person)["properties"]["name"] == {
        "title": "Name",
        "type": "string",
    }


@pytest.mark.parametrize("schema", [int, str, list[int], "Order", Order(1, []), 3])
def test_anything_else_is_refused_up_front(schema: Any) -> None:
    with pytest.raises(TypeError, match=r"schema must be a msgspec\.Struct type"):
        structure_for(schema)
    with pytest.raises(TypeError):
        json_schema_for(schema)


def test_a_broken_json_schema_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match=r"schema\.type: 'text' is not one of"):
        structure_for({"type": "text"})
