"""The fault matrix, in process: each fault of the emulator against a whole job.

The emulator's records are the judge: every case ends with exactly one result per
custom_id, no provider batch created twice, and nothing lost.
"""

from __future__ import annotations

import pathlib
from collections import Counter

import pytest

import streambatch as sb
from streambatch._core.outcome import is_retryable
from streambatch.testing import Emulator, EmulatorConfig, Faults, Limits, ManualClock

from ._support import (
    check_succeeded,
    client_for,
    clock_moved,
    finish,
    served_bytes,
    statuses,
    write_input,
)

PROVIDERS = ["openai", "anthropic", "gemini", "mistral"]
UPLOADS = {
    "openai": "/v1/files",
    "gemini": "/gemini/upload/v1beta/files",
    "mistral": "/mistral/v1/files",
}
COUNT = 300
MAX_REQUESTS = 100
CHUNKS = 3


async def run_job(
    emulator: Emulator, provider: str, tmp_path: pathlib.Path, count: int = COUNT
) -> tuple[dict[str, sb.Result], sb.Job]:
    source = write_input(tmp_path, provider, count)
    async with client_for(emulator, provider) as client:
        with await client.submit(
            source, job_dir=tmp_path / "job", max_requests=MAX_REQUESTS
        ) as job:
            return await finish(job), job


def check_no_duplicate_batch(emulator: Emulator, provider: str, chunks: int) -> None:
    records = emulator.records
    assert records.duplicates() == {}
    assert len(records.batches(provider)) == chunks
    assert sum(records.submissions(provider).values()) == COUNT


def statuses_served(emulator: Emulator) -> Counter[int]:
    return Counter(r.status for r in emulator.records.requests)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_with_retry_after_is_waited_out(
    tmp_path: pathlib.Path, provider: str
) -> None:
    faults = Faults(rate_limit_rate=0.3, retry_after_seconds=0.05, seed=11)
    async with Emulator(EmulatorConfig(faults=faults)) as emulator:
        results, _ = await run_job(emulator, provider, tmp_path)
        check_succeeded(provider, COUNT, results)
        check_no_duplicate_batch(emulator, provider, CHUNKS)
        assert statuses_served(emulator)[429] > 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_5xx_bursts_are_retried(tmp_path: pathlib.Path, provider: str) -> None:
    faults = Faults(server_error_rate=0.5, seed=12)
    async with Emulator(EmulatorConfig(faults=faults)) as emulator:
        results, _ = await run_job(emulator, provider, tmp_path)
        check_succeeded(provider, COUNT, results)
        check_no_duplicate_batch(emulator, provider, CHUNKS)
        served = statuses_served(emulator)
        assert served[500] + served[503] + served[529] > 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_connections_dropped_mid_upload_are_sent_again(
    tmp_path: pathlib.Path, provider: str
) -> None:
    faults = Faults(drop_upload_rate=0.5, seed=13)
    async with Emulator(EmulatorConfig(faults=faults)) as emulator:
        results, _ = await run_job(emulator, provider, tmp_path)
        check_succeeded(provider, COUNT, results)
        check_no_duplicate_batch(emulator, provider, CHUNKS)
        upload = UPLOADS.get(provider, "/v1/messages/batches")
        posts = [
            r
            for r in emulator.records.requests
            if r.method == "POST" and r.path == upload
        ]
        assert len(posts) > CHUNKS  # some were cut and sent again
        if provider in ("openai", "mistral"):
            stored = [f for f in emulator.records.files() if f.purpose == "batch"]
            assert len(stored) == CHUNKS  # a cut upload leaves no file behind


@pytest.mark.parametrize("refuse_range", [False, True], ids=["range", "restart"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_connections_dropped_mid_download_resume_or_restart(
    tmp_path: pathlib.Path, provider: str, refuse_range: bool
) -> None:
    faults = Faults(
        drop_download_rate=0.5, refuse_range=refuse_range, chunk_bytes=256, seed=1
    )
    async with Emulator(EmulatorConfig(faults=faults)) as emulator:
        results, job = await run_job(emulator, provider, tmp_path)
        check_succeeded(provider, COUNT, results)
        check_no_duplicate_batch(emulator, provider, CHUNKS)
        served = statuses_served(emulator)
        downloads = [
            r
            for r in emulator.records.requests
            if r.path.endswith(("/content", "/results", ":download"))
        ]
        assert len(downloads) > CHUNKS  # some were cut and fetched again
        if refuse_range:
            assert served[206] == 0
        else:
            assert served[206] > 0  # resumed from the bytes on disk
        emulator.faults.drop_download_rate = 0.0
        compared = 0
        for _, record in job.attempts():
            assert record.batch_id is not None
            for planned in record.plan or []:
                kind, path = planned.kind, planned.path
                size = record.downloads[kind]
                if provider == "openai":
                    assert path == f"files/{planned.file_id}/content"
                elif provider == "mistral":
                    assert path == f"v1/files/{planned.file_id}/content"
                elif provider == "gemini":
                    assert path.startswith("download/v1beta/files/")
                else:
                    assert path == f"v1/messages/batches/{record.batch_id}/results"
                on_disk = job.dir.download_path(record.batch_id, kind).read_bytes()
                assert len(on_disk) == size
                assert on_disk == await served_bytes(emulator, provider, path)
                compared += 1
        assert compared == CHUNKS


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_slow_responses(tmp_path: pathlib.Path, provider: str) -> None:
    faults = Faults(slow_rate=0.3, slow_seconds=0.05, seed=15)
    clock = ManualClock()  # a slowed request waits until the clock has moved
    async with (
        Emulator(EmulatorConfig(faults=faults, clock=clock)) as emulator,
        clock_moved(clock, 0.05, lambda: clock.sleeping > 0),
    ):
        results, _ = await run_job(emulator, provider, tmp_path)
        assert clock.monotonic() > 0  # some requests were slowed
        check_succeeded(provider, COUNT, results)
        check_no_duplicate_batch(emulator, provider, CHUNKS)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_all_failed_batch_has_only_an_error_file(
    tmp_path: pathlib.Path, provider: str
) -> None:
    async with Emulator(EmulatorConfig(faults=Faults(all_failed_rate=1.0))) as emulator:
        results, job = await run_job(emulator, provider, tmp_path)
        check_no_duplicate_batch(emulator, provider, CHUNKS)
        assert len(results) == COUNT
        assert statuses(results.values()) == Counter({"errored": COUNT})
        assert all(
            r.error is not None and r.error.type != "missing" for r in results.values()
        )
        if provider in ("openai", "mistral"):
            for _, record in job.attempts():
                assert [p.kind for p in record.plan or []] == ["error"]
                assert set(record.downloads) == {"error"}
        # Retrying (the fault gone) resends only the retryable failures, once.
        emulator.faults.all_failed_rate = 0.0
        async with client_for(emulator, provider) as client:
            with client.open_job(tmp_path / "job") as job:
                retried = await job.retry_failed()
                second = await finish(job)
        retryable = {cid for cid, r in results.items() if is_retryable(r)}
        assert retryable  # OpenAI: its 500s, not its 400s; Anthropic: all of them
        assert retried == len(retryable)
        assert {cid for cid, r in second.items() if r.attempt == 2} == retryable
        assert {
            cid for cid, r in second.items() if r.status == "succeeded"
        } == retryable
        assert all(second[c] == results[c] for c in set(results) - retryable)
        assert set(emulator.records.duplicates()) == retryable


async def test_a_batch_failing_validation_is_errored_and_not_retried(
    tmp_path: pathlib.Path,
) -> None:
    limits = Limits(openai_max_requests=MAX_REQUESTS - 1)
    async with Emulator(EmulatorConfig(limits=limits)) as emulator:
        results, _ = await run_job(emulator, "openai", tmp_path)
        batches = emulator.records.batches("openai")
        assert len(batches) == CHUNKS
        assert {b.status for b in batches} == {"failed"}
        assert len(results) == COUNT
        for result in results.values():
            assert result.status == "errored"
            assert result.error is not None
            assert result.error.type == "batch_failed"
            assert "too_many_tasks" in result.error.message
        async with client_for(emulator, "openai") as client:
            with client.open_job(tmp_path / "job") as job:
                # A permanent failure: nothing to retry, however often asked.
                assert await job.retry_failed() == 0
                assert await job.retry_failed() == 0
                # Forced, it is resent once, fails again, and then the cap holds.
                assert (
                    await job.retry_failed(all_failures=True, max_attempts=2) == COUNT
                )
                again = await finish(job)
                assert await job.retry_failed(all_failures=True, max_attempts=2) == 0
        assert len(emulator.records.batches("openai")) == 2 * CHUNKS
        assert {r.attempt for r in again.values()} == {2}
        assert {r.error.type for r in again.values() if r.error} == {"batch_failed"}
        assert emulator.records.duplicates() == {}  # failed batches hold nothing


# Gemini writes no line for an expired request (it is missing, and retried): see
# tests/integration/test_gemini_jobs.py.
@pytest.mark.parametrize("provider", ["openai", "anthropic", "mistral"])
async def test_expired_items_are_retried_once(
    tmp_path: pathlib.Path, provider: str
) -> None:
    async with Emulator(
        EmulatorConfig(faults=Faults(expiry_rate=1.0, seed=2))
    ) as emulator:
        first, _ = await run_job(emulator, provider, tmp_path)
        check_no_duplicate_batch(emulator, provider, CHUNKS)
        expired = {cid for cid, r in first.items() if r.status == "expired"}
        assert expired
        assert {r.status for r in first.values()} == {"expired", "succeeded"}
        emulator.faults.expiry_rate = 0.0
        async with client_for(emulator, provider) as client:
            with client.open_job(tmp_path / "job") as job:
                assert await job.retry_failed() == len(expired)
                second = await finish(job)
        check_succeeded(provider, COUNT, second)
        assert {cid for cid, r in second.items() if r.attempt == 2} == expired
        # Each expired request is in exactly one more batch; nothing else is resent.
        assert emulator.records.duplicates(provider) == dict.fromkeys(expired, 2)
        assert len(emulator.records.batches(provider)) == 2 * CHUNKS


async def test_a_file_briefly_invisible_after_upload_is_waited_for(
    tmp_path: pathlib.Path,
) -> None:
    """The create gets 404 "No such File object" for a moment: looked up, then retried."""
    faults = Faults(invisible_file_seconds=0.3)
    clock = ManualClock()  # the file shows once the clock has moved past 0.3 s

    def refused() -> bool:  # a create has been answered 404
        return any(
            (r.method, r.path, r.status) == ("POST", "/v1/batches", 404)
            for r in emulator.records.requests
        )

    async with (
        Emulator(EmulatorConfig(faults=faults, clock=clock)) as emulator,
        clock_moved(clock, 0.1, refused),
    ):
        results, _ = await run_job(emulator, "openai", tmp_path)
        check_succeeded("openai", COUNT, results)
        check_no_duplicate_batch(emulator, "openai", CHUNKS)
        creates = [
            r.status
            for r in emulator.records.requests
            if (r.method, r.path) == ("POST", "/v1/batches")
        ]
    assert 404 in creates
    assert creates.count(200) == CHUNKS


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_create_whose_answer_was_lost_is_not_sent_twice(
    tmp_path: pathlib.Path, provider: str
) -> None:
    """The provider created the batch but answered 500: look it up, don't resend."""
    faults = Faults(lost_response_rate=1.0)  # every create's answer is lost
    async with Emulator(EmulatorConfig(faults=faults)) as emulator:
        results, _ = await run_job(emulator, provider, tmp_path)
        check_succeeded(provider, COUNT, results)
        check_no_duplicate_batch(emulator, provider, CHUNKS)
        creates = [
            r.status
            for r in emulator.records.requests
            if r.method == "POST"
            and (
                r.path
                in ("/v1/batches", "/v1/messages/batches", "/mistral/v1/batch/jobs")
                or r.path.endswith(":batchGenerateContent")
            )
        ]
    assert creates == [500] * CHUNKS  # each create sent once, its answer lost
