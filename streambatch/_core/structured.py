"""Structured outputs in requests: the field each provider reads a JSON Schema from.

Pure: msgspec and stdlib only. One owner for the wire shapes:

- OpenAI (and Azure, OpenAI-compatible hosts, Mistral) chat completions:
  ``body.response_format = {"type": "json_schema", "json_schema": {"name",
  "schema", "strict"}}``;
- OpenAI responses: ``body.text.format = {"type": "json_schema", "name",
  "schema", "strict"}``;
- Anthropic messages: ``params.output_config.format = {"type": "json_schema",
  "schema"}`` (the beta's ``params.output_format`` is read too);
- Gemini: ``request.generationConfig.responseMimeType = "application/json"`` and
  ``responseJsonSchema`` (``responseSchema``, OpenAPI's subset, is read too).

:class:`SchemaInjector` puts the field into every request of a split that has
none, and reports a line whose request already asks for another format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from .lines import Lines, Overlong
from .requests import Problem, custom_id_in

__all__ = (
    "SchemaInjector",
    "asked_schema",
    "format_fields",
    "is_strict",
    "schema_name",
)

_CHAT = "/v1/chat/completions"
_RESPONSES = "/v1/responses"
_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")
_KEY = re.compile(rb'"key"\s*:\s*"((?:[^"\\]|\\.)*)"')
_GEMINI_CONFIGS = ("generationConfig", "generation_config")
_GEMINI_SCHEMAS = (
    "responseJsonSchema",
    "response_json_schema",
    "responseSchema",
    "response_schema",
)
_ENCODER = msgspec.json.Encoder()


def schema_name(schema: Mapping[str, Any]) -> str:
    """The name OpenAI's ``json_schema`` needs: the schema's ``title``, made of
    letters, digits, ``_`` and ``-`` (64 at most), else ``"output"``."""
    title = schema.get("title")
    name = _NAME_BAD.sub("_", title)[:64] if isinstance(title, str) else ""
    return name or "output"


def is_strict(schema: Any) -> bool:
    """Whether OpenAI's strict mode takes the schema: every object lists all its
    properties as required and allows no others."""
    if isinstance(schema, list):
        return all(map(is_strict, schema))
    if not isinstance(schema, Mapping):
        return True
    if "properties" in schema or schema.get("type") == "object":
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required", ())) != set(properties):
            return False
    return all(is_strict(value) for value in schema.values())


def _openai_format(url: str | None, schema: Mapping[str, Any]) -> dict[str, Any]:
    name, strict = schema_name(schema), is_strict(schema)
    if url == _RESPONSES:
        return {
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": name,
                    "schema": schema,
                    "strict": strict,
                }
            }
        }
    return {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": strict},
        }
    }


def format_fields(
    provider: str, url: str | None, schema: Mapping[str, Any]
) -> dict[str, Any]:
    """The fields to merge into a request body (an OpenAI ``body``, Anthropic
    ``params`` or Gemini ``request``) so that it asks for ``schema``.

    Raises:
        ValueError: the endpoint has no structured output (names the endpoint).
    """
    if provider == "anthropic":
        return {"output_config": {"format": {"type": "json_schema", "schema": schema}}}
    if provider == "gemini":
        return {
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseJsonSchema": schema,
            }
        }
    if url not in (None, _CHAT, _RESPONSES):
        raise ValueError(
            f"{url} has no structured output (only {_CHAT} and {_RESPONSES})"
        )
    return _openai_format(url, schema)


def asked_schema(
    provider: str, url: str | None, body: Mapping[str, Any]
) -> tuple[str, object] | None:
    """The output format a request body already asks for: ``(field, value)``,
    where value is the JSON Schema when it names one, else the whole field (a
    ``json_object`` or ``text`` format, say); None when it asks for none."""
    if provider == "anthropic":
        config = body.get("output_config")
        if isinstance(config, Mapping) and "format" in config:
            return "output_config.format", _schema_in(config["format"])
        if "output_format" in body:
            return "output_format", _schema_in(body["output_format"])
        return None
    if provider == "gemini":
        for name in _GEMINI_CONFIGS:
            config = body.get(name)
            if not isinstance(config, Mapping):
                continue
            for key in _GEMINI_SCHEMAS:
                if key in config:
                    return f"{name}.{key}", config[key]
        return None
    if url == _RESPONSES:
        text = body.get("text")
        if isinstance(text, Mapping) and "format" in text:
            found = text["format"]
            if isinstance(found, Mapping) and found.get("type") == "text":
                return None  # the default, said out loud
            return "text.format", _schema_in(found)
        return None
    found = body.get("response_format")
    if found is None or (isinstance(found, Mapping) and found.get("type") == "text"):
        return None
    if isinstance(found, Mapping) and isinstance(found.get("json_schema"), Mapping):
        return "response_format", _schema_in(found["json_schema"])
    return "response_format", found


def _schema_in(field: object) -> object:
    if isinstance(field, Mapping) and "schema" in field:
        return field["schema"]
    return field


def _merge(body: dict[str, Any], fields: Mapping[str, Any]) -> None:
    """Merge ``fields`` into ``body``, one level into an existing object (a
    Gemini ``generationConfig``, an OpenAI ``text``)."""
    for key, value in fields.items():
        have = body.get(key)
        if isinstance(have, dict) and isinstance(value, Mapping):
            have.update(value)
        else:
            body[key] = value


class SchemaInjector:
    """Make every request line of a split ask for one JSON Schema.

    Args:
        provider: the job's provider.
        schema: the JSON Schema (checked already).
        flag: what messages call it.

    :meth:`rewrite` returns the frames with each line rewritten, line for line
    (blank and undecodable lines are left for the request checker), and the
    problems: a request that asks for another format, or an endpoint without
    structured output.
    """

    __slots__ = ("_fields", "_flag", "_provider", "_schema", "_wrap")

    def __init__(
        self,
        provider: str,
        schema: Mapping[str, Any],
        *,
        flag: str = "the job's schema",
    ) -> None:
        self._provider = provider
        self._schema = schema
        self._flag = flag
        self._wrap = {"anthropic": "params", "gemini": "request"}.get(provider, "body")
        # the fields to add, per endpoint (made once; merged, never changed)
        self._fields: dict[str | None, dict[str, Any] | str] = {}

    def rewrite(
        self, frames: list[Lines | Overlong]
    ) -> tuple[list[Lines | Overlong], list[Problem]]:
        """The frames asking for the schema, and the problems found."""
        out: list[Lines | Overlong] = []
        problems: list[Problem] = []
        for frame in frames:
            if isinstance(frame, Overlong):
                out.append(frame)
                continue
            lines = bytes(frame.data).split(b"\n")
            done = [
                self._line(line, number, problems)
                for number, line in enumerate(lines, frame.first_line)
            ]
            out.append(Lines(b"\n".join(done), frame.first_line, frame.n_lines))
        return out, problems

    def _line(self, line: bytes, number: int, problems: list[Problem]) -> bytes:
        if not line.strip():
            return line
        try:
            item = msgspec.json.decode(line)
        except msgspec.DecodeError:
            return line  # the checker names it
        body = item.get(self._wrap) if isinstance(item, dict) else None
        if not isinstance(body, dict):
            return line  # likewise
        url = item.get("url") if self._provider not in ("anthropic", "gemini") else None
        url = url if isinstance(url, str) else None
        problem = self._apply(body, url)
        if problem is not None:
            gemini = self._provider == "gemini"
            found = custom_id_in(line, _KEY) if gemini else custom_id_in(line)
            problems.append(Problem(number, found, problem))
            return line
        return _ENCODER.encode(item)

    def _apply(self, body: dict[str, Any], url: str | None) -> str | None:
        """Add the field to ``body``; or say why the line cannot have it."""
        asked = asked_schema(self._provider, url, body)
        if asked is not None:
            field, value = asked
            if value == self._schema:
                return None
            return (
                f"{self._wrap}.{field} asks for another output format than "
                f"{self._flag}: leave it out, or give the same schema"
            )
        fields = self._fields.get(url)
        if fields is None:
            try:
                fields = format_fields(self._provider, url, self._schema)
            except ValueError as exc:
                fields = f"{self._flag}: {exc}"
            self._fields[url] = fields
        if isinstance(fields, str):
            return fields
        _merge(body, fields)
        return None
