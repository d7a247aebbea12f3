"""What ``schema=`` may be, and how each kind decodes a reply's JSON text.

Pure: msgspec and stdlib (pydantic only when the user's model is one, and then
it is imported already). A schema is one of:

- a ``msgspec.Struct`` type, a dataclass or a ``TypedDict``: decoded by msgspec;
- a pydantic model class: validated by pydantic (``model_validate_json``);
- a JSON Schema, as a ``dict``: decoded to plain values, then checked by
  ``_core.jsonschema``.

Anything else is refused when the schema is given (:func:`structure_for` raises
``TypeError``), never record by record. Each kind raises :class:`SchemaMismatch`
with one sentence that starts with the path that failed
(``$.items[2].price: expected number, got string``).
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Mapping
from typing import Any, Protocol

import msgspec

from .jsonschema import check_schema, first_problem

__all__ = ("SchemaMismatch", "Structure", "json_schema_for", "structure_for")

_KINDS = (
    "a msgspec.Struct type, a dataclass, a TypedDict, a pydantic model class, "
    "or a JSON Schema dict"
)


class SchemaMismatch(ValueError):
    """A reply's text does not match the schema; the message names the path."""


class Structure(Protocol):
    """Decodes one reply text, or raises :class:`SchemaMismatch`."""

    def decode(self, text: str) -> Any: ...


def _pydantic_model(schema: object) -> bool:
    pydantic = sys.modules.get("pydantic")  # a model's module imported it already
    base = getattr(pydantic, "BaseModel", None)
    return base is not None and isinstance(schema, type) and issubclass(schema, base)


def _msgspec_type(schema: object) -> bool:
    if not isinstance(schema, type):
        return False
    return (
        issubclass(schema, msgspec.Struct)
        or dataclasses.is_dataclass(schema)
        or typing.is_typeddict(schema)
    )


def structure_for(schema: object) -> Structure | None:
    """The decoder for ``schema`` (None for None).

    Raises:
        TypeError: ``schema`` is none of the kinds above.
        ConfigError: a JSON Schema dict that cannot be checked (names where).
    """
    if schema is None or isinstance(schema, _Msgspec | _JsonSchema | _Pydantic):
        return schema
    if _pydantic_model(schema):
        return _Pydantic(schema)
    if _msgspec_type(schema):
        return _Msgspec(schema)
    if isinstance(schema, Mapping):
        check_schema(schema)
        return _JsonSchema(schema)
    raise TypeError(f"schema must be {_KINDS}, not {schema!r}")


def json_schema_for(schema: object) -> dict[str, Any]:
    """The JSON Schema to send to the provider for ``schema``: its root is the
    object itself (a ``$ref`` root, as msgspec writes, is inlined).

    Raises:
        TypeError, ConfigError: as :func:`structure_for`.
    """
    structure_for(schema)  # refuses what is not a schema
    if isinstance(schema, Mapping):
        return dict(schema)
    if _pydantic_model(schema):
        made: dict[str, Any] = schema.model_json_schema()  # type: ignore[attr-defined]
    else:
        made = msgspec.json.schema(schema)
    ref = made.get("$ref")
    defs = made.get("$defs", {})
    prefix = "#/$defs/"
    if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] in defs:
        name = ref[len(prefix) :]
        root = dict(defs[name])
        others = {k: v for k, v in defs.items() if k != name or _refers(defs, ref)}
        if others:
            root["$defs"] = others
        return root
    return made


def _refers(defs: Mapping[str, Any], ref: str) -> bool:
    """Whether any definition refers to ``ref`` (a recursive type keeps it)."""
    return ref.encode() in msgspec.json.encode(defs)


def msgspec_message(message: str) -> str:
    """msgspec's ``Expected `int`, got `str` - at `$.a[0]``` as
    ``$.a[0]: expected int, got str``."""
    what, _, where = message.partition(" - at `")
    path = where.rstrip("`") or "$"
    what = what.replace("`", "")
    field = "Object missing required field "
    if what.startswith(field):
        return f"{path}.{what.removeprefix(field)}: required property missing"
    return f"{path}: {what[:1].lower()}{what[1:]}"


class _Msgspec:
    __slots__ = ("_decoder",)

    def __init__(self, schema: Any) -> None:
        self._decoder = msgspec.json.Decoder(schema)

    def decode(self, text: str) -> Any:
        try:
            return self._decoder.decode(text)
        except msgspec.ValidationError as exc:
            raise SchemaMismatch(msgspec_message(str(exc))) from None
        except msgspec.DecodeError as exc:
            raise SchemaMismatch(f"$: not valid JSON ({exc})") from None


class _JsonSchema:
    __slots__ = ("_schema",)

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._schema = schema

    def decode(self, text: str) -> Any:
        try:
            value = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise SchemaMismatch(f"$: not valid JSON ({exc})") from None
        problem = first_problem(value, self._schema)
        if problem is not None:
            raise SchemaMismatch(problem)
        return value


class _Pydantic:
    __slots__ = ("_model",)

    def __init__(self, model: Any) -> None:
        self._model = model

    def decode(self, text: str) -> Any:
        try:
            return self._model.model_validate_json(text)
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            errors = getattr(exc, "errors", None)
            if errors is None:
                raise
            first = errors()[0]
            path = "$" + "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}"
                for part in first.get("loc", ())
            )
            raise SchemaMismatch(f"{path}: {first.get('msg', exc)}") from None
