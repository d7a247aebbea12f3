"""A JSON Schema as typed Arrow columns (when pyarrow is installed)."""

from __future__ import annotations

import pathlib

import msgspec
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from streambatch._arrow_types import (  # noqa: E402
    arrow_type,
    parsed_array,
    parsed_columns,
    parsed_fields,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "people": {"type": "integer"},
        "area": {"type": ["number", "null"]},
        "kind": {"enum": ["town", "city"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "where": {"$ref": "#/$defs/Where"},
        "extra": {"type": "object"},
        "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    },
    "required": ["city", "people"],
    "$defs": {
        "Where": {
            "type": "object",
            "properties": {"lat": {"type": "number"}, "coastal": {"type": "boolean"}},
        }
    },
}


def test_each_property_gets_a_typed_column() -> None:
    fields = {f.name: f.type for f in parsed_fields(SCHEMA)}
    assert fields == {
        "city": pa.string(),
        "people": pa.int64(),
        "area": pa.float64(),
        "kind": pa.string(),
        "tags": pa.list_(pa.string()),
        "where": pa.struct([("lat", pa.float64()), ("coastal", pa.bool_())]),
        "extra": pa.string(),  # an open object: its JSON text
        "either": pa.string(),  # a union of types: its JSON text
    }
    assert all(f.nullable for f in parsed_fields(SCHEMA))


def test_a_recursive_schema_ends_in_json_text() -> None:
    node = {
        "$ref": "#/$defs/Node",
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                },
            }
        },
    }
    assert arrow_type(node) == pa.struct([("kids", pa.list_(pa.string()))])


class Where(msgspec.Struct):
    lat: float
    coastal: bool


def test_parsed_values_round_trip_through_parquet(tmp_path: pathlib.Path) -> None:
    values = [
        {
            "city": "Oslo",
            "people": 700000,
            "area": None,
            "kind": "city",
            "tags": ["cold"],
            "where": Where(59.9, True),
            "extra": {"a": [1]},
            "either": 3,
        },
        None,  # an errored record
        {"city": "Tiny", "people": 3},
    ]
    assert parsed_array(values, SCHEMA).null_count == 1
    table = pa.Table.from_arrays(
        parsed_columns(values, SCHEMA), schema=pa.schema(parsed_fields(SCHEMA))
    )
    pq.write_table(table, tmp_path / "out.parquet")
    back = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert back[0]["where"] == {"lat": 59.9, "coastal": True}
    assert back[0]["extra"] == '{"a":[1]}' and back[0]["either"] == "3"
    assert back[1]["city"] is None
    assert back[2] == {
        "city": "Tiny",
        "people": 3,
        "area": None,
        "kind": None,
        "tags": None,
        "where": None,
        "extra": None,
        "either": None,
    }
