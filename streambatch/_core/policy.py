"""Delays: how long to wait before polling again, and before retrying a request.

Pure: randomness comes in as a ``random.Random``; nothing here sleeps or reads a
clock. Both use "full jitter" exponential backoff (each delay drawn uniformly up
to an exponentially growing ceiling), which spreads thousands of pollers so they
do not hit the server in lockstep. A server's ``Retry-After`` is a floor.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Generator, Mapping

import msgspec

__all__ = ("PollPolicy", "RetryPolicy", "parse_retry_after", "retry_waits")


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


def retry_waits(
    policy: RetryPolicy, rng: random.Random
) -> Generator[float, BaseException | None, None]:
    """Yield full-jitter waits; an exception's ``retry_after`` is a floor.

    The generator is primed with ``send(None)`` and then sent each exception (the
    protocol of the ``backoff`` library).
    """
    exc = yield 0.0
    attempt = 0
    while True:
        ceiling = min(policy.max_delay, policy.first_delay * 2.0 ** min(attempt, 32))
        floor = getattr(exc, "retry_after", None) or 0.0
        exc = yield max(floor, rng.uniform(0.0, ceiling))
        attempt += 1


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
