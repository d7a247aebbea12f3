"""The shape every provider's result decoder has, and the record stamping they share.

Pure: no I/O.

Besides decoding, a codec can *splice* (``splice_block``): for the usual line (one
answer text), it returns a :class:`SplicedResult` whose text is the provider's
JSON string literal itself, escapes kept, so that writing the record copies the
bytes and never builds a Python ``str`` for the text.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from .._core.utf8 import WHOLE
from .._models import Result, ResultError, Status, StopReason, Usage

__all__ = (
    "Literal",
    "ResultCodec",
    "SplicedResult",
    "literal_of",
    "quoted",
    "text_literal",
)


class SplicedResult(Result, frozen=True, kw_only=True, gc=False):
    """A :class:`Result` to be encoded, whose ``text`` is the provider's raw JSON
    string literal (a ``msgspec.Raw``, copied into the encoded record as it is).

    Only for writing records: it encodes to the same JSON value as the
    :class:`Result` with the decoded text, with the same fields in the same order
    (they are Result's own: a field added there is added here). Its ``text`` and
    ``response`` refer to the block they were decoded from.
    """

    text: msgspec.Raw | None = None  # type: ignore[assignment]


def text_literal(raw: msgspec.Raw) -> msgspec.Raw | None:
    """``raw`` if it is a JSON string literal that is valid UTF-8, else None.

    msgspec checks a ``Raw`` value is JSON (escapes, surrogate pairs, control
    characters) but not that its bytes are UTF-8; decoding a ``str`` does, so a
    text with bad bytes must take the decoding path to be refused the same way.
    """
    try:
        text = str(raw, "utf-8")
    except UnicodeDecodeError:
        return None
    return raw if text[:1] == '"' else None


_QUOTE = ord('"')


def quoted(raw: msgspec.Raw) -> msgspec.Raw | None:
    """``raw`` if it is a JSON string literal, its bytes known to be UTF-8."""
    return raw if raw and memoryview(raw)[0] == _QUOTE else None


Literal = Callable[[msgspec.Raw], "msgspec.Raw | None"]
"""Takes a text's raw value: its JSON string literal, or None (decode the line)."""


def literal_of(block: bytes | memoryview) -> Literal:
    """How to take the text literals of ``block``'s lines.

    A block that is all valid UTF-8 (orjson's check, at about 1.3 GB/s, builds
    nothing) needs no check per text: :func:`quoted`. Otherwise, or without
    orjson, each text is checked on its own (:func:`text_literal`, which builds
    the ``str``), so only the lines with bad bytes take the decoding path.
    """
    if WHOLE is not None and WHOLE(block):
        return quoted
    return text_literal


class ResultCodec:
    """Decode one provider's result lines into :class:`Result` records.

    Subclasses implement ``decode_block`` (newline-separated lines, all or nothing:
    any bad line raises ``msgspec.DecodeError``) and ``decode_line``.

    Args:
        batch_id: stamped on every record.
        attempt: stamped on every record.
        with_response: keep the provider's raw response body in ``Result.response``.
    """

    __slots__ = ("_attempt", "_batch_id", "_with_response")

    def __init__(
        self,
        *,
        batch_id: str | None = None,
        attempt: int = 1,
        with_response: bool = False,
    ) -> None:
        self._batch_id = batch_id
        self._attempt = attempt
        self._with_response = with_response

    def decode_block(self, block: bytes | memoryview) -> list[Result]:
        """Decode a run of lines; any bad line raises ``msgspec.DecodeError``."""
        raise NotImplementedError

    def decode_line(self, line: bytes | memoryview) -> Result:
        """Decode one line; raise ``msgspec.DecodeError`` if it is bad."""
        raise NotImplementedError

    def splice_block(self, block: bytes | memoryview) -> list[Result | None]:
        """Decode a run of lines for writing: one item per line (blank ones skipped).

        An item is the line's record, mostly a :class:`SplicedResult`; None where
        the line must be decoded alone (``decode_line``): its text must be
        assembled, it failed, or it is unusual. Any line that is not JSON raises
        ``msgspec.DecodeError``. The records refer to ``block``.

        By default, the records of :meth:`decode_block` (a provider with no
        splice views writes its texts as decoded strings).
        """
        return list(self.decode_block(block))

    def make(
        self,
        custom_id: str,
        status: Status,
        *,
        text: str | None = None,
        usage: Usage | None = None,
        stop_reason: StopReason | None = None,
        error: ResultError | None = None,
    ) -> Result:
        """Build a record stamped with this codec's batch id and attempt."""
        return Result(
            custom_id=custom_id,
            status=status,
            text=text,
            usage=usage,
            stop_reason=stop_reason,
            error=error,
            batch_id=self._batch_id,
            attempt=self._attempt,
        )

    def spliced(
        self,
        custom_id: str,
        text: msgspec.Raw,
        usage: Usage | None,
        stop_reason: StopReason | None,
        response: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET,
    ) -> SplicedResult:
        """A succeeded record whose text is ``text``, a checked JSON string literal."""
        return SplicedResult(
            custom_id=custom_id,
            status="succeeded",
            text=text,
            usage=usage,
            stop_reason=stop_reason,
            batch_id=self._batch_id,
            attempt=self._attempt,
            response=response,
        )
