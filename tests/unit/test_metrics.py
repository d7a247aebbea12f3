"""Metrics and health warnings: pure functions of a manifest and the time."""

from __future__ import annotations

import msgspec
import pytest

from streambatch._core.health import warnings_of
from streambatch._core.jobstate import (
    BatchState,
    create_intended,
    created,
    downloaded,
    results_counted,
    retry_added,
    status_seen,
)
from streambatch._core.manifest import (
    BatchRecord,
    ChunkRecord,
    Cost,
    Manifest,
    Planned,
    Tally,
    decode_manifest,
    encode_manifest,
)
from streambatch._core.metrics import job_state, metrics_of
from streambatch._errors import JobError

T0 = 1_800_000_000.0  # the clock of these tests: Unix seconds
MINUTE = 60.0
PLAN = [Planned(kind="output", path="files/f/content", file_id="f")]


def chunk(index: int, n: int, *records: BatchRecord) -> ChunkRecord:
    return ChunkRecord(
        index=index,
        path=f"chunks/{index}.jsonl",
        n_requests=n,
        n_bytes=n * 10,
        first_line=1,
        batches=list(records) or [BatchRecord()],
    )


def manifest(*chunks: ChunkRecord, **extra: object) -> Manifest:
    return Manifest(
        job_id="j",
        provider="openai",
        base_url="http://127.0.0.1/v1",
        input_path="in.jsonl",
        input_sha256="0" * 64,
        input_bytes=12345,
        n_requests=sum(c.n_requests for c in chunks),
        created_at=T0,
        chunks=list(chunks),
        **extra,  # type: ignore[arg-type]
    )


def made(at: float, batch_id: str = "b1") -> BatchRecord:
    """A batch created at ``at`` (the transitions, not a hand-made record)."""
    record = create_intended(BatchRecord(), at).record
    return created(record, batch_id).record


def seen(
    record: BatchRecord, state: BatchState, at: float, **counts: int
) -> BatchRecord:
    step = status_seen(
        record,
        state=state,
        total=counts.get("total"),
        succeeded=counts.get("succeeded"),
        failed=counts.get("failed"),
        plan=PLAN if state.terminal else None,
        now=at,
    )
    assert step is not None
    return step.record


def test_the_polls_date_the_state_the_change_and_the_end() -> None:
    record = made(T0)
    record = seen(record, BatchState.IN_PROGRESS, T0 + 10, total=10, succeeded=0)
    assert (record.state_since, record.changed_at, record.ended_at) == (
        T0 + 10,
        T0 + 10,
        None,
    )
    record = seen(record, BatchState.IN_PROGRESS, T0 + 20, total=10, succeeded=4)
    assert (record.state_since, record.changed_at) == (T0 + 10, T0 + 20)
    # the same status again changes nothing, so it dates nothing
    assert (
        status_seen(
            record,
            state=BatchState.IN_PROGRESS,
            total=10,
            succeeded=4,
            failed=None,
            now=T0 + 30,
        )
        is None
    )
    record = seen(
        record, BatchState.COMPLETED, T0 + 90, total=10, succeeded=9, failed=1
    )
    assert (record.state_since, record.ended_at) == (T0 + 90, T0 + 90)


def test_metrics_of_a_job_with_a_retry() -> None:
    first = seen(made(T0, "b1"), BatchState.COMPLETED, T0 + 100, succeeded=8, failed=2)
    first = downloaded(first, "output", 500).record
    c0 = chunk(0, 10, first)
    (retry,) = retry_added(c0, [("chunks/retry-0-2.jsonl", 2)])
    second = created(create_intended(retry.record, T0 + 200).record, "b2").record
    second = seen(second, BatchState.COMPLETED, T0 + 260, succeeded=1, failed=1)
    c0 = msgspec.structs.replace(c0, batches=[first, second])
    c1 = chunk(1, 5, seen(made(T0 + 5, "b3"), BatchState.IN_PROGRESS, T0 + 50))
    job = manifest(c0, c1, cost=Cost(usd=0.25, input_tokens=10, output_tokens=5))

    metrics = metrics_of(job)

    assert (metrics.requests, metrics.done, metrics.succeeded, metrics.failed) == (
        15,
        10,
        9,
        1,
    )
    assert metrics.success_rate == pytest.approx(0.9)
    assert metrics.error_rate == pytest.approx(0.1)
    assert metrics.sent_by_attempt == {1: 15, 2: 2}
    assert (metrics.sent, metrics.retried) == (17, 2)
    assert metrics.state == "running"
    assert metrics.input_bytes == 12345
    assert metrics.downloaded_bytes == 500
    assert metrics.cost is not None and metrics.cost.usd == 0.25
    assert metrics.errors_by_type is None  # no results written yet
    assert [(t.batch_id, t.seconds) for t in metrics.batch_times] == [
        ("b1", 100.0),
        ("b2", 60.0),
        ("b3", None),
    ]
    assert metrics.durations is not None
    assert (metrics.durations.count, metrics.durations.median) == (2, 80.0)


def test_errors_by_type_come_from_the_results_written() -> None:
    record = seen(made(T0), BatchState.COMPLETED, T0 + 1, succeeded=1, failed=2)
    job = manifest(chunk(0, 3, record))
    tally = Tally(
        statuses={"succeeded": 1, "errored": 1, "expired": 1},
        errors={"server_error": 1, "batch_expired": 1},
    )
    job, _ = results_counted(job, tally)
    metrics = metrics_of(job)
    assert metrics.errors_by_type == {"batch_expired": 1, "server_error": 1}
    assert metrics.statuses == {"errored": 1, "expired": 1, "succeeded": 1}


def test_the_job_state_in_one_word() -> None:
    assert job_state(manifest(chunk(0, 1))) == "pending"
    running = seen(made(T0), BatchState.IN_PROGRESS, T0 + 1)
    assert job_state(manifest(chunk(0, 1, running))) == "running"
    ended = seen(running, BatchState.COMPLETED, T0 + 2, succeeded=1, failed=0)
    assert job_state(manifest(chunk(0, 1, ended))) == "ended"
    on_disk = downloaded(ended, "output", 10).record
    assert job_state(manifest(chunk(0, 1, on_disk))) == "done"
    failed = downloaded(
        seen(running, BatchState.FAILED, T0 + 2, succeeded=0, failed=0), "output", 0
    ).record
    assert job_state(manifest(chunk(0, 1, failed))) == "failed"
    cancelled = manifest(chunk(0, 1, on_disk), chunk(1, 1), cancelled=True)
    assert job_state(cancelled) == "cancelled"


def test_a_batch_validating_over_30_minutes_is_stuck() -> None:
    job = manifest(chunk(0, 4, made(T0)))  # never polled past validating
    assert warnings_of(job, T0 + 29 * MINUTE) == []
    (warning,) = warnings_of(job, T0 + 31 * MINUTE)
    assert (warning.kind, warning.batch_id) == ("stuck", "b1")
    assert warning.seconds == pytest.approx(31 * MINUTE)
    assert "validating for 31 min" in warning.message


def test_a_batch_finalizing_over_30_minutes_is_stuck() -> None:
    record = seen(made(T0), BatchState.IN_PROGRESS, T0 + MINUTE, total=4, succeeded=0)
    record = seen(record, BatchState.FINALIZING, T0 + 10 * MINUTE, total=4, succeeded=4)
    job = manifest(chunk(0, 4, record))
    assert warnings_of(job, T0 + 39 * MINUTE) == []
    (warning,) = warnings_of(job, T0 + 41 * MINUTE)
    assert warning.kind == "stuck" and "finalizing" in warning.message


def test_no_progress_for_the_time_asked_is_a_stall() -> None:
    record = seen(made(T0), BatchState.IN_PROGRESS, T0 + 10, total=4, succeeded=1)
    job = manifest(chunk(0, 4, record))
    later = T0 + 10 + 2 * 3600
    assert warnings_of(job, later) == []  # stalls are warned of only when asked
    assert warnings_of(job, later, stall_after=3 * 3600) == []
    (warning,) = warnings_of(job, later, stall_after=3600)
    assert (warning.kind, warning.seconds) == ("stalled", 2 * 3600)
    assert "no progress for 2.0 h" in warning.message
    # progress moves the clock on
    moved = seen(record, BatchState.IN_PROGRESS, later - 60, total=4, succeeded=2)
    assert warnings_of(manifest(chunk(0, 4, moved)), later, stall_after=3600) == []


def test_an_ended_batch_is_never_stuck_nor_stalled() -> None:
    ended = seen(made(T0), BatchState.COMPLETED, T0 + 1, succeeded=4, failed=0)
    assert warnings_of(manifest(chunk(0, 4, ended)), T0 + 86400, stall_after=1) == []


def test_an_error_rate_above_5_percent_is_warned_of() -> None:
    fine = seen(made(T0), BatchState.COMPLETED, T0 + 1, succeeded=95, failed=5)
    assert warnings_of(manifest(chunk(0, 100, fine)), T0 + 2) == []
    bad = seen(made(T0), BatchState.COMPLETED, T0 + 1, succeeded=94, failed=6)
    (warning,) = warnings_of(manifest(chunk(0, 100, bad)), T0 + 2)
    assert (warning.kind, warning.batch_id) == ("error_rate", None)
    assert "6.0%" in warning.message and "(6 of 100)" in warning.message


def test_a_manifest_of_before_the_times_reads_and_warns_of_nothing() -> None:
    old = BatchRecord(batch_id="b1", state=BatchState.FINALIZING)  # no times at all
    job = manifest(chunk(0, 4, old))
    data = encode_manifest(job)
    for field in (b'"state_since"', b'"changed_at"', b'"tally"', b'"adopted"'):
        assert field in data
    # what an earlier streambatch wrote: none of the new fields
    legacy = msgspec.json.decode(data)
    for record in legacy["chunks"][0]["batches"]:
        for key in ("created_at", "state_since", "changed_at", "ended_at"):
            del record[key]
    del legacy["chunks"][0]["ids_only"]
    del legacy["tally"], legacy["adopted"]
    read = decode_manifest(msgspec.json.encode(legacy), "manifest.json")
    assert read == job
    assert warnings_of(read, T0 + 86400, stall_after=1) == []
    assert metrics_of(read).batch_times[0].seconds is None


def test_an_ids_only_chunk_cannot_be_retried() -> None:
    record = downloaded(
        seen(made(T0), BatchState.COMPLETED, T0 + 1, succeeded=1, failed=1),
        "output",
        10,
    ).record
    adopted = msgspec.structs.replace(chunk(0, 2, record), ids_only=True)
    with pytest.raises(JobError, match="adopted without its requests"):
        retry_added(adopted, [("chunks/retry.jsonl", 1)])
