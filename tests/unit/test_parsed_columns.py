"""The parsed columns of a structured job, laid out per format (pyarrow)."""

from __future__ import annotations

import json

import pytest

pa = pytest.importorskip("pyarrow")

from streambatch._tables.parsed import ParsedColumns  # noqa: E402

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "count": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name"],
}
VALUES = [{"name": "a", "count": 1, "tags": ["x"]}, None, {"name": "b"}]


def test_columns_one_typed_column_per_property_null_where_none() -> None:
    parsed = ParsedColumns(SCHEMA, "columns")
    fields = parsed.fields()
    assert [(f.name, f.type) for f in fields] == [
        ("parsed_name", pa.string()),
        ("parsed_count", pa.int64()),
        ("parsed_tags", pa.list_(pa.string())),
    ]
    arrays = parsed.arrays(VALUES)
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    assert table.to_pylist() == [
        {"parsed_name": "a", "parsed_count": 1, "parsed_tags": ["x"]},
        {"parsed_name": None, "parsed_count": None, "parsed_tags": None},
        {"parsed_name": "b", "parsed_count": None, "parsed_tags": None},
    ]


def test_struct_and_json_layouts_give_one_parsed_column() -> None:
    (struct,) = ParsedColumns(SCHEMA, "struct").arrays(VALUES)
    assert struct.to_pylist()[0] == {"name": "a", "count": 1, "tags": ["x"]}
    assert struct.to_pylist()[1] is None
    (text,) = ParsedColumns(SCHEMA, "json").arrays(VALUES)
    assert [None if t is None else json.loads(t) for t in text.to_pylist()] == VALUES


def test_a_schema_that_is_not_an_object_gives_one_typed_parsed_column() -> None:
    parsed = ParsedColumns({"type": "array", "items": {"type": "integer"}}, "columns")
    assert [(f.name, f.type) for f in parsed.fields()] == [
        ("parsed", pa.list_(pa.int64()))
    ]
    assert parsed.arrays([[1, 2], None])[0].to_pylist() == [[1, 2], None]


def test_a_value_arrow_cannot_hold_is_null_and_the_rest_are_kept() -> None:
    parsed = ParsedColumns(SCHEMA, "columns")
    values = [{"name": "big", "count": 2**70}, {"name": "ok", "count": 3}]
    names, counts, _ = parsed.arrays(values)
    assert names.to_pylist() == [None, "ok"]
    assert counts.to_pylist() == [None, 3]
