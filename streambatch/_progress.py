"""Progress snapshots of a job, and the lines that describe them.

Pure: computed from the manifest.
"""

from __future__ import annotations

from collections import Counter

import msgspec

from ._core.manifest import Manifest

__all__ = ("Progress", "describe", "progress_of")


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    """Where a job stands.

    Attributes:
        batches: the number of batches in each state (``pending`` for chunks
            without a batch yet).
        requests: requests in the job's batches (retries count again).
        done: requests known to have finished (succeeded or failed). Anthropic
            reports counts only when a batch ends, so this moves in steps there.
    """

    batches: dict[str, int]
    requests: int
    done: int

    @property
    def finished(self) -> bool:
        """Whether every batch has ended."""
        ended = {"completed", "failed", "expired", "cancelled"}
        return all(state in ended for state in self.batches)


def progress_of(manifest: Manifest) -> Progress:
    """The progress recorded in ``manifest``."""
    states: Counter[str] = Counter()
    done = 0
    for chunk in manifest.chunks:
        record = chunk.batch
        states[record.state or "pending"] += 1
        done += (record.succeeded or 0) + (record.failed or 0)
    return Progress(
        batches=dict(sorted(states.items())), requests=manifest.n_requests, done=done
    )


def describe(progress: Progress) -> str:
    """One line: ``done/total requests; N completed, M in_progress``."""
    states = ", ".join(f"{n} {state}" for state, n in progress.batches.items())
    return f"{progress.done}/{progress.requests} requests done; batches: {states}"
