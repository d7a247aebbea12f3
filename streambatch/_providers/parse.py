"""Turn a provider's output bytes, in chunks cut anywhere, into result records.

Pure: no I/O. Strategy: the framer hands over runs of whole lines; each run is
decoded in one call (msgspec's ``decode_lines``), which is the fast path. Only if
that fails is the run decoded line by line, so that one bad line costs one errored
record and the rest of the stream is kept.

A line that cannot be decoded, or is longer than ``max_line_bytes``, becomes an
``errored`` record of type ``malformed_output`` whose message names the line number;
its ``custom_id`` is read from the line's first bytes when it can be, else ``""``.
Records are never dropped and the parser never raises for a bad line.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .._core.lines import DEFAULT_MAX_LINE_BYTES, LineFramer, Lines, Overlong
from .._core.structure import SchemaMismatch, structure_for
from .._models import Result, ResultError
from . import codec_for
from .codec import ResultCodec

__all__ = ("ResultParser",)

_ID = re.compile(rb'"(?:custom_id|key)"\s*:\s*"((?:[^"\\]|\\.)*)"')
_BOM = b"\xef\xbb\xbf"


def _unescape(literal: bytes) -> str:
    """The string a JSON string literal's body (between its quotes) stands for."""
    try:
        return msgspec.json.decode(b'"' + literal + b'"', type=str)
    except msgspec.DecodeError:
        return literal.decode("utf-8", "replace")


class ResultParser:
    """Incrementally parse one output (or error) file into :class:`Result` records.

    Args:
        provider: ``"openai"``, ``"azure"`` or ``"anthropic"``.
        schema: a msgspec Struct, dataclass, TypedDict, pydantic model or JSON
            Schema dict (``_core/structure.py``); each succeeded record's text
            is decoded into it and put in ``Result.parsed``. A text that does
            not match makes the record ``errored`` (type ``schema_mismatch``,
            the message naming the path that failed), keeping its text.
        with_response: keep the provider's raw response body in ``Result.response``.
        batch_id: stamped on every record.
        attempt: stamped on every record.
        max_line_bytes: the longest line accepted.
        source: names the file in error messages.

    Raises:
        ConfigError: the provider is not known, or a JSON Schema is unusable.
        TypeError: ``schema`` is not one of the kinds above.

    ``feed(chunk)`` accepts chunks cut at any byte and returns the records they
    complete; ``close()`` returns the records of an unterminated last line.
    """

    __slots__ = ("_codec", "_framer", "_head", "_schema", "_source")

    def __init__(
        self,
        provider: str,
        *,
        schema: Any = None,
        with_response: bool = False,
        batch_id: str | None = None,
        attempt: int = 1,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        source: str = "output",
    ) -> None:
        self._codec: ResultCodec = codec_for(
            provider, batch_id=batch_id, attempt=attempt, with_response=with_response
        )
        self._framer = LineFramer(max_line_bytes)
        self._schema = structure_for(schema)
        self._source = source
        self._head: bytes | None = b""  # None once the start was checked for a BOM

    @property
    def lines_seen(self) -> int:
        """How many complete lines were consumed so far."""
        return self._framer.lines_seen

    def feed(self, chunk: bytes) -> list[Result]:
        """Consume ``chunk``; return the records of the lines it completes."""
        if self._head is not None:
            chunk = self._skip_bom(chunk)
        return self._records(self._framer.feed(chunk))

    def close(self) -> list[Result]:
        """End the input; return the record of an unterminated last line, if any."""
        head, self._head = self._head or b"", None
        return self._records(self._framer.feed(head) + self._framer.close())

    def _skip_bom(self, chunk: bytes) -> bytes:
        """A UTF-8 byte-order mark at the start of the file is not part of line 1
        (some tools write one); the first bytes are held until it can be told."""
        chunk = (self._head or b"") + chunk
        if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
            self._head = chunk
            return b""
        self._head = None
        return chunk[len(_BOM) :] if chunk.startswith(_BOM) else chunk

    def _records(self, frames: list[Lines | Overlong]) -> list[Result]:
        records: list[Result] = []
        for frame in frames:
            if isinstance(frame, Overlong):
                reason = f"line is {frame.size} bytes, over the limit"
                records.append(self._malformed(frame.line, frame.head, reason))
                continue
            try:
                records += self._codec.decode_block(frame.data)
            except msgspec.DecodeError:
                records += self._one_by_one(frame)
        if self._schema is not None:
            return [self._parse(record) for record in records]
        return records

    def _one_by_one(self, frame: Lines) -> list[Result]:
        lines = bytes(frame.data).split(b"\n")
        numbered = enumerate(lines, frame.first_line)
        return [self._line(number, line) for number, line in numbered if line.strip()]

    def _line(self, number: int, line: bytes) -> Result:
        """The record of one non-blank line: decoded, or ``malformed_output``."""
        try:
            return self._codec.decode_line(line)
        except msgspec.DecodeError as exc:
            return self._malformed(number, line, str(exc))

    def _malformed(self, line_no: int, head: bytes, reason: str) -> Result:
        found = _ID.search(head, 0, 4096)
        custom_id = _unescape(found.group(1)) if found else ""
        message = f"{self._source}: line {line_no}: {reason}"
        error = ResultError(type="malformed_output", message=message)
        return self._codec.make(custom_id, "errored", error=error)

    def _parse(self, record: Result) -> Result:
        if record.status != "succeeded" or record.text is None or self._schema is None:
            return record
        try:
            parsed = self._schema.decode(record.text)
        except SchemaMismatch as exc:
            error = ResultError(type="schema_mismatch", message=str(exc))
            return msgspec.structs.replace(record, status="errored", error=error)
        return msgspec.structs.replace(record, parsed=parsed)
