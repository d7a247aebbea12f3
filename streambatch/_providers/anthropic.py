"""Anthropic Message Batches result lines, decoded into result records.

Pure: no I/O. Each line is ``{"custom_id", "result": {"type": ...}}`` where the result
is a tagged union: succeeded, errored (with the doubly nested error), canceled or
expired (PROVIDERS.md 4.4).

Text extraction from a succeeded message:
- every ``text`` content block, joined with no separator (the API splits one answer
  into several blocks, e.g. around citations);
- if there is no text block, the ``input`` of the first ``tool_use`` block as JSON
  (the usual way to get structured output from Claude);
- ``thinking`` and other block types are not text;
- ``stop_reason: "refusal"`` makes the record ``errored`` with type ``refusal``.

Stop reason (``_STOP``, the one place it is mapped): ``end_turn`` -> ``end``;
``max_tokens``, ``stop_sequence``, ``tool_use`` and ``refusal`` as they are;
``model_context_window_exceeded`` -> ``max_tokens`` (cut off by a limit);
``pause_turn`` -> ``tool_use``: a server-tool turn paused before its answer was
final, to be continued by sending the conversation back, as after a tool call
(``end`` would pass an unfinished answer for a finished one). Anything else None.
"""

from __future__ import annotations

import msgspec

from .._models import Result, ResultError, StopReason, Usage
from .codec import Literal, ResultCodec, SplicedResult, literal_of

__all__ = ("AnthropicCodec",)


_NULL = msgspec.Raw(b"null")


class _Block(msgspec.Struct, gc=False):
    type: str = ""
    text: str | None = None
    input: msgspec.Raw = _NULL


class _Usage(msgspec.Struct, gc=False):
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


def _usage(usage: _Usage | None) -> Usage | None:
    """Anthropic's counts, normalised: its ``input_tokens`` leaves out the
    tokens read from and written to the prompt cache; ours counts them (as
    OpenAI's and Gemini's do), the reads being ``cached_tokens``."""
    if usage is None:
        return None
    read = usage.cache_read_input_tokens
    written = usage.cache_creation_input_tokens or 0
    return Usage(
        input_tokens=usage.input_tokens + (read or 0) + written,
        output_tokens=usage.output_tokens,
        cached_tokens=read,
    )


class _Message(msgspec.Struct, gc=False):
    content: tuple[_Block, ...] = ()
    usage: _Usage | None = None
    stop_reason: str | None = None


class _Error(msgspec.Struct, gc=False):
    type: str | None = None
    message: str | None = None


class _ErrorResponse(msgspec.Struct, gc=False):
    error: _Error | None = None


class _Succeeded(msgspec.Struct, gc=False, tag="succeeded", tag_field="type"):
    message: _Message


class _Errored(msgspec.Struct, gc=False, tag="errored", tag_field="type"):
    error: _ErrorResponse | None = None


class _Canceled(msgspec.Struct, gc=False, tag="canceled", tag_field="type"):
    pass


class _Expired(msgspec.Struct, gc=False, tag="expired", tag_field="type"):
    pass


class _Line(msgspec.Struct, gc=False):
    custom_id: str
    result: _Succeeded | _Errored | _Canceled | _Expired


class _RawLine(msgspec.Struct, gc=False):
    custom_id: str
    result: msgspec.Raw


class _RawOutcome(msgspec.Struct, gc=False):
    message: msgspec.Raw = _NULL
    error: msgspec.Raw = _NULL


# Splice views: a succeeded message whose text blocks hold Raw JSON values, not
# str; every other field keeps its type (see AnthropicCodec.splice_block).
class _SpliceBlock(msgspec.Struct, gc=False):
    type: str = ""
    text: msgspec.Raw = _NULL
    input: msgspec.Raw = _NULL


class _SpliceMessage(msgspec.Struct, gc=False):
    content: tuple[_SpliceBlock, ...] = ()
    usage: _Usage | None = None
    stop_reason: str | None = None


class _SpliceSucceeded(msgspec.Struct, gc=False, tag="succeeded", tag_field="type"):
    message: _SpliceMessage


_SpliceOutcome = _SpliceSucceeded | _Errored | _Canceled | _Expired


class _SpliceLine(msgspec.Struct, gc=False):
    custom_id: str
    result: _SpliceOutcome


_STOP: dict[str | None, StopReason] = {
    "end_turn": "end",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause_turn": "tool_use",
    "refusal": "refusal",
}

_LINE = msgspec.json.Decoder(_Line)
_SPLICE_LINE = msgspec.json.Decoder(_SpliceLine)
_SPLICE_RESULT = msgspec.json.Decoder(_SpliceOutcome)
_RESULT = msgspec.json.Decoder(_Succeeded | _Errored | _Canceled | _Expired)
_RAW_LINE = msgspec.json.Decoder(_RawLine)
_RAW_OUTCOME = msgspec.json.Decoder(_RawOutcome)


def _text(message: _Message) -> str | None:
    content = message.content
    if len(content) == 1 and content[0].text is not None:  # the usual reply
        return content[0].text
    texts = [block.text for block in content if block.text is not None]
    if texts:
        return "".join(texts)
    for block in message.content:
        if block.type == "tool_use" and block.input != _NULL:
            return bytes(block.input).decode()
    return None


class AnthropicCodec(ResultCodec):
    """Decode Anthropic batch result lines into :class:`Result` records."""

    __slots__ = ()

    def decode_block(self, block: bytes | memoryview) -> list[Result]:
        if self._with_response:
            return [self._from_raw(line) for line in _RAW_LINE.decode_lines(block)]
        return [
            self._record(line.custom_id, line.result)
            for line in _LINE.decode_lines(block)
        ]

    def decode_line(self, line: bytes | memoryview) -> Result:
        if self._with_response:
            return self._from_raw(_RAW_LINE.decode(line))
        decoded = _LINE.decode(line)
        return self._record(decoded.custom_id, decoded.result)

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
            result = line.result
            # The hot path, inlined: a reply of one text block.
            if type(result) is _SpliceSucceeded:
                message = result.message
                content = message.content
                if (
                    len(content) == 1
                    and message.stop_reason != "refusal"
                    and (text := literal(content[0].text)) is not None
                ):
                    append(
                        SplicedResult(
                            custom_id=line.custom_id,
                            status="succeeded",
                            text=text,
                            usage=_usage(message.usage),
                            stop_reason=_STOP.get(message.stop_reason),
                            batch_id=batch_id,
                            attempt=attempt,
                        )
                    )
                    continue
            append(self._splice(line.custom_id, result, literal))
        return rows

    def _splice(
        self,
        custom_id: str,
        result: _SpliceOutcome,
        literal: Literal,
        raw: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET,
    ) -> Result | None:
        """Splice a reply of one text block; decode none of the other outcomes."""
        if not isinstance(result, _SpliceSucceeded):
            return self._record(custom_id, result) if raw is msgspec.UNSET else None
        message = result.message
        content = message.content
        if message.stop_reason == "refusal" or len(content) != 1:
            return None
        text = literal(content[0].text)
        if text is None:
            return None
        if raw is not msgspec.UNSET:
            raw = _RAW_OUTCOME.decode(raw).message
        return self.spliced(
            custom_id, text, _usage(message.usage), _STOP.get(message.stop_reason), raw
        )

    def _splice_raw(self, line: _RawLine, literal: Literal) -> Result | None:
        return self._splice(
            line.custom_id, _SPLICE_RESULT.decode(line.result), literal, line.result
        )

    def _from_raw(self, line: _RawLine) -> Result:
        record = self._record(line.custom_id, _RESULT.decode(line.result))
        outcome = _RAW_OUTCOME.decode(line.result)
        raw = outcome.message if outcome.message != _NULL else outcome.error
        if raw == _NULL:
            return record
        return msgspec.structs.replace(record, response=raw.copy())

    def _record(
        self, custom_id: str, result: _Succeeded | _Errored | _Canceled | _Expired
    ) -> Result:
        match result:
            case _Succeeded(message=message):
                if message.stop_reason != "refusal":  # the hot path: no extra call
                    return Result(
                        custom_id=custom_id,
                        status="succeeded",
                        text=_text(message),
                        usage=_usage(message.usage),
                        stop_reason=_STOP.get(message.stop_reason),
                        batch_id=self._batch_id,
                        attempt=self._attempt,
                    )
                return self.make(
                    custom_id,
                    "errored",
                    usage=_usage(message.usage),
                    stop_reason="refusal",
                    error=ResultError(
                        type="refusal",
                        message=_text(message) or "the model refused to answer",
                    ),
                )
            case _Errored(error=envelope):
                inner = envelope.error if envelope is not None else None
                error = ResultError(
                    type=(inner.type if inner else None) or "api_error",
                    message=(inner.message if inner else None) or "",
                )
                return self.make(custom_id, "errored", error=error)
            case _Canceled():
                return self.make(custom_id, "canceled")
            case _Expired():
                return self.make(custom_id, "expired")
