"""The public value types: result records and their parts.

A leaf module: it imports nothing from the package. Every record here is a frozen
msgspec Struct, so it encodes to exactly the JSON of DESIGN.md "Result records".
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = ("Result", "ResultError", "Status", "StopReason", "Usage")

Status = Literal["succeeded", "errored", "canceled", "expired"]
"""The outcome of one request."""

StopReason = Literal[
    "end", "max_tokens", "stop_sequence", "tool_use", "content_filter", "refusal"
]
"""Why the model stopped, normalised across providers (see docs/parsing.md)."""


class Usage(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """Token counts, normalised across providers and endpoints.

    ``input_tokens`` is OpenAI's ``prompt_tokens`` / ``input_tokens`` or Anthropic's
    ``input_tokens``; ``output_tokens`` is ``completion_tokens`` / ``output_tokens``
    (0 for endpoints that produce none, such as embeddings). ``cached_tokens``
    is how many of the input tokens were read from the provider's prompt cache
    (OpenAI's ``cached_tokens``, Anthropic's ``cache_read_input_tokens``,
    Gemini's ``cachedContentTokenCount``), None when the provider gave no such
    count; a JSON record's ``usage`` leaves it out then.
    """

    input_tokens: int
    output_tokens: int
    cached_tokens: int | None = None


class ResultError(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Why a request did not succeed.

    ``type`` is the provider's error type or code (``invalid_request_error``,
    ``batch_expired``, ...) or one of streambatch's own (``malformed_output``,
    ``refusal``, ``schema_mismatch``, ``missing``). ``status_code`` is the HTTP
    status the provider gave the request, or None when there was none.
    """

    type: str
    message: str
    status_code: int | None = None


class Result(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The outcome of one request, matched to its ``custom_id``.

    Encoded with ``msgspec.json.encode`` it is one line of a results file. The
    ``response`` field (the provider's raw response body) is present only when it
    was asked for, and ``parsed`` only when a schema was given; both are otherwise
    left out of the JSON.

    ``stop_reason`` is why the model stopped (:data:`StopReason`), or None when
    the provider gave none. An answer cut off at the token limit is
    ``succeeded`` with ``stop_reason`` ``"max_tokens"``.
    """

    custom_id: str
    status: Status
    text: str | None = None
    usage: Usage | None = None
    stop_reason: StopReason | None = None
    error: ResultError | None = None
    batch_id: str | None = None
    attempt: int = 1
    response: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    parsed: Any = msgspec.UNSET
