"""Emulated time, and where a batch stands in its schedule at a given moment.

A batch's state is a pure function of the emulated seconds since its creation
(plus a cancel time and an expiry stall), computed when asked: nothing ticks in
the background. Stdlib only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ._config import Timings


class Clock:
    """Emulated unix time, running ``speed`` times faster than the wall clock."""

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
