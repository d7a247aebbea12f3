"""Retrying only what failed: attempts, salvage of partial batches, the attempt cap."""

from __future__ import annotations

import pathlib
from collections import Counter

import pytest

import streambatch as sb
from streambatch._core.outcome import is_retryable
from streambatch.testing import Emulator, EmulatorConfig, Faults
from streambatch.testing.sample import write_sample

FAST = sb.PollPolicy(min_delay=0.01, max_delay=0.05)


async def finish(job: sb.Job) -> dict[str, sb.Result]:
    await job.wait(poll=FAST)
    await job.download()
    results = [r async for r in job.results()]
    assert len(results) == len({r.custom_id for r in results})
    return {r.custom_id: r for r in results}


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_retry_resubmits_only_retryable_failures(
    tmp_path: pathlib.Path, provider: str
) -> None:
    config = EmulatorConfig(faults=Faults(item_error_rate=0.3, seed=7))
    async with Emulator(config) as emulator:
        url = (
            emulator.openai_base_url
            if provider == "openai"
            else emulator.anthropic_base_url
        )
        write_sample(str(tmp_path / "in.jsonl"), provider, 400)
        async with sb.Client(provider, base_url=url) as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=150
            ) as job:
                first = await finish(job)
                retryable = {c for c, r in first.items() if is_retryable(r)}
                permanent = {
                    c for c, r in first.items() if r.status != "succeeded"
                } - retryable
                assert retryable
                emulator.faults.item_error_rate = 0.0
                assert await job.retry_failed() == len(retryable)
                second = await finish(job)
        submissions = emulator.records.submissions(provider)
    assert set(second) == set(first)
    for cid, result in second.items():
        if cid in retryable:
            assert (result.attempt, result.status) == (2, "succeeded"), result
        else:
            assert result == first[cid]
    assert {cid for cid, r in second.items() if r.status != "succeeded"} == permanent
    assert {cid for cid, n in submissions.items() if n == 2} == retryable
    assert max(submissions.values()) == 2


async def test_the_attempt_cap_and_retrying_everything(tmp_path: pathlib.Path) -> None:
    config = EmulatorConfig(faults=Faults(item_error_rate=1.0, seed=1))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 40)
        async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job"
            ) as job:
                first = await finish(job)
                assert {r.status for r in first.values()} == {"errored"}
                assert await job.retry_failed(all_failures=True, max_attempts=2) == 40
                await finish(job)
                assert await job.retry_failed(all_failures=True, max_attempts=2) == 0
                final = await finish(job)
        submissions = emulator.records.submissions()
    assert {r.attempt for r in final.values()} == {2}
    assert Counter(submissions.values()) == Counter({2: 40})


async def test_an_expired_batch_keeps_what_it_finished(tmp_path: pathlib.Path) -> None:
    config = EmulatorConfig(faults=Faults(expiry_rate=1.0, seed=2))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 200)
        async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job"
            ) as job:
                first = await finish(job)
                statuses = Counter(r.status for r in first.values())
                assert statuses["expired"] > 0
                emulator.faults.expiry_rate = 0.0
                await job.retry_failed()
                second = await finish(job)
        submissions = emulator.records.submissions()
    assert {r.status for r in second.values()} == {"succeeded"}
    salvaged = {c for c, r in first.items() if r.status == "succeeded"}
    assert salvaged
    assert all(second[c].attempt == 1 for c in salvaged)
    assert all(submissions[c] == 1 for c in salvaged)


async def test_retry_before_the_job_ended_is_refused(tmp_path: pathlib.Path) -> None:
    async with Emulator() as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
        async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
            with (
                await client.submit(
                    tmp_path / "in.jsonl", job_dir=tmp_path / "job"
                ) as job,
                pytest.raises(sb.JobError, match="wait"),
            ):
                await job.retry_failed()
