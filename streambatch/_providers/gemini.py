"""Gemini batch result lines, decoded into result records.

Pure: no I/O. A line of a responses file is ``{"key", "response":
GenerateContentResponse}`` or ``{"key", "error": Status}``; an inline response is
the same with the key in ``metadata.key`` (PROVIDERS.md 5.4 and 5.5). Records are
matched by that key only, never by position: a line without one is malformed.

Text and status of a response:
- the text parts of ``candidates[0].content.parts``, joined with no separator;
  ``thought`` parts are left out (their tokens are in the usage's output). With
  no text part, the first ``functionCall``'s ``args`` as JSON;
- ``finishReason`` ``STOP``, ``MAX_TOKENS`` (or none): ``succeeded``. A safety
  or policy reason (``SAFETY``, ``RECITATION``, ``BLOCKLIST``, ...) makes it
  ``errored`` with type ``refusal``; any other (``MALFORMED_FUNCTION_CALL``,
  ``OTHER``, ...) ``errored`` with the reason in lower case as type. Usage kept;
- no candidate: ``errored``, type ``refusal`` if ``promptFeedback.blockReason``
  says the prompt was blocked, else ``empty_response``;
- stop reason (``_STOP``, the one place it is mapped): ``STOP`` -> ``end``, or
  ``tool_use`` when the text is a ``functionCall``'s args; ``MAX_TOKENS`` ->
  ``max_tokens``; the safety and policy reasons -> ``content_filter`` (also a
  blocked prompt); ``UNEXPECTED_TOOL_CALL`` / ``TOO_MANY_TOOL_CALLS`` ->
  ``tool_use``; any other (``OTHER``, ``MALFORMED_FUNCTION_CALL``, none) None;
- usage: ``promptTokenCount`` in, ``candidatesTokenCount + thoughtsTokenCount``
  out (thinking is billed as output).

An ``error`` Status becomes ``errored``: type the Status's ``status`` name (e.g.
``RESOURCE_EXHAUSTED``), ``status_code`` its HTTP equivalent (Status codes below
100 are gRPC codes and are mapped; others are HTTP already).
"""

from __future__ import annotations

import msgspec

from .._models import Result, ResultError, Status, StopReason, Usage
from .codec import ResultCodec

__all__ = ("GeminiCodec", "http_status")


_NULL = msgspec.Raw(b"null")


class _FunctionCall(msgspec.Struct, gc=False):
    args: msgspec.Raw = _NULL


class _Part(msgspec.Struct, gc=False, rename="camel"):
    text: str | None = None
    thought: bool = False
    function_call: _FunctionCall | None = None


class _Content(msgspec.Struct, gc=False):
    parts: tuple[_Part, ...] = ()


class _Candidate(msgspec.Struct, gc=False, rename="camel"):
    content: _Content | None = None
    finish_reason: str | None = None


class _Feedback(msgspec.Struct, gc=False, rename="camel"):
    block_reason: str | None = None


class _Usage(msgspec.Struct, gc=False, rename="camel"):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    thoughts_token_count: int = 0
    cached_content_token_count: int | None = None


class _Response(msgspec.Struct, gc=False, rename="camel"):
    candidates: tuple[_Candidate, ...] = ()
    usage_metadata: _Usage | None = None
    prompt_feedback: _Feedback | None = None


class _Status(msgspec.Struct, gc=False):
    code: int | None = None
    message: str | None = None
    status: str | None = None


class _Metadata(msgspec.Struct, gc=False):
    key: str | None = None


class _Line(msgspec.Struct, gc=False):
    key: str | None = None
    metadata: _Metadata | None = None
    response: _Response | None = None
    error: _Status | None = None


class _RawLine(msgspec.Struct, gc=False):
    response: msgspec.Raw = _NULL
    error: msgspec.Raw = _NULL


_LINE = msgspec.json.Decoder(_Line)
_RAW_LINE = msgspec.json.Decoder(_RawLine)

_OK = frozenset({None, "STOP", "MAX_TOKENS", "FINISH_REASON_UNSPECIFIED"})
_BLOCKED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)

_STOP: dict[str | None, StopReason] = {
    "STOP": "end",
    "MAX_TOKENS": "max_tokens",
    "UNEXPECTED_TOOL_CALL": "tool_use",
    "TOO_MANY_TOOL_CALLS": "tool_use",
    **dict.fromkeys(_BLOCKED, "content_filter"),
}

# google.rpc.Code -> HTTP status (the mapping in google/rpc/code.proto).
_GRPC_TO_HTTP = {
    0: 200,
    1: 499,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}


def http_status(code: int | None) -> int | None:
    """The HTTP status of a Status ``code`` (a gRPC code below 100, else HTTP)."""
    if code is None or code >= 100:
        return code
    return _GRPC_TO_HTTP.get(code, 500)


def _key(line: _Line) -> str:
    key = line.key
    if key is None and line.metadata is not None:
        key = line.metadata.key
    if key is None:
        raise msgspec.ValidationError("Object missing required field `key`")
    return key


def _text(content: _Content | None) -> tuple[str | None, bool]:
    """(text, whether it is a function call's args)."""
    if content is None:
        return None, False
    texts = [p.text for p in content.parts if p.text is not None and not p.thought]
    if texts:
        return "".join(texts), False
    for part in content.parts:
        if part.function_call is not None and part.function_call.args != _NULL:
            return bytes(part.function_call.args).decode(), True
    return None, False


def _usage(usage: _Usage | None) -> Usage | None:
    if usage is None:
        return None
    output = usage.candidates_token_count + usage.thoughts_token_count
    return Usage(
        input_tokens=usage.prompt_token_count,
        output_tokens=output,
        cached_tokens=usage.cached_content_token_count,
    )


class GeminiCodec(ResultCodec):
    """Decode Gemini batch response lines (file or inline) into records."""

    __slots__ = ()

    def decode_block(self, block: bytes | memoryview) -> list[Result]:
        records = [self._record(line) for line in _LINE.decode_lines(block)]
        if not self._with_response:
            return records
        raws = _RAW_LINE.decode_lines(block)
        return list(map(_with_raw, records, raws))

    def decode_line(self, line: bytes | memoryview) -> Result:
        record = self._record(_LINE.decode(line))
        if not self._with_response:
            return record
        return _with_raw(record, _RAW_LINE.decode(line))

    def _record(self, line: _Line) -> Result:
        key = _key(line)
        if line.error is not None:
            return self._errored(key, line.error)
        response = line.response
        if response is None:
            error = ResultError(type="empty_response", message="no response")
            return self.make(key, "errored", error=error)
        usage = _usage(response.usage_metadata)
        if not response.candidates:
            error = _no_candidate(response)
            stop: StopReason | None = (
                "content_filter" if error.type == "refusal" else None
            )
            return self.make(key, "errored", usage=usage, stop_reason=stop, error=error)
        candidate = response.candidates[0]
        reason = candidate.finish_reason
        text, call = _text(candidate.content)
        stop = "tool_use" if call and reason == "STOP" else _STOP.get(reason)
        if reason in _OK:
            return Result(
                custom_id=key,
                status="succeeded",
                text=text,
                usage=usage,
                stop_reason=stop,
                batch_id=self._batch_id,
                attempt=self._attempt,
            )
        status: Status = "errored"
        if reason in _BLOCKED:
            message = f"the response was blocked (finishReason {reason})"
            error = ResultError(type="refusal", message=message)
        else:
            message = f"generation stopped early (finishReason {reason})"
            error = ResultError(type=str(reason).lower(), message=message)
        return self.make(
            key, status, text=text, usage=usage, stop_reason=stop, error=error
        )

    def _errored(self, key: str, status: _Status) -> Result:
        error = ResultError(
            type=status.status or "api_error",
            message=status.message or "",
            status_code=http_status(status.code),
        )
        return self.make(key, "errored", error=error)


def _with_raw(record: Result, raw: _RawLine) -> Result:
    body = raw.response if raw.response != _NULL else raw.error
    if body == _NULL:
        return record
    return msgspec.structs.replace(record, response=body.copy())


def _no_candidate(response: _Response) -> ResultError:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        message = f"the prompt was blocked (blockReason {feedback.block_reason})"
        return ResultError(type="refusal", message=message)
    return ResultError(type="empty_response", message="the response has no candidate")
