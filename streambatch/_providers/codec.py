"""The shape every provider's result decoder has, and the record stamping they share.

Pure: no I/O.
"""

from __future__ import annotations

from .._models import Result, ResultError, Status, Usage

__all__ = ("ResultCodec",)


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

    def make(
        self,
        custom_id: str,
        status: Status,
        *,
        text: str | None = None,
        usage: Usage | None = None,
        error: ResultError | None = None,
    ) -> Result:
        """Build a record stamped with this codec's batch id and attempt."""
        return Result(
            custom_id=custom_id,
            status=status,
            text=text,
            usage=usage,
            error=error,
            batch_id=self._batch_id,
            attempt=self._attempt,
        )
