"""Watch every batch of a job until it ends: concurrent, jittered, rate-limited.

One small task per unfinished batch, all in one task group; a semaphore bounds
the status requests in flight. Delays come from the pure ``PollPolicy`` (full
jitter between its minimum and maximum); a server's ``Retry-After`` is a floor.
Whether a failed poll is worth another is the one retry policy's call. Sleep and
randomness are injected, so tests run polling on fake time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from ._core.jobstate import Progress, progress_of, status_seen
from ._core.manifest import BatchRecord, ChunkRecord
from ._core.policy import PollPolicy, transient
from ._errors import HTTPStatusError, TransportError
from ._io.http import Transport
from ._io.retrying import Sleep
from ._io.store import JobStore
from ._providers.batches import BatchAPI, BatchStatus
from ._tasks import task_group

__all__ = ("apply_status", "poll_all")

log = logging.getLogger("streambatch.poll")


def apply_status(
    store: JobStore,
    api: BatchAPI,
    chunk: ChunkRecord,
    record: BatchRecord,
    status: BatchStatus,
) -> BatchRecord | None:
    """Record a polled status (and, for an ended batch, its download plan);
    return the new record, or None when nothing changed (then a change an
    earlier poll saw, held back by the store's interval, is written if due)."""
    step = status_seen(
        record,
        state=status.state,
        total=status.total,
        succeeded=status.succeeded,
        failed=status.failed,
        errors=status.errors,
        plan=api.downloads(status) if status.terminal else None,
        now=time.time(),
    )
    if step is None:
        store.save_due()
        return None
    return store.apply(chunk, step)


async def poll_all(
    store: JobStore,
    api: BatchAPI,
    transport: Transport,
    policy: PollPolicy,
    *,
    on_progress: Callable[[Progress], object] | None,
    concurrency: int,
    sleep: Sleep,
    rng: random.Random,
) -> Progress:
    """Poll every created, unfinished batch of the job until all have ended.

    A cancel asked for from another process (``streambatch cancel``) is
    recorded as soon as it is seen; the batches then end as cancelled.
    """
    gate = asyncio.Semaphore(concurrency)

    async def watch(chunk: ChunkRecord, record: BatchRecord) -> None:
        attempt = 0
        while not record.ended:
            if store.dir.cancel_requested() and not store.manifest.cancelled:
                log.warning("a cancel was requested: the batches end as cancelled")
                store.cancel()
            try:
                async with gate:
                    status = await transport.drive(api.retrieve(record.batch_id or ""))
            except (TransportError, HTTPStatusError) as exc:
                # The transport has retried already; the next poll is one more try,
                # unless the failure is one no retry mends (a 401, an unknown batch).
                if not transient(exc, idempotent=True, policy=transport.retry_policy):
                    raise
                log.warning("poll of %s failed: %s", record.batch_id, exc)
                floor = getattr(exc, "retry_after", None) or 0.0
                await sleep(max(policy.delay(attempt, rng), floor))
                attempt += 1
                continue
            new = apply_status(store, api, chunk, record, status)
            if new is not None:
                record = new
                if on_progress is not None:
                    on_progress(progress_of(store.manifest))
            if not record.ended:
                await sleep(policy.delay(attempt, rng))
                attempt += 1

    try:
        async with task_group() as group:
            for chunk, record in store.attempts():
                if record.batch_id is not None and not record.ended:
                    group.create_task(watch(chunk, record))
    finally:
        store.flush()
    return progress_of(store.manifest)
