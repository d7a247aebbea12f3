"""Watch a job's health while it is waited for: log each warning once, as it
appears (the pure rules are ``_core.health``'s).

The watcher is a task beside the polling: it reads the job's current manifest
every ``interval`` seconds (a stalled batch changes nothing, so no poll would
say so), and ends with the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from ._core.health import HealthWarning, warnings_of
from ._core.manifest import Manifest

__all__ = ("check_interval", "watching")

log = logging.getLogger("streambatch.health")

OnWarning = Callable[[HealthWarning], object]


def check_interval(stall_after: float | None) -> float:
    """How often to look: every minute, or twice per ``stall_after`` if shorter."""
    if stall_after is None:
        return 60.0
    return max(0.01, min(60.0, stall_after / 2))


async def _watch(
    read: Callable[[], Manifest],
    *,
    stall_after: float | None,
    on_warning: OnWarning | None,
    clock: Callable[[], float],
) -> None:
    seen: set[tuple[str, str | None]] = set()
    interval = check_interval(stall_after)
    while True:
        for warning in warnings_of(read(), clock(), stall_after=stall_after):
            if warning.key in seen:
                continue
            seen.add(warning.key)
            log.warning("%s", warning.message)
            if on_warning is not None:
                on_warning(warning)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def watching(
    read: Callable[[], Manifest],
    *,
    stall_after: float | None = None,
    on_warning: OnWarning | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[None]:
    """Watch the job whose manifest ``read`` gives for as long as the block runs.

    Args:
        read: the job's current manifest.
        stall_after: warn of a batch unchanged this many seconds (None: never).
        on_warning: also called with each new warning.
        clock: the time, Unix seconds.
    """
    task = asyncio.create_task(
        _watch(read, stall_after=stall_after, on_warning=on_warning, clock=clock)
    )
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait([task])  # its end, never its CancelledError
