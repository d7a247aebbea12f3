"""Run HTTP exchanges against a provider over aiohttp: retries, uploads, downloads.

The only module that imports aiohttp or backoff. It executes the request values and
flows of ``_core.flow`` without knowing which provider produced them.

- Retries: connection failures and the statuses 408, 409, 429, 5xx (and 529) are
  retried with full-jitter backoff, the server's ``Retry-After`` a floor. Other
  statuses go back to the flow, which decides what they mean.
- Timeouts: socket timeouts only (connect, read); never a total, which would kill
  a long download. Callers bound whole operations with ``asyncio.timeout``.
- Secrets: the auth headers are sent only to the base URL's origin, never logged,
  never put in an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from .._core.flow import (
    FileBytes,
    Flow,
    HttpRequest,
    HttpResponse,
    JsonArrayUpload,
)
from .._core.policy import RETRYABLE_STATUSES, RetryPolicy
from .._errors import (
    ConfigError,
    DiskFull,
    TransportError,
)
from .bodies import JsonArrayReader, file_size, private
from .disk import discard_partial
from .failures import is_loopback, mapped, scrubbed, status_error_from
from .retrying import Sleep, retrying

__all__ = ("Transport",)

T = TypeVar("T")
log = logging.getLogger("streambatch.http")

_CHUNK = 1024 * 1024


class Transport:
    """Send requests to one provider's base URL with its credentials.

    Args:
        base_url: the provider's base URL (OpenAI's ends in ``/v1``).
        auth_headers: headers carrying the credentials.
        session: an ``aiohttp.ClientSession`` to use (the caller closes it);
            by default the transport opens and closes its own.
        retry: how failed exchanges are retried.
        rng: randomness for the retry jitter.
        sleep: how to wait between retries (tests pass a fast one).
        allow_insecure: allow sending credentials over plain http to a host that
            is not loopback.

    Raises:
        ConfigError: credentials would go over plain http to a remote host.
    """

    def __init__(
        self,
        base_url: str,
        auth_headers: Mapping[str, str],
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        allow_insecure: bool = False,
    ) -> None:
        self._base = URL(base_url.rstrip("/") + "/")
        if (
            auth_headers
            and self._base.scheme == "http"
            and not is_loopback(self._base)
            and not allow_insecure
        ):
            raise ConfigError(
                f"refusing to send an API key over plain http to {self._base.host}"
            )
        self._headers = dict(auth_headers)
        # The credentials as they might be echoed: whole header values and the
        # tokens in them (e.g. the key after "Bearer ").
        values = {v for v in self._headers.values()}
        values |= {part for v in values for part in v.split() if len(part) >= 8}
        self._secrets = sorted((v.encode() for v in values if v), key=len, reverse=True)
        self._own_session = session is None
        self._session = session
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"Transport({str(self._base)!r})"

    async def aclose(self) -> None:
        """Close the session if the transport opened it."""
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def retry_policy(self) -> RetryPolicy:
        """How failed exchanges are retried."""
        return self._retry

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send one request, retrying transient failures as its kind allows."""
        return await self.retrying(
            lambda: self._send_once(request),
            idempotent=request.idempotent,
            what=f"{request.method} {request.path}",
        )

    async def retrying(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        idempotent: bool,
        what: str = "request",
    ) -> T:
        """Run ``operation`` under this transport's retry policy (see
        ``_io.retrying``), with its randomness and sleep."""
        return await retrying(
            operation,
            idempotent=idempotent,
            policy=self._retry,
            rng=self._rng,
            sleep=self.sleep,
            what=what,
        )

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    def url(self, path: str) -> URL:
        """The absolute URL of ``path``; an absolute URL must share the base origin."""
        if path.startswith(("http://", "https://")):
            url = URL(path)
            if url.origin() != self._base.origin():
                raise ConfigError(f"refusing to send credentials to {url.origin()}")
            return url
        return self._base.join(URL(path))

    async def _send_once(self, request: HttpRequest) -> HttpResponse:
        """One exchange; a retryable status raises so that backoff retries it."""
        url = self.url(request.path).update_query(request.query)
        async with contextlib.AsyncExitStack() as resources:
            data, headers = await self._body(request, resources)
            headers |= request.headers
            if request.size_header is not None:
                size = await file_size(request.size_header.path)
                headers[request.size_header.header] = str(size)
            with mapped():
                async with self._open_session().request(
                    request.method, url, headers=self._headers | headers, data=data
                ) as resp:
                    body = await resp.read()
        headers = {k.lower(): v for k, v in resp.headers.items()}
        log.debug("%s %s -> %d", request.method, url.path, resp.status)
        if resp.status in RETRYABLE_STATUSES:
            raise status_error_from(resp.status, scrubbed(body, self._secrets), headers)
        if resp.status >= 400:
            body = scrubbed(body, self._secrets)
        return HttpResponse(status=resp.status, headers=headers, body=body)

    async def _body(
        self, request: HttpRequest, resources: contextlib.AsyncExitStack
    ) -> tuple[Any, dict[str, str]]:
        """The request body and its headers; files it opens close with ``resources``
        (even when the request is cancelled before they were read)."""
        upload = request.upload
        if request.json is not None:
            return bytes(request.json), {"Content-Type": "application/json"}
        if upload is None:
            return None, {}
        if isinstance(upload, JsonArrayUpload):
            size = await file_size(upload.path)
            length = len(upload.prefix) + max(size - 1, 0) + len(upload.suffix)
            # Opened here, not in a thread: a cancellation while a thread opened
            # it would leave the file open with nobody to close it.
            stream = JsonArrayReader(upload, size)
            resources.callback(stream.close)
            headers = {
                "Content-Type": "application/json",
                "Content-Length": str(length),
            }
            return stream, headers
        if isinstance(upload, FileBytes):
            left = max(await file_size(upload.path) - upload.offset, 0)
            raw = open(upload.path, "rb")  # noqa: ASYNC230, SIM115  # as above; closed by resources
            resources.callback(raw.close)
            raw.seek(upload.offset)
            return raw, {
                "Content-Type": upload.content_type,
                "Content-Length": str(left),
            }
        form = aiohttp.FormData()
        for name, value in upload.fields.items():
            form.add_field(name, value)
        file = open(upload.path, "rb")  # noqa: ASYNC230, SIM115  # as above; closed by resources
        resources.callback(file.close)
        form.add_field(
            "file", file, filename=upload.filename, content_type=upload.content_type
        )
        return form, {}

    async def drive(self, flow: Flow[T]) -> T:
        """Run a flow to its end and return its value."""
        try:
            request = next(flow)
        except StopIteration as stop:  # a flow that needed no request
            return stop.value  # type: ignore[no-any-return]  # StopIteration.value is Any
        while True:
            response = await self.send(request)
            try:
                request = flow.send(response)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]  # StopIteration.value is Any

    async def download(
        self,
        request: HttpRequest,
        dest: str | os.PathLike[str],
        *,
        expected: int | None = None,
    ) -> int:
        """Stream a response body into ``dest``; resume or restart if it breaks.

        A dropped connection continues from the bytes already on disk with an HTTP
        Range request when the server advertised ``Accept-Ranges: bytes``, and
        otherwise starts again from zero. The size is checked against
        ``Content-Length`` and ``expected``.

        Returns:
            The number of bytes written.

        Raises:
            TransportError: the body could not be had whole after every attempt.
            DiskFull: the disk is full (the partial file is removed).
            HTTPStatusError: the server refused the download.
        """
        progress = _Progress()
        try:
            await self.retrying(
                lambda: self._download_once(request, dest, progress),
                idempotent=True,
                what=f"download of {request.path}",
            )
        except DiskFull as exc:  # not a network fault: never retried
            raise discard_partial(dest, expected, exc) from exc
        if expected is not None and progress.written != expected:
            raise TransportError(
                f"downloaded {progress.written} bytes, expected {expected}"
            )
        return progress.written

    async def _download_once(
        self, request: HttpRequest, dest: str | os.PathLike[str], progress: _Progress
    ) -> None:
        """One attempt: from ``progress.written`` if the server takes ranges."""
        offset = progress.written if progress.ranges else 0
        headers = dict(self._headers)
        if offset:
            headers["Range"] = f"bytes={offset}-"
        url = self.url(request.path).update_query(request.query)
        with mapped():
            async with self._open_session().request(
                request.method, url, headers=headers
            ) as resp:
                resp_headers = {k.lower(): v for k, v in resp.headers.items()}
                if resp.status not in (200, 206):
                    body = scrubbed(await resp.read(), self._secrets)
                    raise status_error_from(resp.status, body, resp_headers)
                progress.ranges = resp_headers.get("accept-ranges") == "bytes"
                start = offset if resp.status == 206 else 0
                size = resp.content_length
                total = None if size is None else start + size
                progress.written = start
                # Opened on the loop (a local open is instant): a task cancelled
                # while a thread opened it would leave the file open. Writes go
                # to a thread, a MiB of the socket's small pieces at a time.
                mode = "r+b" if start else "wb"
                with open(dest, mode, opener=private) as file:  # noqa: ASYNC230
                    file.seek(start)
                    file.truncate()
                    pending: list[bytes] = []
                    size = 0
                    try:
                        async for chunk in resp.content.iter_any():
                            pending.append(chunk)
                            size += len(chunk)
                            if size >= _CHUNK:
                                await asyncio.to_thread(file.write, b"".join(pending))
                                progress.written += size
                                pending, size = [], 0
                    finally:  # what arrived before a break is kept, for a resume
                        if pending:
                            file.write(b"".join(pending))
                            progress.written += size
        if total is not None and progress.written != total:
            raise TransportError(f"body ended at {progress.written} of {total} bytes")


class _Progress:
    """How much of a download is on disk, and whether the server takes ranges."""

    __slots__ = ("ranges", "written")

    def __init__(self) -> None:
        self.written = 0
        self.ranges = False
