"""Whole Gemini jobs against the emulator on loopback: multi-chunk with both state
spellings, lost creates found again, expiry salvaged and retried. (Resume at every
step is test_jobs' interrupted test, run for gemini too.)"""

from __future__ import annotations

import pathlib
from collections import Counter

import pytest

from streambatch.testing import Emulator, EmulatorConfig, Faults, Timings
from streambatch.testing.sample import write_sample

from .test_jobs import check_complete, client_for, finish


@pytest.mark.parametrize("prefix", ["BATCH_STATE_", "JOB_STATE_"])
async def test_a_multi_chunk_job_ends_with_one_result_per_request(
    tmp_path: pathlib.Path, prefix: str
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "gemini", 1200)
    async with (
        Emulator(EmulatorConfig(gemini_state_prefix=prefix)) as emulator,
        client_for(emulator, "gemini") as client,
    ):
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=500
        ) as job:
            assert [c.n_requests for c in job.manifest.chunks] == [500, 500, 200]
            results = await finish(job)
            assert {b.state for _, b in job.attempts()} == {"completed"}
        assert len(emulator.records.batches("gemini")) == 3
        assert emulator.records.duplicates() == {}
    check_complete("gemini", 1200, results)
    assert len({r.batch_id for r in results}) == 3


async def test_lost_create_answers_are_found_again_by_display_name(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    """Every create is carried out but answered 500: the job finds each batch by
    its display name instead of creating it again."""
    write_sample(str(tmp_path / "in.jsonl"), "gemini", 300)
    emulator.faults.lost_response_rate = 1.0
    async with client_for(emulator, "gemini") as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100
        ) as job:
            emulator.faults.lost_response_rate = 0.0
            results = await finish(job)
    check_complete("gemini", 300, results)
    assert len(emulator.records.batches("gemini")) == 3
    assert emulator.records.duplicates() == {}


async def test_an_expired_batch_is_salvaged_then_retried(
    tmp_path: pathlib.Path,
) -> None:
    """EXPIRED keeps the responses written so far; the rest are missing and a
    retry sends only those."""
    timings = Timings(in_progress=100.0, completion_window=200.0, speed=2_000.0)
    config = EmulatorConfig(timings=timings, faults=Faults(expiry_rate=1.0, seed=3))
    write_sample(str(tmp_path / "in.jsonl"), "gemini", 200)
    async with Emulator(config) as emulator, client_for(emulator, "gemini") as client:
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
    check_complete("gemini", 200, final)
    assert {r.custom_id for r in final if r.attempt == 2} == missing
