"""Run an async operation again while the retry policy says so: the one retry
loop of streambatch (HTTP exchanges, downloads, creates), built on ``backoff``.

What is retried and how long to wait is ``_core.policy.decide``'s; this module
only runs the loop. The sleep is injected, so tests never wait for real: backoff's
own wait is always zero, and the policy's wait is slept in its ``on_backoff``
handler with the given ``sleep``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

import backoff

from .._core.policy import RetryPolicy, decide
from .._errors import HTTPStatusError, TransportError

__all__ = ("Sleep", "retrying")

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
"""An ``asyncio.sleep``-like function (tests pass a fast or recording one)."""

log = logging.getLogger("streambatch.http")


def _no_wait() -> Generator[float, Any, None]:
    while True:
        yield 0.0


async def retrying(
    operation: Callable[[], Awaitable[T]],
    *,
    idempotent: bool,
    policy: RetryPolicy,
    rng: random.Random,
    sleep: Sleep = asyncio.sleep,
    what: str = "request",
) -> T:
    """Await ``operation()``; on a transport or status failure, ask the policy,
    then wait and call it again, or raise the failure.

    Args:
        operation: makes one attempt (a new awaitable each call).
        idempotent: whether an attempt that may have reached the server can be
            repeated (see ``decide``).
        policy: how many attempts and how long between them.
        rng: randomness for the jitter.
        sleep: how to wait.
        what: what the operation is, for the log.
    """
    attempts = 0
    wait = 0.0

    def give_up(exc: Exception) -> bool:
        nonlocal attempts, wait
        attempts += 1
        assert isinstance(exc, TransportError | HTTPStatusError)
        decided = decide(exc, attempts, idempotent=idempotent, policy=policy, rng=rng)
        if decided is None:
            return True
        wait = decided
        return False

    async def pause(details: Any) -> None:
        log.info("%s failed (%s); again in %.2fs", what, details["exception"], wait)
        await sleep(wait)

    @backoff.on_exception(
        _no_wait,
        (TransportError, HTTPStatusError),
        max_tries=None,
        giveup=give_up,
        on_backoff=pause,
        jitter=None,
        logger=None,
    )
    async def attempt() -> T:
        return await operation()

    return await attempt()
