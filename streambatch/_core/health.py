"""Warnings about a job that may need a look: a batch stuck in validating or
finalizing, a batch that makes no progress, a job whose error rate is high.

Pure: no I/O, and no clock: ``now`` (Unix seconds) comes in as an argument, so
the same manifest and time always give the same warnings. ``status`` shows them
and ``wait``/``run`` log them as they appear (``_health``).

The times come from the manifest (see ``_core.metrics``): a batch's state is
dated by the poll that first saw it; a batch still in its first state
(validating) is dated by its create. A manifest written before these times
were recorded gives no stuck or stalled warning for its batches.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from .manifest import BatchRecord, Manifest
from .metrics import metrics_of
from .states import BatchState

__all__ = ("MAX_ERROR_RATE", "STUCK_AFTER", "HealthWarning", "warnings_of")

STUCK_AFTER = 30 * 60.0
"""Seconds a batch may sit in validating or finalizing before a warning."""

MAX_ERROR_RATE = 0.05
"""The share of failed requests (of those done) above which the job is warned of."""

_SLOW_STATES = (BatchState.VALIDATING, BatchState.FINALIZING)

Kind = Literal["stuck", "stalled", "error_rate"]


class HealthWarning(msgspec.Struct, frozen=True, kw_only=True):
    """One warning.

    Attributes:
        kind: ``stuck`` (validating or finalizing too long), ``stalled`` (no
            change of state or counts for the time asked), ``error_rate``.
        message: the warning, for a person.
        batch_id: the batch it is about (None for the job's error rate).
        seconds: how long the batch has been so (None for the error rate).
    """

    kind: Kind
    message: str
    batch_id: str | None = None
    seconds: float | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        """What the warning is about (a watcher logs each once)."""
        return self.kind, self.batch_id


def _created(record: BatchRecord) -> float | None:
    return record.created_at if record.created_at is not None else record.creating_since


def _in_state_since(record: BatchRecord) -> float | None:
    """When the batch entered its current state, as far as the manifest knows."""
    if record.state_since is not None:
        return record.state_since
    # created() puts a batch in validating without a poll: its create dates it.
    return _created(record) if record.state is BatchState.VALIDATING else None


def _last_change(record: BatchRecord) -> float | None:
    for value in (record.changed_at, record.state_since, _created(record)):
        if value is not None:
            return value
    return None


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def warnings_of(
    manifest: Manifest,
    now: float,
    *,
    stall_after: float | None = None,
    stuck_after: float = STUCK_AFTER,
    max_error_rate: float = MAX_ERROR_RATE,
) -> list[HealthWarning]:
    """The job's warnings at time ``now``.

    Args:
        manifest: the job.
        now: the time, Unix seconds.
        stall_after: warn of a running batch whose state and counts have not
            changed for this many seconds; None: never (Anthropic reports
            counts only when a batch ends, so its batches look stalled).
        stuck_after: warn of a batch in validating or finalizing this long.
        max_error_rate: warn when more than this share of the requests done
            failed.

    Returns:
        The warnings: batches in chunk order, then the job's error rate.
    """
    found: list[HealthWarning] = []
    for chunk in manifest.chunks:
        for record in chunk.batches:
            if record.batch_id is None or record.ended or record.state is None:
                continue
            since = _in_state_since(record)
            if record.state in _SLOW_STATES and since is not None:
                held = now - since
                if held > stuck_after:
                    found.append(
                        HealthWarning(
                            kind="stuck",
                            message=f"batch {record.batch_id} (chunk {chunk.index}) "
                            f"has been {record.state} for {_minutes(held)}",
                            batch_id=record.batch_id,
                            seconds=held,
                        )
                    )
                    continue  # one warning per batch: the stuck one says more
            last = _last_change(record)
            if stall_after is None or last is None:
                continue
            if now - last > stall_after:
                found.append(
                    HealthWarning(
                        kind="stalled",
                        message=f"batch {record.batch_id} (chunk {chunk.index}) has "
                        f"made no progress for {_minutes(now - last)} "
                        f"({record.state})",
                        batch_id=record.batch_id,
                        seconds=now - last,
                    )
                )
    metrics = metrics_of(manifest)
    if metrics.error_rate is not None and metrics.error_rate > max_error_rate:
        found.append(
            HealthWarning(
                kind="error_rate",
                message=f"{metrics.error_rate:.1%} of the requests done failed "
                f"({metrics.failed:,} of {metrics.done:,}), above "
                f"{max_error_rate:.0%}",
            )
        )
    return found
