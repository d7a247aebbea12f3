"""A JSON Schema as Arrow types: the typed columns of parsed structured outputs.

Needs pyarrow (the Parquet extra); nothing imports this module unless it writes
Parquet. The mapping:

========================================  =====================================
JSON Schema                               Arrow
========================================  =====================================
``string`` (any ``format``)               ``string``
``integer``                               ``int64``
``number``                                ``float64``
``boolean``                               ``bool``
``null``                                  ``null``
``enum``/``const`` of one JSON type        that type
``array`` of ``items``                    ``list<items>``
``object`` with ``properties``            ``struct`` (a field per property)
``T`` or null (a type list, ``anyOf``,    ``T``, nullable
``nullable``)
anything else: an open object, a union    ``string`` holding the value's JSON
of types, a recursive ``$ref``
========================================  =====================================

Every field is nullable: an errored record has no parsed value, and an optional
property may be absent. :func:`parsed_array` turns the parsed values of a block
of records (plain values or msgspec/dataclass/pydantic objects; None for a record
without one) into one ``StructArray`` column whose children are the typed columns.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.json as pajson

from ._core.jsonschema import JSON_TYPES, json_type, resolve

__all__ = ("arrow_type", "parsed_array", "parsed_columns", "parsed_fields")

_SCALARS = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "null": pa.null(),
}
_JSON = pa.string()  # the fallback: the value's JSON text
_JSON_TEXT = "json"  # what _plan marks a JSON-text column with
_LINES = msgspec.json.Encoder()


def _kinds(root: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Any]:
    """The alternatives a schema allows, nulls last (a type list, anyOf, oneOf)."""
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list):
            return [resolve(root, o) if isinstance(o, Mapping) else o for o in options]
    kind = schema.get("type")
    if isinstance(kind, list):
        return [{**schema, "type": name} for name in kind]
    if schema.get("nullable") is True:
        return [{**schema, "nullable": False}, {"type": "null"}]
    return [schema]


def _plan(
    root: Mapping[str, Any], schema: object, seen: frozenset[int]
) -> tuple[pa.DataType, Any]:
    """The Arrow type of ``schema`` and how values are shaped for it: None (as
    they are), ``"json"`` (encoded as JSON text), a list plan (each item's) or
    a dict of the fields' plans."""
    if not isinstance(schema, Mapping):
        return _JSON, _JSON_TEXT  # true: anything
    schema = resolve(root, schema)
    if id(schema) in seen:
        return _JSON, _JSON_TEXT  # recursive: its JSON text
    seen = seen | {id(schema)}
    options = [o for o in _kinds(root, schema) if _name(o) != "null"]
    if len(options) != 1:
        return (_JSON, _JSON_TEXT) if options else (pa.null(), None)
    (schema,) = options
    if not isinstance(schema, Mapping):
        return _JSON, _JSON_TEXT
    name = _name(schema)
    if name == "array":
        item, plan = _plan(root, schema.get("items", True), seen)
        return pa.list_(item), [plan]
    if name == "object":
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or not properties:
            return _JSON, _JSON_TEXT  # an open object: no columns to give it
        fields, plans = [], {}
        for key, sub in properties.items():
            kind, plans[key] = _plan(root, sub, seen)
            fields.append(pa.field(key, kind, nullable=True))
        return pa.struct(fields), plans
    if name in _SCALARS:
        return _SCALARS[name], None
    return _JSON, _JSON_TEXT


def _name(schema: object) -> str | None:
    """The one JSON type a schema stands for, or None (several, or unknown)."""
    if not isinstance(schema, Mapping):
        return None
    kind = schema.get("type")
    if isinstance(kind, str) and kind.lower() in JSON_TYPES:
        return kind.lower()
    values = schema.get("enum")
    if "const" in schema:
        values = [schema["const"]]
    if isinstance(values, list) and values:
        kinds = {json_type(v) for v in values}
        if kinds <= {"integer", "number"} and "number" in kinds:
            return "number"
        return kinds.pop() if len(kinds) == 1 else None
    if "properties" in schema:
        return "object"
    return None


def arrow_type(schema: Mapping[str, Any]) -> pa.DataType:
    """The Arrow type of values that match ``schema`` (see the table above)."""
    return _plan(schema, schema, frozenset())[0]


def parsed_fields(schema: Mapping[str, Any]) -> list[pa.Field]:
    """The typed columns of an object schema: one nullable field per property
    (a schema that is not an object with properties gives one ``parsed``
    field)."""
    kind = arrow_type(schema)
    if pa.types.is_struct(kind):
        return [kind.field(i) for i in range(kind.num_fields)]
    return [pa.field("parsed", kind, nullable=True)]


def _shape(value: Any, plan: Any) -> Any:
    if value is None:
        return None
    if plan == _JSON_TEXT:
        return msgspec.json.encode(value).decode()
    if isinstance(plan, list):
        return [_shape(item, plan[0]) for item in value]
    if isinstance(plan, dict):
        return {key: _shape(value.get(key), sub) for key, sub in plan.items()}
    return value


def parsed_array(values: list[Any], schema: Mapping[str, Any]) -> pa.Array:
    """One column of the parsed values of a block of records, typed by
    ``schema`` (None where a record has no parsed value).

    Raises:
        pyarrow.ArrowInvalid, pyarrow.ArrowTypeError: a value does not match
            (it was not checked against ``schema``).
    """
    kind, plan = _plan(schema, schema, frozenset())
    plain = [None if v is None else msgspec.to_builtins(_builtin(v)) for v in values]
    return _from_values([_shape(v, plan) for v in plain], kind)


def _from_values(values: list[Any], kind: pa.DataType) -> pa.Array:
    """An array of ``kind`` holding ``values`` (plain values shaped for it).

    Not ``pyarrow.array``: given a Python list, it imports pandas when that is
    installed (some 40 MiB, to ask whether the list is a pandas object). The
    values go through pyarrow's JSON reader instead, one ``{"v": value}`` line
    each, read with ``kind`` as the explicit type.
    """
    if not values or pa.types.is_null(kind):
        return pa.nulls(len(values), kind)
    data = _LINES.encode_lines([{"v": v} for v in values])
    table = pajson.read_json(
        io.BytesIO(data),
        read_options=pajson.ReadOptions(use_threads=False, block_size=len(data) + 1),
        parse_options=pajson.ParseOptions(
            explicit_schema=pa.schema([pa.field("v", kind)]),
            unexpected_field_behavior="error",
        ),
    )
    return table.column(0).combine_chunks()


def parsed_columns(values: list[Any], schema: Mapping[str, Any]) -> list[pa.Array]:
    """The typed columns of :func:`parsed_fields`, in order, for the parsed
    values of a block of records (a record without one is null in each)."""
    column = parsed_array(values, schema)
    if pa.types.is_struct(column.type):
        return list(column.flatten())  # the children, with the records' nulls
    return [column]


def _builtin(value: Any) -> Any:
    """A pydantic model as plain values; anything else as it is."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value
