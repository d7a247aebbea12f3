"""Check a JSON Schema, and check decoded JSON values against it, naming the path.

Pure: stdlib only. The subset is what the providers' structured outputs accept
(OpenAI's strict mode, Anthropic's and Gemini's JSON schemas): ``type`` (one or a
list), ``enum``, ``const``, ``properties``, ``required``, ``additionalProperties``,
``items``, ``prefixItems``, ``minItems``/``maxItems``, ``minLength``/``maxLength``,
``pattern``, ``minimum``/``maximum`` and their exclusive forms, ``multipleOf``,
``anyOf``/``oneOf``/``allOf``, local ``$ref`` (``#/$defs/...``,
``#/definitions/...``) and OpenAPI's ``nullable``. Other keywords (``format``,
``description``, ``title``...) are annotations and are not checked, as JSON Schema
says. Gemini's upper-case type names (``OBJECT``) are read as their lower-case ones.

A problem is one sentence that starts with the path that failed, in JSONPath form:
``$.items[2].price: expected number, got string``.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import ConfigError

__all__ = ("JSON_TYPES", "check_schema", "first_problem", "json_type", "resolve")

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
"""The type names JSON Schema knows."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "definitions")


def json_type(value: object) -> str:
    """The JSON type of a decoded value (a float with no fraction is a number)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _key(path: str, name: str) -> str:
    """``path`` and a property: ``$.name``, or ``$["a b"]`` for other keys."""
    if _NAME.match(name):
        return f"{path}.{name}"
    return f"{path}[{json.dumps(name, ensure_ascii=False)}]"


def _types(schema: Mapping[str, Any]) -> list[str] | None:
    """The type names a schema allows, lower-cased, or None for any."""
    kind = schema.get("type")
    if kind is None:
        return None
    names = [kind] if isinstance(kind, str) else list(kind)
    found = [str(name).lower() for name in names]
    if schema.get("nullable") is True:
        found.append("null")
    return found


def resolve(root: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema``, or what its local ``$ref`` points to in ``root`` (followed
    until it is not a reference).

    Raises:
        ConfigError: the reference is not local or points at nothing.
    """
    seen = 0
    while "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ConfigError(f"schema: only local $ref are supported, not {ref!r}")
        target: Any = root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or part not in target:
                raise ConfigError(f"schema: $ref {ref!r} points at nothing")
            target = target[part]
        if not isinstance(target, Mapping):
            raise ConfigError(f"schema: $ref {ref!r} is not a schema")
        schema = target
        seen += 1
        if seen > 64:
            raise ConfigError(f"schema: $ref {ref!r} refers to itself")
    return schema


def check_schema(schema: object, where: str = "schema") -> None:
    """Refuse what is not a JSON Schema this module can check.

    Raises:
        ConfigError: naming the place (``schema.properties.price.type``) and why.
    """
    if not isinstance(schema, Mapping):
        raise ConfigError(f"{where} must be a JSON object (a schema)")
    _check(schema, schema, where)


def _check(root: Mapping[str, Any], schema: Mapping[str, Any], where: str) -> None:
    if "$ref" in schema:
        resolve(root, schema)
    kind = schema.get("type")
    if kind is not None:
        names = [kind] if isinstance(kind, str) else kind
        if not isinstance(names, list) or not names:
            raise ConfigError(f"{where}.type must be a type name or a list of them")
        for name in names:
            if not isinstance(name, str) or name.lower() not in JSON_TYPES:
                raise ConfigError(
                    f"{where}.type: {name!r} is not one of {', '.join(JSON_TYPES)}"
                )
    for key in _SCHEMA_MAPS:
        value = schema.get(key)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}.{key} must be an object of schemas")
        for name, sub in value.items():
            _sub(root, sub, _key(f"{where}.{key}", name))
    for key in _SCHEMA_LISTS:
        value = schema.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise ConfigError(f"{where}.{key} must be a list of schemas")
        for index, sub in enumerate(value):
            _sub(root, sub, f"{where}.{key}[{index}]")
    for key in ("items", "additionalProperties"):
        value = schema.get(key)
        if value is not None and not isinstance(value, bool):
            _sub(root, value, f"{where}.{key}")
    required = schema.get("required")
    if required is not None and not (
        isinstance(required, list) and all(isinstance(n, str) for n in required)
    ):
        raise ConfigError(f"{where}.required must be a list of property names")
    enum = schema.get("enum")
    if enum is not None and not (isinstance(enum, list) and enum):
        raise ConfigError(f"{where}.enum must be a non-empty list")
    pattern = schema.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            message = f"{where}.pattern is not a regular expression: {exc}"
            raise ConfigError(message) from None


def _sub(root: Mapping[str, Any], sub: object, where: str) -> None:
    if isinstance(sub, bool):
        return  # true: anything; false: nothing
    if not isinstance(sub, Mapping):
        raise ConfigError(f"{where} must be a schema (a JSON object)")
    _check(root, sub, where)


def first_problem(
    value: object, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None
) -> str | None:
    """The first way ``value`` (decoded JSON) breaks ``schema``, or None.

    ``root`` is the document ``$ref`` resolves in (``schema`` by default). The
    schema is assumed checked by :func:`check_schema`.
    """
    return _problem(value, schema, root if root is not None else schema, "$")


def _problem(
    value: object, schema: Mapping[str, Any] | bool, root: Mapping[str, Any], path: str
) -> str | None:
    if schema is True:
        return None
    if schema is False:
        return f"{path}: not allowed here"
    schema = resolve(root, schema)
    kind = json_type(value)
    types = _types(schema)
    if types is not None and not _type_ok(value, kind, types):
        return f"{path}: expected {' or '.join(types)}, got {kind}"
    if "const" in schema and not _same(value, schema["const"]):
        return f"{path}: expected {_show(schema['const'])}"
    enum = schema.get("enum")
    if enum is not None and not any(_same(value, option) for option in enum):
        return f"{path}: {_show(value)} is not one of {', '.join(map(_show, enum))}"
    found = _combined(value, schema, root, path)
    if found is not None:
        return found
    if kind == "object":
        return _object(value, schema, root, path)  # type: ignore[arg-type]
    if kind == "array":
        return _array(value, schema, root, path)  # type: ignore[arg-type]
    if kind == "string":
        return _string(value, schema, path)  # type: ignore[arg-type]
    if kind in ("integer", "number"):
        return _number(value, schema, path)  # type: ignore[arg-type]
    return None


def _type_ok(value: object, kind: str, types: list[str]) -> bool:
    if kind in types:
        return True
    if kind == "integer" and "number" in types:
        return True
    return (
        kind == "number"
        and "integer" in types
        and math.isfinite(value)  # type: ignore[arg-type]
        and float(value).is_integer()  # type: ignore[arg-type]
    )


def _same(value: object, other: object) -> bool:
    """JSON equality: ``1`` equals ``1.0``, ``true`` does not equal ``1``."""
    if isinstance(value, bool) or isinstance(other, bool):
        return type(value) is type(other) and value == other
    return value == other


def _show(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _combined(
    value: object, schema: Mapping[str, Any], root: Mapping[str, Any], path: str
) -> str | None:
    for sub in schema.get("allOf", ()):
        found = _problem(value, sub, root, path)
        if found is not None:
            return found
    options = schema.get("anyOf")
    if options is not None:
        problems = [_problem(value, sub, root, path) for sub in options]
        if None not in problems:
            return f"{path}: matches none of anyOf ({problems[0]})"
    options = schema.get("oneOf")
    if options is not None:
        problems = [_problem(value, sub, root, path) for sub in options]
        matched = problems.count(None)
        if matched == 0:
            return f"{path}: matches none of oneOf ({problems[0]})"
        if matched > 1:
            return f"{path}: matches {matched} of oneOf, not exactly one"
    return None


def _object(
    value: Mapping[str, Any],
    schema: Mapping[str, Any],
    root: Mapping[str, Any],
    path: str,
) -> str | None:
    for name in schema.get("required", ()):
        if name not in value:
            return f"{_key(path, name)}: required property missing"
    properties: Mapping[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        sub = properties.get(name, extra)
        if sub is False:
            return f"{_key(path, name)}: property not allowed"
        found = _problem(item, sub, root, _key(path, name))
        if found is not None:
            return found
    return None


def _array(
    value: list[Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str
) -> str | None:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and len(value) < low:
        return f"{path}: expected at least {low} items, got {len(value)}"
    if high is not None and len(value) > high:
        return f"{path}: expected at most {high} items, got {len(value)}"
    items = schema.get("items", True)
    prefix = schema.get("prefixItems")
    if isinstance(items, list):  # the older tuple form
        prefix, items = items, schema.get("additionalItems", True)
    for index, item in enumerate(value):
        sub = prefix[index] if prefix is not None and index < len(prefix) else items
        found = _problem(item, sub, root, f"{path}[{index}]")
        if found is not None:
            return found
    return None


def _string(value: str, schema: Mapping[str, Any], path: str) -> str | None:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and len(value) < low:
        return f"{path}: expected at least {low} characters, got {len(value)}"
    if high is not None and len(value) > high:
        return f"{path}: expected at most {high} characters, got {len(value)}"
    pattern = schema.get("pattern")
    if pattern is not None and re.search(pattern, value) is None:
        return f"{path}: {_show(value)} does not match {pattern!r}"
    return None


def _number(value: float, schema: Mapping[str, Any], path: str) -> str | None:
    bounds: tuple[tuple[str, Callable[[float, float], bool], str], ...] = (
        ("minimum", operator.ge, "at least"),
        ("maximum", operator.le, "at most"),
        ("exclusiveMinimum", operator.gt, "more than"),
        ("exclusiveMaximum", operator.lt, "less than"),
    )
    for key, ok, words in bounds:
        bound = schema.get(key)
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            continue
        if not ok(value, bound):
            return f"{path}: expected {words} {bound}, got {value!r}"
    step = schema.get("multipleOf")
    if isinstance(step, bool) or not isinstance(step, int | float) or step <= 0:
        return None
    if isinstance(value, int) and isinstance(step, int):
        whole = value % step == 0
    else:  # as floats: exact, as JSON Schema's reference validator does it
        quotient = value / step
        whole = math.isfinite(quotient) and quotient == int(quotient)
    if not whole:
        return f"{path}: expected a multiple of {step}, got {value!r}"
    return None
