"""Writing responses: error envelopes, JSON bodies and files with Range.

Every body goes out through here so that the write-in-tiny-pieces and
drop-mid-download faults apply to all of them. Imports aiohttp, msgspec, stdlib.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from ._azure_wire import AZURE_PREFIX, reshape
from ._config import Faults
from ._store import Store

_encode = msgspec.json.Encoder().encode
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
GEMINI_PREFIX = "/gemini"
"""Where the Gemini API is served (its paths would collide with OpenAI's)."""
MISTRAL_PREFIX = "/mistral"
"""Where the Mistral API is served (its paths would collide with OpenAI's)."""
READ_BYTES = 262_144


@dataclass
class Runtime:
    """What handlers share: the store and the fault RNG."""

    store: Store
    rng: random.Random

    @property
    def faults(self) -> Faults:
        """The live faults (a test may swap or change them while serving)."""
        return self.store.config.faults

    def draw(self, rate: float) -> bool:
        """Return whether a request-level fault of ``rate`` fires now."""
        return rate > 0 and self.rng.random() < rate

    def drop_point(self, content_length: int | None) -> int | None:
        """Where a drop-mid-upload fault cuts a body, if it fires now."""
        if not self.draw(self.faults.drop_upload_rate):
            return None
        return max(1, int((content_length or 65_536) * self.rng.uniform(0.1, 0.9)))


RUNTIME = web.AppKey("runtime", Runtime)


def runtime(request: web.Request) -> Runtime:
    """The emulator runtime serving ``request``."""
    return request.app[RUNTIME]


def provider_of(request: web.Request) -> str:
    """Which provider's API ``request`` addresses."""
    if request.path.startswith(GEMINI_PREFIX + "/"):
        return "gemini"
    if request.path.startswith(AZURE_PREFIX + "/"):
        return "azure"
    if request.path.startswith(MISTRAL_PREFIX + "/"):
        return "mistral"
    return "anthropic" if request.path.startswith("/v1/messages") else "openai"


def error_body(
    provider: str, status: int, message: str, kind: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Build the provider's error envelope."""
    if provider == "anthropic":
        kind = kind or _ANTHROPIC_TYPES.get(status, "api_error")
        return {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": f"req_{os.urandom(12).hex()}",
        }
    if provider == "gemini":  # google.rpc.Status in an envelope
        kind = kind or _GOOGLE_STATUS.get(status, "UNKNOWN")
        return {"error": {"code": status, "message": message, "status": kind}}
    kind = kind or ("server_error" if status >= 500 else "invalid_request_error")
    if provider == "mistral":  # flat, with an "object" (the API's error shape)
        flat = {"object": "error", "message": message, "type": kind, "param": None}
        return flat | {"code": None} | extra
    error = {"message": message, "type": kind, "param": None, "code": None}
    error.update(extra)
    return {"error": error}


async def send_error(
    request: web.Request,
    status: int,
    message: str,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.StreamResponse:
    """Answer with the provider's error envelope."""
    body = error_body(provider_of(request), status, message, kind, **extra)
    return await send_json(request, body, status, headers)


async def send_json(
    request: web.Request,
    body: object,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """Answer with a JSON body, in tiny pieces when that fault is on (a batch
    object shaped as the host addressed sends it)."""
    data = _encode(reshape(request.path, runtime(request).store, body))
    piece = max(1, runtime(request).faults.chunk_bytes)
    if piece >= len(data):
        return web.Response(
            body=data, status=status, headers=headers, content_type="application/json"
        )
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = "application/json"
    response.content_length = len(data)
    await response.prepare(request)
    await _write_pieces(response, data, piece)
    await response.write_eof()
    return response


async def _write_pieces(response: web.StreamResponse, data: bytes, piece: int) -> None:
    for start in range(0, len(data), piece):
        await response.write(data[start : start + piece])
        if piece < 1024:
            await asyncio.sleep(0)  # let each piece reach the socket on its own


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=`` range into [start, end); None if unsatisfiable."""
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise ValueError(header)
    first, last = match.groups()
    if not first:
        if not last or int(last) == 0:
            return None
        return max(0, size - int(last)), size
    start = int(first)
    end = size if not last else min(size, int(last) + 1)
    return (start, end) if start < size and start < end else None


async def send_file(
    request: web.Request, path: Path, size: int, etag: str, content_type: str
) -> web.StreamResponse:
    """Stream ``path`` from disk, honouring ``Range: bytes=...`` unless refused.

    A drop-mid-download fault cuts the connection after part of the body.
    """
    state = runtime(request)
    headers = {"ETag": etag}
    start, end, status = 0, size, 200
    wanted = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if not state.faults.refuse_range:
        headers["Accept-Ranges"] = "bytes"
        if wanted and (if_range is None or if_range == etag):
            try:
                span = _byte_range(wanted, size)
            except ValueError:
                span = (0, size)
            if span is None:
                headers["Content-Range"] = f"bytes */{size}"
                return web.Response(status=416, headers=headers)
            start, end = span
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = content_type
    response.content_length = end - start
    await response.prepare(request)
    stop = end
    if state.draw(state.faults.drop_download_rate):
        stop = start + int((end - start) * state.rng.uniform(0.1, 0.9))
    await _copy(response, path, start, stop, max(1, state.faults.chunk_bytes))
    if stop < end:
        abort(request)
        return response
    await response.write_eof()
    return response


async def _copy(
    response: web.StreamResponse, path: Path, start: int, stop: int, piece: int
) -> None:
    loop = asyncio.get_running_loop()
    fd = await loop.run_in_executor(None, os.open, path, os.O_RDONLY)
    try:
        position = start
        while position < stop:
            size = min(READ_BYTES, stop - position)
            data = await loop.run_in_executor(None, os.pread, fd, size, position)
            if not data:
                break
            position += len(data)
            await _write_pieces(response, data, piece)
    finally:
        os.close(fd)


def abort(request: web.Request) -> None:
    """Cut the client's connection now, as a dropped network would."""
    transport = request.transport
    if transport is not None:
        transport.abort()


def openai_page(data: list[Any], ids: list[str], more: bool) -> dict[str, Any]:
    """An OpenAI cursor page: ``{"object": "list", "data", "first_id", ...}``."""
    return {
        "object": "list",
        "data": data,
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
        "has_more": more,
    }
