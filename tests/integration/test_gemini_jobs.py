"""Whole Gemini jobs against the emulator on loopback: multi-chunk, resume at every
step, a cut upload resumed, expiry salvaged and retried, both state spellings."""

from __future__ import annotations

import asyncio
import pathlib
from collections import Counter

import msgspec
import pytest

import streambatch as sb
from streambatch._collect import decode_id
from streambatch.testing import Emulator, EmulatorConfig, Faults, Timings, expected_text
from streambatch.testing.sample import sample_requests, write_sample

from .test_jobs import finish, until


def _collect_reads_keys() -> bool:
    try:
        return decode_id(b'{"key": "k"}') == "k"
    except msgspec.ValidationError:
        return False


# Reading a job's results needs _collect to read a request's id from "key" (its
# owner's change, described in the report); until then these tests must fail.
needs_keys = pytest.mark.xfail(
    not _collect_reads_keys(),
    reason="_collect reads request ids from custom_id only",
    raises=msgspec.ValidationError,
    strict=True,
)


def client_for(emulator: Emulator) -> sb.Client:
    return sb.Client("gemini", base_url=emulator.gemini_base_url)


def bodies(count: int) -> dict[str, dict[str, object]]:
    return {
        str(r["key"]): r["request"]  # type: ignore[misc]
        for r in sample_requests("gemini", count)
    }


def check_complete(count: int, results: list[sb.Result]) -> None:
    """Exactly one result per key, each with its own request's reply."""
    expected = bodies(count)
    assert Counter(r.custom_id for r in results) == Counter(list(expected))
    for r in results:
        assert r.status == "succeeded", r
        assert r.text == expected_text("gemini", expected[r.custom_id])


@needs_keys
@pytest.mark.parametrize("prefix", ["BATCH_STATE_", "JOB_STATE_"])
async def test_a_multi_chunk_job_ends_with_one_result_per_request(
    tmp_path: pathlib.Path, prefix: str
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "gemini", 1200)
    async with (
        Emulator(EmulatorConfig(gemini_state_prefix=prefix)) as emulator,
        client_for(emulator) as client,
    ):
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=500
        ) as job:
            assert [c.n_requests for c in job.manifest.chunks] == [500, 500, 200]
            results = await finish(job)
            assert {b.state for _, b in job.attempts()} == {"completed"}
        assert len(emulator.records.batches("gemini")) == 3
        assert emulator.records.duplicates() == {}
    check_complete(1200, results)
    assert len({r.batch_id for r in results}) == 3


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(timings=Timings.instant())


@needs_keys
@pytest.mark.parametrize("step", ["upload", "create", "poll", "download"])
async def test_interrupted_at_any_step_the_job_resumes_without_duplicates(
    emulator: Emulator, tmp_path: pathlib.Path, step: str
) -> None:
    """Cancel the task mid-step (the request in flight, slowed), then reopen."""
    count = 600
    write_sample(str(tmp_path / "in.jsonl"), "gemini", count)
    records = emulator.records
    target = {
        "upload": lambda: (
            any("/upload/" in r.path for r in records.requests) or records.in_flight > 0
        ),
        "create": lambda: len(records.batches()) >= 1,
        "poll": lambda: (
            sum(r.method == "GET" and "/batches/" in r.path for r in records.requests)
            >= 2
        ),
        "download": lambda: (
            any(r.path.endswith(":download") for r in records.requests)
            or records.in_flight > 0
        ),
    }[step]

    async def everything() -> None:
        async with client_for(emulator) as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=200
            ) as job:
                await finish(job)

    emulator.faults.slow_rate = 1.0
    emulator.faults.slow_seconds = 0.2
    task = asyncio.create_task(everything())
    await until(target)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    emulator.faults.slow_rate = 0.0

    async with client_for(emulator) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=200
        ) as job:
            results = await finish(job)
    check_complete(count, results)
    assert records.duplicates() == {}
    assert len(records.batches("gemini")) == 3


@needs_keys
async def test_lost_create_answers_are_found_again_by_display_name(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    """Every create is carried out but answered 500: the job finds each batch by
    its display name instead of creating it again."""
    write_sample(str(tmp_path / "in.jsonl"), "gemini", 300)
    emulator.faults.lost_response_rate = 1.0
    async with client_for(emulator) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100
        ) as job:
            emulator.faults.lost_response_rate = 0.0
            results = await finish(job)
    check_complete(300, results)
    assert len(emulator.records.batches("gemini")) == 3
    assert emulator.records.duplicates() == {}


@needs_keys
async def test_an_expired_batch_is_salvaged_then_retried(
    tmp_path: pathlib.Path,
) -> None:
    """EXPIRED keeps the responses written so far; the rest are missing and a
    retry sends only those."""
    timings = Timings(in_progress=100.0, completion_window=200.0, speed=2_000.0)
    config = EmulatorConfig(timings=timings, faults=Faults(expiry_rate=1.0, seed=3))
    write_sample(str(tmp_path / "in.jsonl"), "gemini", 200)
    async with Emulator(config) as emulator, client_for(emulator) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100
        ) as job:
            first = await finish(job)
            assert {b.state for _, b in job.attempts()} == {"expired"}
            statuses = Counter(r.status for r in first)
            assert statuses["succeeded"] > 0
            missing = {r.custom_id for r in first if r.status != "succeeded"}
            assert {r.error.type for r in first if r.error} == {"missing"}
            emulator.faults.expiry_rate = 0.0
            assert await job.retry_failed() == len(missing)
            final = await finish(job)
    check_complete(200, final)
    assert {r.custom_id for r in final if r.attempt == 2} == missing
