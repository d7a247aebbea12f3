"""Emulated time, and where a batch stands in its schedule at a given moment.

A batch's state is a pure function of the emulated seconds since its creation
(plus a cancel time and an expiry stall), computed when asked: nothing ticks in
the background. The emulator reads time through a `Clock`: `ScaledClock` (the
wall clock sped up, the default) or `ManualClock` (time moves only when a test
says so, and nothing sleeps for real). Stdlib only.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._config import Timings


class Clock(Protocol):
    """Where the emulator reads the time and waits out its fault delays.

    ``now`` is emulated unix time, which drives the batches' schedules;
    ``monotonic`` and ``sleep`` count the faults' delays
    (``Faults.slow_seconds``, ``stuck_finalizing_seconds``,
    ``invisible_file_seconds``).
    """

    def now(self) -> float:
        """Return the emulated unix time, in seconds."""
        ...

    def resume_at(self, emulated: float) -> None:
        """Go on from the emulated unix time ``emulated`` (a reloaded state's)."""
        ...

    def monotonic(self) -> float:
        """Return the seconds of a monotonic timer, for the faults' delays."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's timer."""
        ...


class ScaledClock:
    """Emulated unix time, running ``speed`` times faster than the wall clock.

    The faults' delays are real seconds (``time.monotonic``, ``asyncio.sleep``).
    The emulator uses this clock unless ``EmulatorConfig.clock`` names another.
    """

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._start_unix = time.time()
        self._start = time.monotonic()

    def now(self) -> float:
        """Return the emulated unix time, in seconds."""
        return self._start_unix + (time.monotonic() - self._start) * self.speed

    def resume_at(self, emulated: float) -> None:
        """Go on from the emulated unix time ``emulated`` (a reloaded state's)."""
        self._start_unix = emulated
        self._start = time.monotonic()

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep(seconds)``."""
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that stands still until `advance` moves it: tests control time.

    Emulated time and the faults' delays both move by exactly the seconds
    advanced (``Timings.speed`` plays no part), so a test can walk a batch
    through its phases, or past a fault's delay, without waiting for real.
    A `sleep` (a slowed request) returns once the clock has been advanced past
    its end. `advance` may be called from any thread.

    Args:
        start: The emulated unix time to begin at; the wall clock's when None.
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._now = time.time() if start is None else float(start)
        self._elapsed = 0.0
        self._order = itertools.count()
        self._sleepers: list[
            tuple[float, int, asyncio.AbstractEventLoop, asyncio.Future[None]]
        ] = []

    def now(self) -> float:
        """Return the emulated unix time, in seconds."""
        with self._lock:
            return self._now

    def resume_at(self, emulated: float) -> None:
        """Go on from the emulated unix time ``emulated`` (a reloaded state's)."""
        with self._lock:
            self._now = float(emulated)

    def monotonic(self) -> float:
        """Return the seconds advanced since the clock was made."""
        with self._lock:
            return self._elapsed

    @property
    def sleeping(self) -> int:
        """How many sleeps (slowed requests) wait for the clock to move."""
        with self._lock:
            return sum(not entry[3].done() for entry in self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds`` and end every sleep that is then over.

        Raises:
            ValueError: For a negative or non-finite ``seconds``.
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"cannot advance a clock by {seconds!r} seconds")
        due = []
        with self._lock:
            self._now += seconds
            self._elapsed += seconds
            while self._sleepers and self._sleepers[0][0] <= self._elapsed:
                due.append(heapq.heappop(self._sleepers))
        for _, _, loop, future in due:
            loop.call_soon_threadsafe(_wake, future)

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by ``seconds`` from now."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            entry = (self._elapsed + seconds, next(self._order), loop, future)
            heapq.heappush(self._sleepers, entry)
        try:
            await future
        finally:
            if not future.done():
                future.cancel()
            with self._lock:
                if entry in self._sleepers:
                    self._sleepers.remove(entry)
                    heapq.heapify(self._sleepers)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass(frozen=True)
class Facts:
    """What the schedule needs to know about a batch.

    Attributes:
        count: Requests in the batch (0 while unknown).
        validated: Whether validation has finished.
        invalid: Whether validation found the batch invalid.
        cancel_after: Emulated seconds from creation to the cancel request.
        stall: For an expiring batch, the fraction of items that finish.
    """

    count: int
    validated: bool
    invalid: bool
    cancel_after: float | None
    stall: float | None


def _progress(t: float, count: int, timings: Timings) -> int:
    """Return how many items have finished ``t`` emulated seconds in."""
    start = timings.validating
    span = timings.in_progress + timings.per_item * count
    if t < start:
        return 0
    if span <= 0 or t >= start + span:
        return count
    return min(count, math.floor((t - start) / span * count))


def schedule(facts: Facts, t: float, timings: Timings) -> tuple[str, int]:
    """Return the (OpenAI-vocabulary) status and finished items at time ``t``.

    Args:
        facts: The batch.
        t: Emulated seconds since the batch was created.
        timings: The clock profile.

    Returns:
        ``(status, finished)``. The status ignores whether result files exist
        yet; the caller holds a batch back until they do.
    """
    count = facts.count
    if facts.cancel_after is not None:
        done = (
            0 if not facts.validated else _progress(facts.cancel_after, count, timings)
        )
        if facts.stall is not None:
            done = min(done, math.floor(facts.stall * count))
        ended = t >= facts.cancel_after + timings.cancelling
        return ("cancelled" if ended and facts.validated else "cancelling"), done
    if not facts.validated or (t < timings.validating):
        return "validating", 0
    if facts.invalid:
        return "failed", 0
    done = _progress(t, count, timings)
    if facts.stall is not None:
        done = min(done, math.floor(facts.stall * count))
        return ("expired" if t >= timings.completion_window else "in_progress"), done
    end = timings.validating + timings.in_progress + timings.per_item * count
    if t < end:
        return "in_progress", done
    if t < end + timings.finalizing:
        return "finalizing", count
    return "completed", count
