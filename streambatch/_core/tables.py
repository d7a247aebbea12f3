"""Requests from table rows: each provider's native request line, a row's id, and
what a job remembers of the table it was made from.

Pure: stdlib and msgspec only. The template is rendered elsewhere
(``_tables.render``); this module turns a rendered prompt and the request
parameters into the provider's native line, the same shape a user would write
in a native JSONL input, so the split checks it like any other line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec

from .._errors import ConfigError

__all__ = (
    "TABLE_PROVIDERS",
    "RequestParams",
    "TableSpec",
    "decode_spec",
    "encode_spec",
    "request_builder",
    "row_id",
)


class RequestParams(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """The request parameters every row's request shares.

    Attributes:
        model: the model (Azure: the deployment name).
        system: a system prompt, or None.
        max_tokens: the most tokens an answer may have (Anthropic needs it).
    """

    model: str
    system: str | None = None
    max_tokens: int | None = None


class TableSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a job made from a table remembers, to resume and to join results.

    Attributes:
        provider: the provider the requests were rendered for.
        template: the prompt template.
        id_column: the column the custom_ids come from, or None (a row hash).
        params: the shared request parameters.
        source: the table file (absolute), or "" for rows given from Python
            (then ``rows`` is the job's own copy of them).
        source_sha256: the table file's SHA-256 ("" for rows from Python).
        rows: the job's copy of rows given from Python, relative to the job
            directory, or "".
        columns: the table's columns, in order.
        n_rows: how many rows the table has.
    """

    provider: str
    template: str
    id_column: str | None
    params: RequestParams
    source: str = ""
    source_sha256: str = ""
    rows: str = ""
    columns: list[str] = []
    n_rows: int = 0

    def same_request(self, other: TableSpec) -> bool:
        """Whether ``other`` renders the same requests from the same table."""
        return (
            self.provider == other.provider
            and self.template == other.template
            and self.id_column == other.id_column
            and self.params == other.params
        )


_SPEC = msgspec.json.Decoder(TableSpec)
_ENCODER = msgspec.json.Encoder()


def encode_spec(spec: TableSpec) -> bytes:
    """The spec as JSON."""
    return _ENCODER.encode(spec) + b"\n"


def decode_spec(data: bytes) -> TableSpec:
    """A spec written by :func:`encode_spec` (raises ``msgspec.DecodeError``)."""
    return _SPEC.decode(data)


def row_id(row: dict[str, Any]) -> str:
    """A row's id when no id column is given: a hash of its values, stable across
    runs and machines (``row-`` and 24 hex digits: a valid Anthropic custom_id).

    Identical rows get the same id (the split reports them as duplicates).
    """
    data = msgspec.json.encode(row, enc_hook=str)
    return "row-" + hashlib.sha256(data).hexdigest()[:24]


Builder = Callable[[str, str], dict[str, Any]]
"""``(custom_id, prompt) -> request line`` for one provider and parameters."""


def _openai(params: RequestParams) -> Builder:
    head: list[dict[str, str]] = []
    if params.system is not None:
        head.append({"role": "system", "content": params.system})
    extra: dict[str, Any] = {}
    if params.max_tokens is not None:
        extra["max_tokens"] = params.max_tokens

    def build(custom_id: str, prompt: str) -> dict[str, Any]:
        return {
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": params.model,
                "messages": [*head, {"role": "user", "content": prompt}],
                **extra,
            },
        }

    return build


def _anthropic(params: RequestParams) -> Builder:
    if params.max_tokens is None:
        raise ConfigError(
            "anthropic requests need a token limit: pass --max-tokens N "
            "(max_tokens=N from Python)"
        )
    extra: dict[str, Any] = {}
    if params.system is not None:
        extra["system"] = params.system

    def build(custom_id: str, prompt: str) -> dict[str, Any]:
        return {
            "custom_id": custom_id,
            "params": {
                "model": params.model,
                "max_tokens": params.max_tokens,
                **extra,
                "messages": [{"role": "user", "content": prompt}],
            },
        }

    return build


def _gemini(params: RequestParams) -> Builder:
    extra: dict[str, Any] = {}
    if params.system is not None:
        extra["systemInstruction"] = {"parts": [{"text": params.system}]}
    if params.max_tokens is not None:
        extra["generationConfig"] = {"maxOutputTokens": params.max_tokens}

    def build(custom_id: str, prompt: str) -> dict[str, Any]:
        return {
            "key": custom_id,
            "request": {
                "model": params.model,
                "contents": [{"role": "user", "parts": [{"text": prompt}]}],
                **extra,
            },
        }

    return build


def _mistral(params: RequestParams) -> Builder:
    openai = _openai(params)

    def build(custom_id: str, prompt: str) -> dict[str, Any]:
        line = openai(custom_id, prompt)  # Mistral's body is OpenAI's chat body
        return {"custom_id": custom_id, "body": line["body"]}

    return build


_BUILDERS: dict[str, Callable[[RequestParams], Builder]] = {
    "anthropic": _anthropic,
    "azure": _openai,  # the model names the deployment
    "gemini": _gemini,
    "mistral": _mistral,
    "openai": _openai,
}

TABLE_PROVIDERS = tuple(sorted(_BUILDERS))
"""The providers whose requests can be rendered from a table."""


def request_builder(provider: str, params: RequestParams) -> Builder:
    """The function that makes ``provider``'s native request line from a
    custom_id and a rendered prompt.

    Raises:
        ConfigError: no model, the provider needs a parameter not given, or
            the provider's requests cannot be made from a table.
    """
    if not params.model:
        raise ConfigError("requests from a table need a model: pass --model M")
    make = _BUILDERS.get(provider)
    if make is None:
        raise ConfigError(
            f"requests for {provider} cannot be made from a table yet "
            f"(supported: {', '.join(TABLE_PROVIDERS)})"
        )
    return make(params)
