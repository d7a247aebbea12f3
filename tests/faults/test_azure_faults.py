"""The fault matrix for Azure OpenAI, in process: each fault of the emulator
against a whole job on the Azure routes (the emulator keeps Azure's batches with
OpenAI's, so its records are read without a provider filter).

SIGKILL at every step is test_crash's, run for azure too.
"""

from __future__ import annotations

import pathlib
from collections import Counter

import pytest

import streambatch as sb
from streambatch.testing import Emulator, EmulatorConfig, Faults, Limits, ManualClock

from ._support import (
    check_succeeded,
    client_for,
    clock_moved,
    finish,
    statuses,
    write_input,
)

COUNT = 300
MAX_REQUESTS = 100
CHUNKS = 3


async def run_job(
    emulator: Emulator, tmp_path: pathlib.Path, count: int = COUNT
) -> tuple[dict[str, sb.Result], sb.Job]:
    source = write_input(tmp_path, "azure", count)
    async with client_for(emulator, "azure") as client:
        with await client.submit(
            source, job_dir=tmp_path / "job", max_requests=MAX_REQUESTS
        ) as job:
            return await finish(job), job


def check_no_duplicate_batch(emulator: Emulator, chunks: int = CHUNKS) -> None:
    records = emulator.records
    assert records.duplicates() == {}
    assert len(records.batches()) == chunks
    assert sum(records.submissions().values()) == COUNT
    assert all(r.path.startswith("/azure/") for r in records.requests)


def served(emulator: Emulator) -> Counter[int]:
    return Counter(r.status for r in emulator.records.requests)


@pytest.mark.parametrize(
    ("faults", "statuses_seen"),
    [
        (Faults(rate_limit_rate=0.3, retry_after_seconds=0.05, seed=11), (429,)),
        (Faults(server_error_rate=0.5, seed=12), (500, 503)),
        (Faults(slow_rate=0.3, slow_seconds=0.05, seed=14), (200,)),
    ],
    ids=["429", "5xx", "slow"],
)
async def test_request_faults_are_ridden_out(
    tmp_path: pathlib.Path, faults: Faults, statuses_seen: tuple[int, ...]
) -> None:
    clock = ManualClock()  # a slowed request waits until the clock has moved
    async with (
        Emulator(EmulatorConfig(faults=faults, clock=clock)) as emulator,
        clock_moved(clock, 0.05, lambda: clock.sleeping > 0),
    ):
        results, _ = await run_job(emulator, tmp_path)
        check_succeeded("azure", COUNT, results)
        check_no_duplicate_batch(emulator)
        assert sum(served(emulator)[s] for s in statuses_seen) > 0


async def test_connections_dropped_mid_upload_are_sent_again(
    tmp_path: pathlib.Path,
) -> None:
    async with Emulator(
        EmulatorConfig(faults=Faults(drop_upload_rate=0.5, seed=13))
    ) as emulator:
        results, _ = await run_job(emulator, tmp_path)
        check_succeeded("azure", COUNT, results)
        check_no_duplicate_batch(emulator)
        posts = [
            r
            for r in emulator.records.requests
            if (r.method, r.path) == ("POST", "/azure/openai/v1/files")
        ]
        assert len(posts) > CHUNKS
        stored = [f for f in emulator.records.files() if f.purpose == "batch"]
        assert len(stored) == CHUNKS


@pytest.mark.parametrize("refuse_range", [False, True], ids=["range", "restart"])
async def test_downloads_cut_mid_body_are_resumed(
    tmp_path: pathlib.Path, refuse_range: bool
) -> None:
    faults = Faults(drop_download_rate=0.5, refuse_range=refuse_range, seed=15)
    async with Emulator(EmulatorConfig(faults=faults)) as emulator:
        results, _ = await run_job(emulator, tmp_path)
        check_succeeded("azure", COUNT, results)
        check_no_duplicate_batch(emulator)


async def test_a_create_whose_answer_was_lost_is_not_sent_twice(
    tmp_path: pathlib.Path,
) -> None:
    async with Emulator(
        EmulatorConfig(faults=Faults(lost_response_rate=1.0))
    ) as emulator:
        results, _ = await run_job(emulator, tmp_path)
        check_succeeded("azure", COUNT, results)
        check_no_duplicate_batch(emulator)


async def test_expired_items_are_salvaged_then_retried_once(
    tmp_path: pathlib.Path,
) -> None:
    async with Emulator(
        EmulatorConfig(faults=Faults(expiry_rate=1.0, seed=2))
    ) as emulator:
        first, _ = await run_job(emulator, tmp_path)
        check_no_duplicate_batch(emulator)
        expired = {cid for cid, r in first.items() if r.status == "expired"}
        assert expired
        assert {r.status for r in first.values()} == {"expired", "succeeded"}
        emulator.faults.expiry_rate = 0.0
        async with client_for(emulator, "azure") as client:
            with client.open_job(tmp_path / "job") as job:
                assert await job.retry_failed() == len(expired)
                second = await finish(job)
        check_succeeded("azure", COUNT, second)
        assert {cid for cid, r in second.items() if r.attempt == 2} == expired
        assert emulator.records.duplicates() == dict.fromkeys(expired, 2)


async def test_an_all_failed_batch_is_retried_for_its_retryable_failures(
    tmp_path: pathlib.Path,
) -> None:
    async with Emulator(EmulatorConfig(faults=Faults(all_failed_rate=1.0))) as emulator:
        results, job = await run_job(emulator, tmp_path)
        assert statuses(results.values()) == Counter({"errored": COUNT})
        for _, record in job.attempts():
            assert [p.kind for p in record.plan or []] == ["error"]
        emulator.faults.all_failed_rate = 0.0
        async with client_for(emulator, "azure") as client:
            with client.open_job(tmp_path / "job") as job:
                retried = await job.retry_failed()
                second = await finish(job)
        assert retried > 0
        assert sum(r.status == "succeeded" for r in second.values()) == retried


async def test_azure_takes_100000_requests_per_file_where_openai_takes_fewer(
    tmp_path: pathlib.Path,
) -> None:
    """One 300-request chunk (the split's default) passes Azure's per-file cap,
    where the same emulator's OpenAI cap (set low here) would fail it."""
    limits = Limits(openai_max_requests=100, azure_max_requests=300)
    async with Emulator(EmulatorConfig(limits=limits)) as emulator:
        source = write_input(tmp_path, "azure", COUNT)
        async with client_for(emulator, "azure") as client:
            with await client.submit(source, job_dir=tmp_path / "job") as job:
                assert [c.n_requests for c in job.manifest.chunks] == [COUNT]
                results = await finish(job)
        check_succeeded("azure", COUNT, results)
