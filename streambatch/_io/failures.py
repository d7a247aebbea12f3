"""What went wrong on the wire, in streambatch's own terms.

Which statuses are worth retrying, aiohttp's and the socket's exceptions mapped to
``TransportError`` (a full disk excepted), error bodies scrubbed of credentials a server might echo, and
which hosts are this machine (where a key may travel over plain http).
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Iterator, Mapping

import aiohttp
from yarl import URL

from .._core.flow import status_error
from .._core.policy import parse_retry_after
from .._errors import (
    ConfigError,
    DiskFull,
    HTTPStatusError,
    ResultsLost,
    TransportError,
    TransportTimeout,
)
from .disk import is_disk_full

__all__ = (
    "check_base_url",
    "check_key",
    "gone_is_lost",
    "is_loopback",
    "mapped",
    "scrubbed",
    "status_error_from",
)


def is_loopback(url: str | URL) -> bool:
    """Whether ``url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    host = URL(url).host if isinstance(url, str) else url.host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> None:
    """Refuse a base URL that is not ``http(s)://host[:port][/path]``.

    Raises:
        ConfigError: with the reason.
    """
    try:
        parsed = URL(url)
        port = parsed.port  # a bad port raises only when asked for
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"base URL {url!r} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host or port == 0:
        raise ConfigError(f"base URL {url!r} must look like https://host[:port][/path]")


def check_key(key: str, name: str) -> None:
    """Refuse a key no HTTP header can carry (never showing it).

    Raises:
        ConfigError: naming the variable it came from.
    """
    if not all("!" <= c <= "~" for c in key):
        raise ConfigError(
            f"the API key in {name} holds characters no HTTP header can carry "
            "(spaces, line breaks or non-ASCII): check how it was set"
        )


def status_error_from(
    status: int, body: bytes, headers: Mapping[str, str]
) -> HTTPStatusError:
    """The error for a status, with the delay the server asked for."""
    return status_error(status, body, parse_retry_after(headers, time.time()))


def scrubbed(body: bytes, secrets: list[bytes]) -> bytes:
    """``body`` with every secret replaced, lest a server echo a key back."""
    for secret in secrets:
        body = body.replace(secret, b"[redacted]")
    return body


@contextlib.contextmanager
def mapped() -> Iterator[None]:
    """Turn aiohttp's and the socket's exceptions into ours.

    A full disk (``ENOSPC``, ``EDQUOT``) is ``DiskFull``, never a ``TransportError``:
    retrying would not free any space.
    """
    try:
        yield
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise TransportTimeout(f"timed out: {type(exc).__name__}") from exc
    except aiohttp.ClientError as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFull(exc.filename or "a local file") from exc
        raise TransportError(f"{type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def gone_is_lost(batch_id: str, kind: str) -> Iterator[None]:
    """A download the provider answers with 404 or 410 is ``ResultsLost``."""
    try:
        yield
    except HTTPStatusError as exc:
        if exc.status not in (404, 410):
            raise
        raise ResultsLost(
            batch_id,
            f"its {kind} file is not in the job directory (whole) and the provider "
            f"no longer has it (HTTP {exc.status})",
        ) from exc
