"""Watch every batch of a job until it ends: concurrent, jittered, rate-limited.

One small task per unfinished batch, all in one task group; a semaphore bounds
the status requests in flight. Delays come from the pure ``PollPolicy`` (full
jitter between its minimum and maximum); a server's ``Retry-After`` is a floor.
Sleep and randomness are injected, so tests run polling on fake time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ._core.manifest import BatchRecord
from ._core.policy import PollPolicy
from ._errors import HTTPStatusError, TransportError
from ._io.failures import RETRYABLE
from ._progress import Progress
from ._providers.batches import TERMINAL, BatchStatus
from ._tasks import task_group

if TYPE_CHECKING:
    from ._job import Job

__all__ = ("Sleep", "apply_status", "poll_all")

log = logging.getLogger("streambatch.poll")
Sleep = Callable[[float], Awaitable[None]]


async def poll_all(
    job: Job,
    policy: PollPolicy,
    *,
    on_progress: Callable[[Progress], object] | None,
    concurrency: int,
    sleep: Sleep,
    rng: random.Random,
) -> Progress:
    """Poll every created, unfinished batch of ``job`` until all have ended."""
    gate = asyncio.Semaphore(concurrency)
    saved = _Saver(job)

    async def watch(record: BatchRecord) -> None:
        attempt = 0
        while record.state not in TERMINAL:
            try:
                async with gate:
                    status = await job.transport.drive(
                        job.api.retrieve(record.batch_id or "")
                    )
            except (TransportError, HTTPStatusError) as exc:
                if isinstance(exc, HTTPStatusError) and exc.status not in RETRYABLE:
                    raise  # the batch is gone, or the key is wrong: polling won't help
                log.warning("poll of %s failed: %s", record.batch_id, exc)
                floor = getattr(exc, "retry_after", None) or 0.0
                await sleep(max(policy.delay(attempt, rng), floor))
                attempt += 1
                continue
            if apply_status(record, status):
                saved.changed(ended=record.state in TERMINAL)
                if on_progress is not None:
                    on_progress(job.progress())
            if record.state not in TERMINAL:
                await sleep(policy.delay(attempt, rng))
                attempt += 1

    try:
        async with task_group() as group:
            for _, record in job.attempts():
                if record.batch_id is not None:
                    group.create_task(watch(record))
    finally:
        saved.flush()
    return job.progress()


class _Saver:
    """Write polled progress to the manifest at most every ``interval`` seconds,
    and at once when a batch ends.

    None of it is flushed to the disk (fsync) but the last write: after a crash,
    progress is had again by polling.
    """

    def __init__(self, job: Job, interval: float = 1.0) -> None:
        self._job = job
        self._interval = interval
        self._last = -interval  # the first change is written at once
        self._dirty = False

    def changed(self, *, ended: bool) -> None:
        self._dirty = True
        if ended or time.monotonic() - self._last >= self._interval:
            self._write(durable=False)

    def flush(self) -> None:
        if self._dirty:
            self._write(durable=True)

    def _write(self, *, durable: bool) -> None:
        self._job.save(durable=durable)
        self._dirty, self._last = False, time.monotonic()


def apply_status(record: BatchRecord, status: BatchStatus) -> bool:
    """Copy a status into a record; say whether anything changed."""
    before = (record.state, record.total, record.succeeded, record.failed)
    record.state = status.state
    record.total = status.total
    record.succeeded = status.succeeded
    record.failed = status.failed
    record.output_file_id = status.output_file_id or record.output_file_id
    record.error_file_id = status.error_file_id or record.error_file_id
    record.errors = status.errors or record.errors
    return before != (record.state, record.total, record.succeeded, record.failed)
