"""HTTP exchanges as values, so provider modules can say what to send without I/O.

A *flow* is a generator that yields :class:`HttpRequest` values and receives
:class:`HttpResponse` values (the httpx ``auth_flow`` pattern); the transport is
the only thing that runs one. Bodies too large for memory are described, not held:
:class:`FileUpload` names a file the transport streams from disk.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Literal, TypeAlias, TypeVar

import msgspec

from .._errors import (
    AuthenticationError,
    HTTPStatusError,
    ProtocolError,
    RateLimitError,
)

__all__ = (
    "FileBytes",
    "FileSize",
    "FileUpload",
    "Flow",
    "HttpRequest",
    "HttpResponse",
    "JsonArrayUpload",
    "decode_body",
    "status_error",
)

T = TypeVar("T")


class FileUpload(msgspec.Struct, frozen=True, kw_only=True):
    """A multipart/form-data body: ``fields`` plus one file part streamed from disk."""

    path: str
    filename: str
    fields: dict[str, str] = {}
    content_type: str = "application/jsonl"


class JsonArrayUpload(msgspec.Struct, frozen=True, kw_only=True):
    """A JSON body streamed from a JSONL file: ``prefix``, the lines joined by commas,
    ``suffix``. Its length is known in advance: ``len(prefix) + size - 1 + len(suffix)``
    for a file of ``size`` bytes whose every line ends with a newline.
    """

    path: str
    prefix: bytes
    suffix: bytes


class FileBytes(msgspec.Struct, frozen=True, kw_only=True):
    """A raw body: the bytes of a file from ``offset`` to its end, streamed from
    disk (a resumable upload's data)."""

    path: str
    offset: int = 0
    content_type: str = "application/octet-stream"


class FileSize(msgspec.Struct, frozen=True, kw_only=True):
    """A request header whose value is a file's size in bytes, filled in by the
    transport (a resumable upload's start announces the length to come)."""

    path: str
    header: str


class HttpRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One HTTP request, relative to the provider's base URL.

    ``path`` is joined to the base URL; an absolute ``http(s)://`` URL is used as
    it is only when it has the base URL's origin (credentials never go elsewhere).
    A request that is not ``idempotent`` (creating a batch) is retried by the
    transport only when the server said it did nothing (429); any other failure
    goes back to the caller, which must look before it sends it again.
    """

    method: Literal["GET", "POST", "DELETE"]
    path: str
    query: dict[str, str] = {}
    json: msgspec.Raw | None = None
    upload: FileUpload | JsonArrayUpload | FileBytes | None = None
    idempotent: bool = True
    headers: dict[str, str] = {}
    size_header: FileSize | None = None


class HttpResponse(msgspec.Struct, frozen=True, kw_only=True):
    """A response with its whole (small) body; header names are lower-case."""

    status: int
    headers: dict[str, str]
    body: bytes


Flow: TypeAlias = Generator[HttpRequest, HttpResponse, T]


_STATUS_ERRORS: dict[int, type[HTTPStatusError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    429: RateLimitError,
}


def status_error(
    status: int, body: bytes, retry_after: float | None = None
) -> HTTPStatusError:
    """The exception for an unsuccessful status, its class chosen from a table."""
    cls = _STATUS_ERRORS.get(status, HTTPStatusError)
    return cls(status, body.decode("utf-8", "replace"), retry_after=retry_after)


def decode_body(response: HttpResponse, decoder: msgspec.json.Decoder[T]) -> T:
    """Decode a 2xx response's JSON body; raise the status's error otherwise.

    Raises:
        HTTPStatusError: the status is not 2xx.
        ProtocolError: the body does not have the documented shape.
    """
    if not 200 <= response.status < 300:
        raise status_error(response.status, response.body)
    try:
        return decoder.decode(response.body)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"unexpected response body: {exc}") from exc
