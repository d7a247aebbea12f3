"""A job's metrics, from its manifest alone: what ``status --json`` and
``Job.metrics()`` report, and the one-line state ``streambatch jobs`` lists.

Pure: no I/O, no clock. Everything here is read from the manifest, which holds
the provider's counts of every batch (as last polled), the times the polls saw
(``BatchRecord.created_at``, ``state_since``, ``ended_at``), the sizes of the
downloaded files, and, once results have been written (``streambatch results``,
``Job.write_results``), their counts by status and error type
(``Manifest.tally``). Errors by type are therefore None until results have been
written: the provider's counts do not break failures down, and reading the
downloaded files here would be I/O.

Succeeded and failed are the provider's counts: a retry sends only failed
requests, so the successes of a chunk's attempts never overlap, and every
request with a final answer (``done``) that did not succeed failed.
"""

from __future__ import annotations

import statistics

import msgspec

from .jobstate import batch_failed, progress_of
from .manifest import BatchRecord, Cost, Manifest

__all__ = ("BatchTime", "Durations", "Metrics", "job_state", "metrics_of")


class BatchTime(msgspec.Struct, frozen=True, kw_only=True):
    """One batch's time from its create to its end (Unix seconds).

    ``created_at`` is when the create call was sent (or the provider's time for
    an adopted batch); ``ended_at`` when a poll first saw it ended. ``seconds``
    is None while it runs or when a time was not recorded (a manifest of an
    earlier streambatch).
    """

    chunk: int
    attempt: int
    batch_id: str
    state: str
    created_at: float | None
    ended_at: float | None
    seconds: float | None


class Durations(msgspec.Struct, frozen=True, kw_only=True):
    """The ended batches' times from create to end, in seconds."""

    count: int
    min: float
    median: float
    max: float


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    """A job's health in numbers.

    Attributes:
        state: the job's state (see :func:`job_state`).
        requests: the job's requests (a retried request counts once).
        done: requests with a final answer.
        succeeded: of those, how many succeeded (the provider's counts).
        failed: of those, how many did not (errored, expired, cancelled).
        success_rate: ``succeeded / done``; None before anything is done.
        error_rate: ``failed / done``; None likewise.
        errors_by_type: failed records per error type, as last written;
            None until results have been written.
        statuses: records per status, as last written; None likewise.
        sent: requests sent in all, retries counted again.
        sent_by_attempt: requests sent in each attempt (1 = first batch).
        retried: requests sent again (``sent`` less the first attempts').
        batches: the number of batches in each state (as ``status`` shows).
        input_bytes: the input's size.
        downloaded_bytes: the result files downloaded so far.
        cost: what the results cost, as last written; None before.
        durations: the ended batches' times, create to end; None before any.
        batch_times: every created batch's times.
    """

    state: str
    requests: int
    done: int
    succeeded: int
    failed: int
    success_rate: float | None
    error_rate: float | None
    errors_by_type: dict[str, int] | None
    statuses: dict[str, int] | None
    sent: int
    sent_by_attempt: dict[int, int]
    retried: int
    batches: dict[str, int]
    input_bytes: int
    downloaded_bytes: int
    cost: Cost | None
    durations: Durations | None
    batch_times: list[BatchTime]


def job_state(manifest: Manifest) -> str:
    """The job in one word, from the newest attempt of each chunk.

    ``pending`` (a batch is not created yet), ``running`` (a batch has not
    ended), ``ended`` (all ended, files not all downloaded), ``failed`` (all
    downloaded, and the provider failed a batch as a whole), ``cancelled``
    (all downloaded, the job was cancelled), ``done`` (all downloaded);
    ``empty`` for a job of no chunk.
    """
    latest = [c.batch for c in manifest.chunks]
    attempts = [b for c in manifest.chunks for b in c.batches]
    if not latest:
        return "empty"
    if any(b.batch_id is None for b in attempts) and not manifest.cancelled:
        return "pending"
    if any(b.batch_id is not None and not b.ended for b in attempts):
        return "running"
    if not all(b.downloaded for b in attempts if b.batch_id is not None):
        return "ended"
    if any(batch_failed(b) for b in latest):
        return "failed"
    return "cancelled" if manifest.cancelled else "done"


def _started(record: BatchRecord) -> float | None:
    """When the batch was created: the provider's time, else the create's."""
    return record.created_at if record.created_at is not None else record.creating_since


def _times(manifest: Manifest) -> list[BatchTime]:
    times = []
    for chunk in manifest.chunks:
        for record in chunk.batches:
            if record.batch_id is None:
                continue
            start, end = _started(record), record.ended_at
            seconds = end - start if start is not None and end is not None else None
            times.append(
                BatchTime(
                    chunk=chunk.index,
                    attempt=record.attempt,
                    batch_id=record.batch_id,
                    state=str(record.state or "pending"),
                    created_at=start,
                    ended_at=end,
                    seconds=None if seconds is None else max(0.0, seconds),
                )
            )
    return times


def _durations(times: list[BatchTime]) -> Durations | None:
    seconds = [t.seconds for t in times if t.seconds is not None]
    if not seconds:
        return None
    return Durations(
        count=len(seconds),
        min=min(seconds),
        median=statistics.median(seconds),
        max=max(seconds),
    )


def metrics_of(manifest: Manifest) -> Metrics:
    """The metrics of the job ``manifest`` records."""
    progress = progress_of(manifest)
    attempts = [(c, b) for c in manifest.chunks for b in c.batches]
    succeeded = min(progress.done, sum(b.succeeded or 0 for _, b in attempts))
    failed = progress.done - succeeded
    by_attempt: dict[int, int] = {}
    for chunk, record in attempts:
        if record.batch_id is not None:
            sent = by_attempt.get(record.attempt, 0)
            by_attempt[record.attempt] = sent + chunk.size_of(record)
    times = _times(manifest)
    tally = manifest.tally
    return Metrics(
        state=job_state(manifest),
        requests=progress.requests,
        done=progress.done,
        succeeded=succeeded,
        failed=failed,
        success_rate=succeeded / progress.done if progress.done else None,
        error_rate=failed / progress.done if progress.done else None,
        errors_by_type=None if tally is None else dict(sorted(tally.errors.items())),
        statuses=None if tally is None else dict(sorted(tally.statuses.items())),
        sent=progress.sent,
        sent_by_attempt=dict(sorted(by_attempt.items())),
        retried=progress.sent - by_attempt.get(1, 0),
        batches=progress.batches,
        input_bytes=manifest.input_bytes,
        downloaded_bytes=sum(sum(b.downloads.values()) for _, b in attempts),
        cost=manifest.cost,
        durations=_durations(times),
        batch_times=times,
    )
