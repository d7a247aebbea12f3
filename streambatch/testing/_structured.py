"""Deterministic JSON answers for requests that ask for a JSON Schema.

A request asks for structured output through OpenAI's ``response_format``
(``json_schema``) or ``text.format`` (responses), Anthropic's
``output_config.format`` (or the beta's ``output_format``), or Gemini's
``generationConfig.responseJsonSchema`` / ``responseSchema``. The emulator then
answers a JSON value that matches the schema, derived from a seed (the request
body's hash), so a structured job is testable without a key. Stdlib only: the
emulator stands alone.

Handled: ``type`` (one or a list, Gemini's upper-case names too), ``enum``,
``const``, ``properties`` (every one is given), ``items``, ``prefixItems``,
``minItems``/``maxItems``, ``minLength``/``maxLength``, ``minimum``/``maximum``
and their exclusive forms, ``multipleOf``, ``anyOf``/``oneOf`` (the first
option), ``allOf`` (merged), local ``$ref``, ``nullable`` and a few string
``format``s. ``pattern`` is not generated for.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

__all__ = ("requested_schema", "value_for")

_WORDS = ("amber", "birch", "cedar", "delta", "ember", "fern", "heron", "maple")
_FORMATS = {
    "date": "2026-01-02",
    "date-time": "2026-01-02T03:04:05Z",
    "time": "03:04:05",
    "email": "ada@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}
_DEEP = 12  # below this depth only what is required is made (recursive schemas)


def _schema_of(field: object) -> Mapping[str, Any] | None:
    if not isinstance(field, Mapping) or field.get("type") != "json_schema":
        return None
    inner = field.get("json_schema", field)  # chat nests it; the others do not
    schema = inner.get("schema") if isinstance(inner, Mapping) else None
    return schema if isinstance(schema, Mapping) else None


def requested_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JSON Schema a request body (an OpenAI ``body``, Anthropic ``params``
    or Gemini ``request``) asks the answer to match, or None."""
    found = _schema_of(body.get("response_format"))
    text = body.get("text")
    if found is None and isinstance(text, Mapping):
        found = _schema_of(text.get("format"))
    config = body.get("output_config")
    if found is None and isinstance(config, Mapping):
        found = _schema_of(config.get("format"))
    if found is None:
        found = _schema_of(body.get("output_format"))
    for name in ("generationConfig", "generation_config"):
        config = body.get(name)
        if found is not None or not isinstance(config, Mapping):
            continue
        for key in ("responseJsonSchema", "response_json_schema"):
            if isinstance(config.get(key), Mapping):
                found = config[key]
        for key in ("responseSchema", "response_schema"):
            if found is None and isinstance(config.get(key), Mapping):
                found = config[key]
    return found


def value_for(schema: Mapping[str, Any], seed: bytes) -> Any:
    """A JSON value (dicts, lists, str, int, float, bool, None) that matches
    ``schema``, the same for the same seed."""
    return _Maker(schema, random.Random(seed)).make(schema, 0)


class _Maker:
    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self._root = root
        self._rng = rng

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        for _ in range(64):
            ref = schema.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#"):
                return schema
            target: Any = self._root
            for part in ref[1:].split("/")[1:]:
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
            schema = target if isinstance(target, Mapping) else {}
        return schema

    def make(self, schema: Mapping[str, Any] | bool, depth: int) -> Any:
        if not isinstance(schema, Mapping):
            return None  # true: anything goes; false: nothing can match
        schema = self._merged(self._resolve(schema))
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                rest = {k: v for k, v in schema.items() if k != key}
                first = options[0] if isinstance(options[0], Mapping) else {}
                return self.make({**rest, **first}, depth)
        kind = self._type(schema, depth)
        return getattr(self, f"_{kind}", self._null)(schema, depth)

    def _merged(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        parts = schema.get("allOf")
        if not isinstance(parts, list):
            return schema
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in parts:
            part = (
                self._merged(self._resolve(part)) if isinstance(part, Mapping) else {}
            )
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def _type(self, schema: Mapping[str, Any], depth: int) -> str:
        kind = schema.get("type")
        names = [kind] if isinstance(kind, str) else list(kind or [])
        names = [str(name).lower() for name in names]
        if not names:
            if "properties" in schema:
                return "object"
            return "array" if "items" in schema else "string"
        if depth >= _DEEP and "null" in names:
            return "null"
        solid = [name for name in names if name != "null"] or names
        return self._rng.choice(solid)

    def _null(self, schema: Mapping[str, Any], depth: int) -> None:
        return None

    def _boolean(self, schema: Mapping[str, Any], depth: int) -> bool:
        return self._rng.random() < 0.5

    def _string(self, schema: Mapping[str, Any], depth: int) -> str:
        shown = _FORMATS.get(str(schema.get("format")))
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", max(low, 24)))
        if shown is not None and low <= len(shown) <= high:
            return shown
        words: list[str] = []
        while sum(map(len, words)) + len(words) < max(low, 1):
            words.append(self._rng.choice(_WORDS))
        text = " ".join(words) if words else ""
        text = text[:high] if high >= low else text
        return text + "x" * (low - len(text))

    def _bounds(self, schema: Mapping[str, Any], whole: bool) -> tuple[float, float]:
        low = float(schema.get("minimum", -math.inf))
        high = float(schema.get("maximum", math.inf))
        step = 1 if whole else 0.5
        if "exclusiveMinimum" in schema:
            low = max(low, float(schema["exclusiveMinimum"]) + step)
        if "exclusiveMaximum" in schema:
            high = min(high, float(schema["exclusiveMaximum"]) - step)
        if math.isinf(low) and math.isinf(high):
            low, high = 0, 100
        elif math.isinf(low):
            low = high - 100
        elif math.isinf(high):
            high = low + 100
        return low, high

    def _integer(self, schema: Mapping[str, Any], depth: int) -> int:
        low, high = self._bounds(schema, True)
        first, last = math.ceil(low), math.floor(high)
        step = schema.get("multipleOf")
        if isinstance(step, int) and not isinstance(step, bool) and step > 0:
            first, last = -(-first // step), last // step  # multiples' indices
            return self._rng.randint(first, max(first, last)) * step
        return self._rng.randint(first, max(first, last))

    def _number(self, schema: Mapping[str, Any], depth: int) -> float:
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
            low, high = self._bounds(schema, False)
            first, last = math.ceil(low / step), math.floor(high / step)
            value = self._rng.randint(first, max(first, last)) * step
            return float(value) if isinstance(value, float) else value
        low, high = self._bounds(schema, False)
        value = self._rng.uniform(low, high) if low < high else low
        short = round(value, 2)
        return short if low <= short <= high else value

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(low, 2)))
        count = low if depth >= _DEEP else max(low, min(high, 2))
        prefix = schema.get("prefixItems")
        items = schema.get("items", {})
        if isinstance(items, list):  # the older tuple form
            prefix, items = items, schema.get("additionalItems", {})
        made = []
        for index in range(count):
            if isinstance(prefix, list) and index < len(prefix):
                made.append(self.make(prefix[index], depth + 1))
            else:
                made.append(self.make(items, depth + 1))
        return made

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        made = {}
        for name, sub in properties.items():
            if depth < _DEEP or name in required:
                made[name] = self.make(sub, depth + 1)
        for name in required - made.keys():
            extra = schema.get("additionalProperties", {})
            made[name] = self.make(extra if isinstance(extra, Mapping) else {}, depth)
        return made
