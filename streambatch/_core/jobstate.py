"""A job's state machine: every change to a job's state, as a pure function.

Pure: no I/O, no clock (times come in as arguments). The records are frozen
(``_core.manifest``); each transition takes a record and returns a :class:`Step`,
the new record and the durability the change needs before the job may go on.
``_io.store.JobStore`` is the one place that applies steps and saves them; nothing
else changes a job's state.

The life of one batch attempt::

    planned ─uploaded─▶ uploaded ─create_intended─▶ intended ─created─▶ validating
      (the intent is fsynced before the create call is sent: a crash after it
       makes the next process look the batch up before it creates another)
    intended ─adopted─▶ validating, unverified
      (a provider without tags: a look-up found a batch by matching; once it
       has ended and its files are on disk, adoption_proven clears the mark, or
       adoption_refused takes the attempt back to intended, the batch passed
       over from then on; no result of an unverified batch is ever used)
    validating ─status_seen─▶ in_progress / finalizing / cancelling ─▶ ended
      (ended: completed, failed, expired or cancelled; the download plan is
       recorded at that transition)
    ended ─downloaded (each planned file)─▶ downloaded ─input_deleted─▶ tidy
      (download_lost takes a file back when it is found missing or damaged)

A chunk gains an attempt with ``retry_added`` (only once all its attempts are
downloaded); a job is stopped with ``cancel_requested``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import NamedTuple

import msgspec

from .._errors import JobError
from .manifest import BatchRecord, ChunkRecord, Cost, Manifest, Planned, Tally
from .states import TERMINAL, BatchState

__all__ = (
    "TERMINAL",
    "Action",
    "BatchState",
    "Durability",
    "Progress",
    "Step",
    "adopted",
    "adoption_proven",
    "adoption_refused",
    "batch_failed",
    "cancel_requested",
    "cost_found",
    "create_intended",
    "created",
    "download_lost",
    "downloaded",
    "input_deleted",
    "next_action",
    "progress_of",
    "resendable",
    "results_counted",
    "retry_added",
    "settled",
    "status_seen",
    "unfinished",
    "uploaded",
)


class Durability(enum.IntEnum):
    """What a change needs before the job goes on.

    ``LAZY``: polled progress, which polling gives again; it may be written up to
    a second later, with other changes. ``WRITE``: on disk before the next step
    (it survives the process dying, not the machine). ``SYNC``: on disk and
    flushed (fsync) before the next step: the intent before a create, the id
    after it.
    """

    LAZY = 0
    WRITE = 1
    SYNC = 2


class Step(NamedTuple):
    """A transition's outcome: the new record and the durability it needs."""

    record: BatchRecord
    durability: Durability


class Action(enum.Enum):
    """What an attempt needs next (see :func:`next_action`)."""

    UPLOAD = "upload"
    LOOK_UP = "look up"  # a create may have reached the provider: look first
    CREATE = "create"
    POLL = "poll"
    VERIFY = "verify"  # an adopted batch ended: prove it the attempt's, or refuse it
    DOWNLOAD = "download"
    DELETE_INPUT = "delete input"
    DONE = "done"


def _replace(record: BatchRecord, **changes: object) -> BatchRecord:
    return msgspec.structs.replace(record, **changes)


def uploaded(record: BatchRecord, file_id: str) -> Step:
    """The attempt's requests were uploaded as ``file_id``.

    Written, not flushed: the intent, next, is. Lost, it costs a second upload
    of the chunk, never a second batch.
    """
    if record.creating_since is not None or record.batch_id is not None:
        raise JobError(f"attempt {record.attempt} was uploaded after its create")
    return Step(_replace(record, file_id=file_id), Durability.WRITE)


def create_intended(record: BatchRecord, now: float) -> Step:
    """A create call is about to be sent (``now`` is the Unix time): durable first."""
    if record.batch_id is not None:
        raise JobError(f"attempt {record.attempt} has batch {record.batch_id} already")
    return Step(_replace(record, creating_since=now), Durability.SYNC)


def created(record: BatchRecord, batch_id: str) -> Step:
    """The provider created (or a look-up found) the attempt's batch."""
    if record.creating_since is None:
        raise JobError(f"batch {batch_id} was created with no intent recorded")
    if record.batch_id not in (None, batch_id):
        raise JobError(f"attempt {record.attempt} has batch {record.batch_id} already")
    return Step(
        _replace(record, batch_id=batch_id, state=BatchState.VALIDATING),
        Durability.SYNC,
    )


def adopted(record: BatchRecord, batch_id: str) -> Step:
    """A look-up found ``batch_id`` by matching (a provider without tags): it is
    the attempt's batch only once its custom_ids are shown to be the attempt's
    (:func:`adoption_proven`)."""
    if batch_id in record.refused:
        raise JobError(
            f"batch {batch_id} was shown not to be attempt {record.attempt}'s"
        )
    step = created(record, batch_id)
    return Step(_replace(step.record, unverified=True), step.durability)


def adoption_proven(record: BatchRecord) -> Step:
    """The adopted batch's files hold exactly the attempt's custom_ids: its
    results are the attempt's."""
    if not record.unverified or not record.downloaded:
        raise JobError(f"batch {record.batch_id} has no adoption to prove")
    return Step(_replace(record, unverified=False), Durability.SYNC)


def adoption_refused(record: BatchRecord) -> Step:
    """The adopted batch is not the attempt's (another job's, by its custom_ids
    or by the claim of the job that created it): forget it, keep it among those
    passed over, and go back to the intent, so that the attempt is looked up and
    created anew."""
    if not record.unverified or record.batch_id is None:
        raise JobError(f"batch {record.batch_id} has no adoption to refuse")
    fresh = _replace(
        record,
        batch_id=None,
        state=None,
        total=None,
        succeeded=None,
        failed=None,
        errors=[],
        plan=None,
        downloads={},
        unverified=False,
        refused=[*record.refused, record.batch_id],
    )
    return Step(fresh, Durability.SYNC)


def status_seen(
    record: BatchRecord,
    *,
    state: BatchState,
    total: int | None,
    succeeded: int | None,
    failed: int | None,
    errors: Iterable[str] = (),
    plan: list[Planned] | None = None,
    now: float | None = None,
) -> Step | None:
    """A poll saw the batch in ``state``; None when nothing changed.

    An ended batch keeps its last state (a late status cannot bring it back).
    At the transition to an ended state, ``plan`` (the files to download, which
    the provider names in that status) is required and recorded. ``now`` (the
    Unix time of the poll) dates the change: ``changed_at``, and
    ``state_since`` and ``ended_at`` when the state is new.
    """
    if record.batch_id is None:
        raise JobError(f"attempt {record.attempt} was polled before its create")
    if record.state is not None and record.state.terminal:
        return None
    errors = list(errors) or record.errors
    before = (record.state, record.total, record.succeeded, record.failed)
    if before == (state, total, succeeded, failed) and errors == record.errors:
        return None
    changes: dict[str, object] = {
        "state": state,
        "total": total,
        "succeeded": succeeded,
        "failed": failed,
        "errors": errors,
    }
    if now is not None:
        changes["changed_at"] = now
        if state is not record.state:
            changes["state_since"] = now
            if state.terminal:
                changes["ended_at"] = now
    if state.terminal:
        if plan is None:
            raise JobError(f"batch {record.batch_id} ended with no download plan")
        changes["plan"] = plan
        return Step(_replace(record, **changes), Durability.WRITE)
    return Step(_replace(record, **changes), Durability.LAZY)


def downloaded(record: BatchRecord, kind: str, size: int) -> Step:
    """The attempt's planned file ``kind`` is on disk, ``size`` bytes."""
    if record.plan is None or kind not in {p.kind for p in record.plan}:
        raise JobError(f"batch {record.batch_id}: no {kind} file was planned")
    return Step(
        _replace(record, downloads=record.downloads | {kind: size}), Durability.SYNC
    )


def download_lost(record: BatchRecord, kind: str) -> Step:
    """The attempt's downloaded file ``kind`` is gone or damaged on disk: it is
    to be fetched again."""
    downloads = {k: v for k, v in record.downloads.items() if k != kind}
    return Step(_replace(record, downloads=downloads), Durability.SYNC)


def input_deleted(record: BatchRecord) -> Step:
    """The attempt's uploaded input file was deleted at the provider."""
    return Step(_replace(record, file_deleted=True), Durability.WRITE)


def retry_added(chunk: ChunkRecord, parts: list[tuple[str, int]]) -> list[Step]:
    """New attempts of ``chunk``: one per part, each ``(path, n_requests)`` of
    its failed requests copied to ``path`` (several parts when a retry is split
    smaller than the chunk was).

    Raises:
        JobError: an attempt of the chunk has not ended and been downloaded.
    """
    resendable(chunk)
    for record in chunk.batches:
        if not record.downloaded or record.unverified:
            raise JobError(
                f"batch {record.batch_id or '(not created)'} of chunk {chunk.index} "
                "has not ended or not been downloaded: wait for the job "
                "(streambatch wait) before retrying"
            )
    steps = []
    number = chunk.batch.attempt
    for path, n_requests in parts:
        number += 1
        tag = chunk.batches[0].tag | {"streambatch_attempt": str(number)}
        record = BatchRecord(attempt=number, path=path, n_requests=n_requests, tag=tag)
        steps.append(Step(record, Durability.SYNC))
    return steps


def resendable(chunk: ChunkRecord) -> None:
    """Check that the chunk's requests can be sent again.

    Raises:
        JobError: the chunk is an adopted batch known by its custom_ids only.
    """
    if chunk.ids_only:
        raise JobError(
            f"chunk {chunk.index} is batch {chunk.batches[0].batch_id}, adopted "
            "without its requests (the provider keeps no input file of it): "
            "streambatch cannot send them again; adopt it again with --input "
            "FILE (its requests) to retry them, or resubmit them from your input"
        )


def results_counted(manifest: Manifest, tally: Tally) -> tuple[Manifest, Durability]:
    """The job's results were written: their counts by status and error type."""
    return msgspec.structs.replace(manifest, tally=tally), Durability.WRITE


def cost_found(manifest: Manifest, cost: Cost) -> tuple[Manifest, Durability]:
    """The job's results were written: what their usage cost."""
    return msgspec.structs.replace(manifest, cost=cost), Durability.WRITE


def cancel_requested(manifest: Manifest) -> tuple[Manifest, Durability]:
    """The job is to stop: no batch is created for it again."""
    return msgspec.structs.replace(manifest, cancelled=True), Durability.SYNC


def next_action(record: BatchRecord, *, uploads: bool, keep_files: bool) -> Action:
    """What the attempt needs next, from what the manifest records."""
    if record.batch_id is None:
        if uploads and record.file_id is None and record.creating_since is None:
            return Action.UPLOAD
        return Action.CREATE if record.creating_since is None else Action.LOOK_UP
    if record.state is None or not record.state.terminal:
        return Action.POLL
    if record.unverified:
        return Action.VERIFY
    if not record.downloaded:
        return Action.DOWNLOAD
    if uploads and not keep_files and record.file_id and not record.file_deleted:
        return Action.DELETE_INPUT
    return Action.DONE


def batch_failed(record: BatchRecord) -> bool:
    """Whether the provider failed the attempt's batch as a whole."""
    return record.state is BatchState.FAILED


def unfinished(manifest: Manifest) -> list[BatchRecord]:
    """The attempts whose results are not all on disk yet."""
    return [
        b
        for c in manifest.chunks
        for b in c.batches
        if not b.downloaded or b.unverified
    ]


def settled(chunk: ChunkRecord) -> int:
    """How many of the chunk's requests have a final answer.

    A request's answer is its newest attempt's. Retries are made only once every
    attempt has ended, so the attempts still running are the newest round's,
    and they hold disjoint requests: all the others are settled, and of theirs,
    those their counts say. A batch found by matching and not yet proven the
    attempt's settles none of its requests (its counts may be another job's).
    """
    owed = 0
    for record in chunk.batches:
        size = chunk.size_of(record)
        if record.unverified:
            owed += size
        elif record.state is None or not record.state.terminal:
            owed += size - min(size, (record.succeeded or 0) + (record.failed or 0))
    return chunk.n_requests - owed


VERIFYING = "verifying"
"""The progress state of an ended batch found by matching, not yet proven the
job's (its results are not used until it is)."""


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    """Where a job stands.

    Attributes:
        batches: the number of batches in each state (``pending`` for those
            not created yet, ``verifying`` for an ended one found by matching
            and not yet shown to be the job's): of each chunk, the attempts still running, or
            its latest.
        requests: the job's requests (a retried request counts once).
        done: requests with a final answer (succeeded or failed), retries
            included (not those of a batch still to be proven the job's). Anthropic reports counts only when a batch ends, so this
            moves in steps there.
        sent: requests sent in all, retries counted again.
    """

    batches: dict[str, int]
    requests: int
    done: int
    sent: int = 0

    @property
    def finished(self) -> bool:
        """Whether every batch has ended."""
        return all(state in TERMINAL for state in self.batches)


def progress_of(manifest: Manifest) -> Progress:
    """The progress recorded in ``manifest``."""
    states: dict[str, int] = {}
    done = sent = 0
    for chunk in manifest.chunks:
        running = [b for b in chunk.batches if b.state is None or not b.state.terminal]
        for record in running or [chunk.batch]:
            verifying = record.unverified and record.ended
            state = VERIFYING if verifying else record.state or "pending"
            states[state] = states.get(state, 0) + 1
        done += settled(chunk)
        sent += sum(chunk.size_of(b) for b in chunk.batches if b.batch_id)
    return Progress(
        batches=dict(sorted(states.items())),
        requests=manifest.n_requests,
        done=done,
        sent=sent,
    )
