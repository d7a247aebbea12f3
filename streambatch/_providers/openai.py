"""OpenAI batch output and error file lines, decoded into result records.

Pure: no I/O. Covers every endpoint of PROVIDERS.md 2.6: chat completions, responses,
completions, embeddings and moderations. One view struct reads the fields of all of
them (anything else is skipped by the decoder), so one decoder serves any endpoint.

Text extraction, per body shape:
- chat.completion: the first choice's ``message.content`` (given as a list of
  chunks, as Mistral's reasoning models do: its ``text`` chunks joined, ``thinking``
  ones left out); if that is null, the first
  tool call's ``function.arguments`` (a JSON string); a ``refusal`` makes the record
  ``errored`` with error type ``refusal`` (usage kept).
- text_completion: the first choice's ``text``.
- response: every ``output_text`` part of every ``message`` output item, joined; if
  there is none, the first ``function_call`` item's ``arguments``; a ``refusal`` part
  makes the record ``errored`` (type ``refusal``).
- embeddings and moderations: no text (null).

Stop reason (:func:`stop_reason`, the one place it is mapped): a chat or text
completion's first choice's ``finish_reason`` (``stop`` -> ``end``, ``length`` ->
``max_tokens``, ``tool_calls`` / ``function_call`` -> ``tool_use``,
``content_filter``); a response's ``status`` (``completed`` -> ``end``, or
``tool_use`` when it holds a ``function_call`` item; ``incomplete`` -> its
``incomplete_details.reason``: ``max_output_tokens`` -> ``max_tokens``,
``content_filter``); a refusal is ``refusal``; anything else None.
"""

from __future__ import annotations

import msgspec

from .._models import Result, ResultError, Status, StopReason, Usage
from .codec import Literal, ResultCodec, SplicedResult, literal_of

__all__ = ("OpenAICodec",)


_NULL = msgspec.Raw(b"null")


class _Details(msgspec.Struct, gc=False):
    cached_tokens: int | None = None


class _Usage(msgspec.Struct, gc=False):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    prompt_tokens_details: _Details | None = None  # chat and completions
    input_tokens_details: _Details | None = None  # responses


class _Function(msgspec.Struct, gc=False):
    arguments: str | None = None


class _ToolCall(msgspec.Struct, gc=False):
    function: _Function | None = None


class _Part(msgspec.Struct, gc=False):
    type: str = ""
    text: str | None = None
    refusal: str | None = None


class _Message(msgspec.Struct, gc=False):
    # Mistral's reasoning models answer a list of chunks (thinking, text)
    content: str | tuple[_Part, ...] | None = None
    refusal: str | None = None
    tool_calls: tuple[_ToolCall, ...] | None = None


class _Choice(msgspec.Struct, gc=False):
    message: _Message | None = None
    text: str | None = None
    finish_reason: str | None = None


class _OutputItem(msgspec.Struct, gc=False):
    type: str = ""
    content: tuple[_Part, ...] | None = None
    arguments: str | None = None


class _Incomplete(msgspec.Struct, gc=False):
    reason: str | None = None


class _ApiError(msgspec.Struct, gc=False):
    message: str | None = None
    type: str | None = None
    code: str | None = None


class _Body(msgspec.Struct, gc=False):
    choices: tuple[_Choice, ...] | None = None
    output: tuple[_OutputItem, ...] | None = None
    usage: _Usage | None = None
    error: _ApiError | None = None
    status: str | None = None
    incomplete_details: _Incomplete | None = None


class _LineError(msgspec.Struct, gc=False):
    code: str | None = None
    message: str | None = None


class _Response(msgspec.Struct, gc=False):
    status_code: int
    body: _Body | str | None = None


class _Line(msgspec.Struct, gc=False):
    custom_id: str
    response: _Response | None = None
    error: _LineError | None = None


class _RawResponse(msgspec.Struct, gc=False):
    status_code: int
    body: msgspec.Raw = _NULL


class _RawLine(msgspec.Struct, gc=False):
    custom_id: str
    response: _RawResponse | None = None
    error: _LineError | None = None


# Splice views: the views above, with each text a Raw JSON value, not a str. Every
# other field keeps its type, so a line these accept and splice is one the views
# above accept too, with the same record (see OpenAICodec.splice_block).
class _SpliceMessage(msgspec.Struct, gc=False):
    content: msgspec.Raw = _NULL
    refusal: str | None = None
    tool_calls: tuple[_ToolCall, ...] | None = None


class _SpliceChoice(msgspec.Struct, gc=False):
    message: _SpliceMessage | None = None
    text: str | None = None
    finish_reason: str | None = None


class _SplicePart(msgspec.Struct, gc=False):
    type: str = ""
    text: msgspec.Raw = _NULL
    refusal: str | None = None


class _SpliceItem(msgspec.Struct, gc=False):
    type: str = ""
    content: tuple[_SplicePart, ...] | None = None
    arguments: str | None = None


class _SpliceBody(msgspec.Struct, gc=False):
    choices: tuple[_SpliceChoice, ...] | None = None
    output: tuple[_SpliceItem, ...] | None = None
    usage: _Usage | None = None
    error: _ApiError | None = None
    status: str | None = None
    incomplete_details: _Incomplete | None = None


class _SpliceResponse(msgspec.Struct, gc=False):
    status_code: int
    body: _SpliceBody | str | None = None


class _SpliceLine(msgspec.Struct, gc=False):
    custom_id: str
    response: _SpliceResponse | None = None
    error: _LineError | None = None


_LINE = msgspec.json.Decoder(_Line)
_RAW_LINE = msgspec.json.Decoder(_RawLine)
_BODY = msgspec.json.Decoder(_Body | str | None)
_SPLICE_LINE = msgspec.json.Decoder(_SpliceLine)
_SPLICE_BODY = msgspec.json.Decoder(_SpliceBody | str | None)

# Non-HTTP line errors whose code tells the request's fate (PROVIDERS.md 2.6).
_FATE: dict[str, Status] = {"batch_expired": "expired", "batch_cancelled": "canceled"}


# The stop reasons of PROVIDERS.md 2.6, normalised (see the module's docstring).
_FINISH: dict[str | None, StopReason] = {
    "stop": "end",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
    "model_length": "max_tokens",  # Mistral (whose lines this codec reads too)
}
_INCOMPLETE: dict[str | None, StopReason] = {
    "max_output_tokens": "max_tokens",
    "content_filter": "content_filter",
}


def stop_reason(body: _Body | _SpliceBody) -> StopReason | None:
    """Why the model stopped, from a successful body (a refusal aside)."""
    if body.choices:
        return _FINISH.get(body.choices[0].finish_reason)
    if body.status == "completed" and body.output is not None:
        if any(item.type == "function_call" for item in body.output):
            return "tool_use"
        return "end"
    if body.status == "incomplete" and body.incomplete_details is not None:
        return _INCOMPLETE.get(body.incomplete_details.reason)
    return None


def _usage(usage: _Usage | None) -> Usage | None:
    if usage is None:
        return None
    details = usage.prompt_tokens_details or usage.input_tokens_details
    return Usage(
        input_tokens=usage.prompt_tokens or usage.input_tokens or 0,
        output_tokens=usage.completion_tokens or usage.output_tokens or 0,
        cached_tokens=None if details is None else details.cached_tokens,
    )


def _chat_text(choice: _Choice) -> tuple[str | None, str | None]:
    message = choice.message
    if message is None:
        return choice.text, None
    if message.refusal is not None:
        return None, message.refusal
    content = message.content
    if content is None and message.tool_calls:
        function = message.tool_calls[0].function
        return (function.arguments if function else None), None
    if isinstance(content, tuple):  # chunks: the text ones, thinking left out
        texts = [p.text for p in content if p.type == "text" and p.text is not None]
        return ("".join(texts) if texts else None), None
    return content, None


def _responses_text(items: tuple[_OutputItem, ...]) -> tuple[str | None, str | None]:
    texts: list[str] = []
    arguments = None
    for item in items:
        if item.type == "message" and item.content:
            for part in item.content:
                if part.type == "output_text" and part.text is not None:
                    texts.append(part.text)
                elif part.type == "refusal":
                    return None, part.refusal or ""
        elif item.type == "function_call" and arguments is None:
            arguments = item.arguments
    return ("".join(texts) if texts else arguments), None


def _spliceable(body: _SpliceBody, literal: Literal) -> msgspec.Raw | None:
    """The one text literal of a successful body, or None if it must be decoded.

    The same choice as :func:`_text`, taken only where there is nothing to join
    and nothing else to check: one choice whose message has content and no
    refusal; or, in a response, a single content part, an ``output_text`` of a
    ``message`` item.
    """
    choices = body.choices
    if choices:
        message = choices[0].message
        if len(choices) != 1 or message is None or message.refusal is not None:
            return None
        return literal(message.content)
    if body.output is None:
        return None
    found = None
    for item in body.output:
        if item.content:
            if found is not None or len(item.content) != 1 or item.type != "message":
                return None
            found = item.content[0]
    if found is None or found.type != "output_text":
        return None
    return literal(found.text)


def _text(body: _Body) -> tuple[str | None, str | None]:
    """Return (text, refusal) of a successful body."""
    if body.choices:
        return _chat_text(body.choices[0])
    if body.output is not None:
        return _responses_text(body.output)
    return None, None


class OpenAICodec(ResultCodec):
    """Decode OpenAI batch output/error lines into :class:`Result` records."""

    __slots__ = ()

    def decode_block(self, block: bytes | memoryview) -> list[Result]:
        if self._with_response:
            return [self._from_raw(line) for line in _RAW_LINE.decode_lines(block)]
        return [self._from_line(line) for line in _LINE.decode_lines(block)]

    def decode_line(self, line: bytes | memoryview) -> Result:
        if self._with_response:
            return self._from_raw(_RAW_LINE.decode(line))
        return self._from_line(_LINE.decode(line))

    def splice_block(self, block: bytes | memoryview) -> list[Result | None]:
        literal = literal_of(block)
        if self._with_response:
            return [
                self._splice_raw(line, literal)
                for line in _RAW_LINE.decode_lines(block)
            ]
        rows: list[Result | None] = []
        append, batch_id, attempt = rows.append, self._batch_id, self._attempt
        for line in _SPLICE_LINE.decode_lines(block):
            response = line.response
            # The hot path, inlined: a 2xx chat completion, one choice with content.
            if response is not None and 200 <= response.status_code < 300:
                body = response.body
                if (
                    type(body) is _SpliceBody
                    and (text := _spliceable(body, literal)) is not None
                ):
                    append(
                        SplicedResult(
                            custom_id=line.custom_id,
                            status="succeeded",
                            text=text,
                            usage=_usage(body.usage),
                            stop_reason=stop_reason(body),
                            batch_id=batch_id,
                            attempt=attempt,
                        )
                    )
                    continue
            append(None)
        return rows

    def _splice(
        self,
        custom_id: str,
        response: _SpliceResponse | None,
        literal: Literal,
        raw: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET,
    ) -> Result | None:
        if response is None or not 200 <= response.status_code < 300:
            return None
        body = response.body
        if (
            type(body) is not _SpliceBody
            or (text := _spliceable(body, literal)) is None
        ):
            return None
        return self.spliced(custom_id, text, _usage(body.usage), stop_reason(body), raw)

    def _splice_raw(self, line: _RawLine, literal: Literal) -> Result | None:
        response = line.response
        if response is None:
            return None
        raw = response.body
        body = _SPLICE_BODY.decode(raw)
        if not isinstance(body, _SpliceBody):
            return None
        return self._splice(
            line.custom_id, _SpliceResponse(response.status_code, body), literal, raw
        )

    def _from_line(self, line: _Line) -> Result:
        response = line.response
        if response is None:
            return self._line_error(line.custom_id, line.error)
        body = response.body
        # The hot path, inlined: a 2xx chat completion whose first choice has text.
        if type(body) is _Body and body.choices and 200 <= response.status_code < 300:
            message = body.choices[0].message
            if (
                message is not None
                and type(message.content) is str
                and message.refusal is None
            ):
                return Result(
                    custom_id=line.custom_id,
                    status="succeeded",
                    text=message.content,
                    usage=_usage(body.usage),
                    stop_reason=_FINISH.get(body.choices[0].finish_reason),
                    batch_id=self._batch_id,
                    attempt=self._attempt,
                )
        return self._record(line.custom_id, response.status_code, body)

    def _from_raw(self, line: _RawLine) -> Result:
        response = line.response
        if response is None:
            return self._line_error(line.custom_id, line.error)
        raw = response.body
        body = _BODY.decode(raw)
        record = self._record(line.custom_id, response.status_code, body)
        if raw == _NULL:
            return record
        return msgspec.structs.replace(record, response=raw.copy())

    def _line_error(self, custom_id: str, error: _LineError | None) -> Result:
        code = (error.code if error else None) or "unknown_error"
        message = (error.message if error else None) or ""
        return self.make(
            custom_id,
            _FATE.get(code, "errored"),
            error=ResultError(type=code, message=message),
        )

    def _record(self, custom_id: str, status: int, body: _Body | str | None) -> Result:
        if not isinstance(body, _Body):
            return self.make(custom_id, "errored", error=_http_error(status, None))
        usage = _usage(body.usage)
        if 200 <= status < 300:
            text, refusal = _text(body)
            if refusal is None:
                return self.make(
                    custom_id,
                    "succeeded",
                    text=text,
                    usage=usage,
                    stop_reason=stop_reason(body),
                )
            error = ResultError(type="refusal", message=refusal, status_code=status)
            return self.make(
                custom_id, "errored", usage=usage, stop_reason="refusal", error=error
            )
        error = _http_error(status, body.error)
        return self.make(custom_id, "errored", usage=usage, error=error)


def _http_error(status: int, api: _ApiError | None) -> ResultError:
    if api is not None:
        return ResultError(
            type=api.type or api.code or "api_error",
            message=api.message or "",
            status_code=status,
        )
    if 200 <= status < 300:
        return ResultError(
            type="malformed_response",
            message="a successful response without a JSON object body",
            status_code=status,
        )
    return ResultError(
        type="empty_response",
        message=f"status {status} with no error body",
        status_code=status,
    )
