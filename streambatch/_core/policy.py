"""Delays: how long to wait before polling again, and before retrying a request.

Pure: randomness comes in as a ``random.Random``; nothing here sleeps or reads a
clock. Both use "full jitter" exponential backoff (each delay drawn uniformly up
to an exponentially growing ceiling), which spreads thousands of pollers so they
do not hit the server in lockstep. A server's ``Retry-After`` is a floor.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Mapping

import msgspec

from .._errors import HTTPStatusError, NotYetVisible, TransportError

__all__ = (
    "RETRYABLE_STATUSES",
    "PollPolicy",
    "RetryPolicy",
    "decide",
    "parse_retry_after",
    "transient",
)


class PollPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """When to ask again about a batch that has not ended.

    Attributes:
        min_delay: the shortest wait between two polls of one batch, in seconds.
        max_delay: the longest.
    """

    min_delay: float = 5.0
    max_delay: float = 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before poll number ``attempt + 1`` (``attempt`` counts from 0).

        Drawn uniformly from ``[min_delay, ceiling]`` where the ceiling doubles
        from ``min_delay`` with each attempt, up to ``max_delay``.
        """
        ceiling = min(self.max_delay, self.min_delay * 2.0 ** min(attempt, 32))
        return rng.uniform(self.min_delay, max(self.min_delay, ceiling))


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How one failed HTTP exchange is retried.

    Attributes:
        first_delay: the ceiling of the first wait, in seconds.
        max_delay: the largest ceiling.
        max_attempts: attempts in all, the first included.
        max_retry_after: a server asking for a longer wait than this is not
            retried (the request fails at once, as the official SDKs do).
    """

    first_delay: float = 0.5
    max_delay: float = 30.0
    max_attempts: int = 8
    max_retry_after: float = 300.0


RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
"""Statuses that say "not now": timeouts, conflicts, rate limits, server errors."""


def transient(
    failure: TransportError | HTTPStatusError,
    *,
    idempotent: bool,
    policy: RetryPolicy,
) -> bool:
    """Whether another try of the request may go where this one failed.

    - a server asking for a wait longer than ``policy.max_retry_after`` is not
      (the request fails at once, as the official SDKs do);
    - a 429 always is, and is safe to repeat (the server did nothing);
    - anything else may have reached the server: it is repeated only when the
      request is ``idempotent``, and then only for a broken connection, a
      timeout, a status of :data:`RETRYABLE_STATUSES`, or a provider's
      :class:`NotYetVisible` (a file uploaded a moment ago).
    """
    retry_after = getattr(failure, "retry_after", None)
    if retry_after is not None and retry_after > policy.max_retry_after:
        return False
    if isinstance(failure, HTTPStatusError):
        if failure.status == 429:
            return True
        return idempotent and (
            failure.status in RETRYABLE_STATUSES or isinstance(failure, NotYetVisible)
        )
    return idempotent


def decide(
    failure: TransportError | HTTPStatusError,
    attempt: int,
    *,
    idempotent: bool,
    policy: RetryPolicy,
    rng: random.Random,
) -> float | None:
    """How long to wait before trying again after attempt number ``attempt``
    (from 1) failed with ``failure``; None to give up.

    The one retry rule of streambatch, for every request, download and create:
    at most ``policy.max_attempts`` attempts, and only for a :func:`transient`
    failure. The wait is drawn with full jitter below a ceiling that doubles from
    ``first_delay`` up to ``max_delay``; a server's ``Retry-After`` is a floor.
    """
    if attempt >= policy.max_attempts or not transient(
        failure, idempotent=idempotent, policy=policy
    ):
        return None
    ceiling = min(policy.max_delay, policy.first_delay * 2.0 ** min(attempt - 1, 32))
    floor = getattr(failure, "retry_after", None) or 0.0
    return max(floor, rng.uniform(0.0, ceiling))


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """The delay a response asks for, in seconds, or None.

    Reads ``retry-after-ms`` (milliseconds), then ``retry-after`` as seconds or as
    an HTTP date (relative to ``now``, a Unix time). Header names are lower-case.
    """
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
