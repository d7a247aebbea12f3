"""Whole jobs against the emulator on loopback: multi-chunk, resume, cancel, bad input."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
from collections import Counter
from collections.abc import AsyncIterator, Callable

import msgspec
import pytest

import streambatch as sb
from streambatch.testing import (
    Emulator,
    EmulatorConfig,
    ManualClock,
    Timings,
    expected_text,
)
from streambatch.testing.sample import sample_requests, write_sample

FAST = sb.PollPolicy(min_delay=0.01, max_delay=0.05)


def client_for(emulator: Emulator, provider: str) -> sb.Client:
    url = {
        "openai": emulator.openai_base_url,
        "gemini": emulator.gemini_base_url,
        "azure": emulator.azure_endpoint,
        "mistral": emulator.mistral_base_url,
    }.get(provider, emulator.anthropic_base_url)
    return sb.Client(provider, base_url=url)


def bodies(provider: str, count: int) -> dict[str, dict[str, object]]:
    id_key, key = {
        "openai": ("custom_id", "body"),
        "mistral": ("custom_id", "body"),
        "gemini": ("key", "request"),
    }.get(provider, ("custom_id", "params"))
    return {
        str(r[id_key]): r[key]  # type: ignore[misc]
        for r in sample_requests(provider, count)
    }


async def finish(job: sb.Job) -> list[sb.Result]:
    await job.wait(poll=FAST)
    await job.download()
    return [r async for r in job.results()]


def check_complete(provider: str, count: int, results: list[sb.Result]) -> None:
    """Exactly one result per custom_id, each with its own request's reply."""
    expected = bodies(provider, count)
    assert Counter(r.custom_id for r in results) == Counter(list(expected))
    for r in results:
        assert r.status == "succeeded", r
        assert r.text == expected_text(provider, expected[r.custom_id])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_multi_chunk_job_ends_with_one_result_per_request(
    emulator: Emulator, tmp_path: pathlib.Path, provider: str
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), provider, 1200)
    async with client_for(emulator, provider) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=500
        ) as job:
            assert [c.n_requests for c in job.manifest.chunks] == [500, 500, 200]
            results = await finish(job)
    check_complete(provider, 1200, results)
    assert len(emulator.records.batches(provider)) == 3
    assert emulator.records.duplicates() == {}
    assert {r.attempt for r in results} == {1}
    assert len({r.batch_id for r in results}) == 3


async def test_resuming_a_finished_job_submits_nothing(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 300)
    async with client_for(emulator, "openai") as client:
        for _ in range(2):
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100
            ) as job:
                results = await finish(job)
            check_complete("openai", 300, results)
    assert len(emulator.records.batches()) == 3
    assert [f.purpose for f in emulator.records.files()].count("batch") == 3


async def test_a_changed_input_is_refused(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    source = tmp_path / "in.jsonl"
    write_sample(str(source), "openai", 10)
    async with client_for(emulator, "openai") as client:
        with await client.submit(source, job_dir=tmp_path / "job"):
            pass
        write_sample(str(source), "openai", 11)
        with pytest.raises(sb.JobError, match="has changed"):
            await client.submit(source, job_dir=tmp_path / "job")


async def test_a_locked_job_is_refused(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 10)
    async with client_for(emulator, "openai") as client:
        with (
            await client.submit(tmp_path / "in.jsonl", job_dir=tmp_path / "job"),
            pytest.raises(sb.JobError, match="locked"),
        ):
            client.open_job(tmp_path / "job")


async def test_bad_input_submits_nothing(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    source = tmp_path / "in.jsonl"
    good = next(iter(sample_requests("anthropic", 1)))
    lines = [
        msgspec.json.encode(good),
        b'{"custom_id": "bad id!", "params": {"model": "m", "max_tokens": 5, "messages": []}}',
        b"not json",
        msgspec.json.encode(good),
    ]
    source.write_bytes(b"\n".join(lines) + b"\n")
    async with client_for(emulator, "anthropic") as client:
        with pytest.raises(sb.InvalidInput) as caught:
            await client.submit(source, job_dir=tmp_path / "job")
    lines_named = {p[0] for p in caught.value.problems}
    assert {2, 3, 4} <= lines_named
    assert emulator.records.batches() == []
    assert emulator.records.requests == []


async def until(condition: Callable[[], bool], clock: ManualClock) -> None:
    """Wait for something the emulator records (polled: it has no event to await),
    letting each slowed request through, one step of the clock after another."""
    async with asyncio.timeout(20):
        while not condition():
            if clock.sleeping:
                clock.advance(0.2)
            await asyncio.sleep(0.005)


@pytest.fixture
def emulator_config(request: pytest.FixtureRequest) -> EmulatorConfig:
    # ``manual``: on a ManualClock, which ``emulator.clock`` gives the test.
    clock = ManualClock() if getattr(request, "param", None) == "manual" else None
    return EmulatorConfig(timings=Timings.instant(), clock=clock)


@pytest.mark.parametrize(
    "provider", ["openai", "anthropic", "gemini", "azure", "mistral"]
)
@pytest.mark.parametrize("step", ["upload", "create", "poll", "download"])
@pytest.mark.parametrize("emulator_config", ["manual"], indirect=True)
async def test_interrupted_at_any_step_the_job_resumes_without_duplicates(
    emulator: Emulator, tmp_path: pathlib.Path, provider: str, step: str
) -> None:
    """Cancel the task mid-step (the request in flight, slowed), then reopen."""
    count = 600
    wire = "openai" if provider == "azure" else provider  # Azure's lines are OpenAI's
    write_sample(str(tmp_path / "in.jsonl"), wire, count)
    records = emulator.records
    posts = {
        "openai": "/v1/files",
        "gemini": "/gemini/upload/v1beta/files",
        "azure": "/azure/openai/v1/files",
        "mistral": "/mistral/v1/files",
    }.get(provider, "/v1/messages/batches")
    target = {
        "upload": lambda: (
            any(r.path == posts for r in records.requests) or records.in_flight > 0
        ),
        "create": lambda: len(records.batches()) >= 1,
        "poll": lambda: (
            sum(
                r.method == "GET"
                and ("/batches/" in r.path or "/batch/jobs/" in r.path)
                for r in records.requests
            )
            >= 2
        ),
        "download": lambda: (
            any(
                ("/content" in r.path or r.path.endswith(("/results", ":download")))
                for r in records.requests
            )
            or records.in_flight > 0
        ),
    }[step]

    async def everything() -> None:
        async with client_for(emulator, provider) as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=200
            ) as job:
                await finish(job)

    manual_clock = emulator.clock
    assert isinstance(manual_clock, ManualClock)
    emulator.faults.slow_rate = 1.0
    emulator.faults.slow_seconds = 0.2
    task = asyncio.create_task(everything())
    await until(target, manual_clock)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    emulator.faults.slow_rate = 0.0
    manual_clock.advance(0.2)  # requests still held, from the cancelled client

    async with client_for(emulator, provider) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=200
        ) as job:
            results = await finish(job)
    check_complete(wire, count, results)
    assert records.duplicates() == {}
    assert len(records.batches(wire)) == 3  # the emulator keeps Azure's as OpenAI's


async def test_cancel_cancels_every_batch_and_results_say_so(
    tmp_path: pathlib.Path,
) -> None:
    config = EmulatorConfig(timings=Timings.realistic(speed=1.0))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 50)
        async with client_for(emulator, "openai") as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=20
            ) as job:
                statuses = await job.cancel()
                assert len(statuses) == 3
                assert job.manifest.cancelled
                with pytest.raises(sb.JobError, match="cancelled"):
                    await job.submit()
        states = {b.status for b in emulator.records.batches()}
        assert states <= {"cancelling", "cancelled"}


async def test_requests_can_come_from_python(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    async def requests() -> AsyncIterator[dict[str, object]]:
        for request in sample_requests("anthropic", 120):
            yield request

    async with client_for(emulator, "anthropic") as client:
        with await client.submit(
            requests(), job_dir=tmp_path / "job", max_requests=50
        ) as job:
            assert [c.n_requests for c in job.manifest.chunks] == [50, 50, 20]
            results = await finish(job)
        # On resume an iterable is not read again: an empty one will do.
        with await client.submit([], job_dir=tmp_path / "job") as again:
            assert again.manifest.job_id == job.manifest.job_id
    check_complete("anthropic", 120, results)
    assert len(emulator.records.batches()) == 3


async def test_a_batch_the_provider_does_not_know_ends_the_wait(
    tmp_path: pathlib.Path,
) -> None:
    """A job resumed against another server (its batches gone) fails, not polls forever."""
    write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
    async with Emulator() as first, client_for(first, "openai") as client:
        with await client.submit(tmp_path / "in.jsonl", job_dir=tmp_path / "job"):
            pass
    async with Emulator() as second, client_for(second, "openai") as client:
        with (
            client.open_job(tmp_path / "job") as job,
            pytest.raises(sb.HTTPStatusError) as caught,
        ):
            await asyncio.wait_for(job.wait(poll=FAST), timeout=20)
    assert caught.value.status == 404


async def test_repeated_and_unknown_result_lines_are_dropped(
    emulator: Emulator, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 50)
    async with client_for(emulator, "openai") as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job"
        ) as job:
            await job.wait(poll=FAST)
            await job.download()
            (output,) = (tmp_path / "job" / "downloads").glob("*.output.jsonl")
            first = output.read_bytes().splitlines(keepends=True)[0]
            stranger = first.replace(b'"custom_id":"', b'"custom_id":"stranger-')
            with output.open("ab") as file:
                file.write(first + stranger)
            # as if the provider had served these lines: its recorded size
            job.manifest.chunks[0].batch.downloads["output"] = output.stat().st_size
            results = [r async for r in job.results()]
    check_complete("openai", 50, results)
    dropped = [
        r.getMessage() for r in caplog.records if "dropped a result" in r.getMessage()
    ]
    assert len(dropped) == 2
    assert any("stranger-" in message for message in dropped)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_results_cancelled_at_every_await_leave_nothing_half_written(
    emulator: Emulator, tmp_path: pathlib.Path, provider: str
) -> None:
    """Writing results, cancelled after 0, 1, 2, ... turns of the event loop:
    no results file and no .partial is left, and the job writes them whole after."""
    write_sample(str(tmp_path / "in.jsonl"), provider, 3000)
    out = tmp_path / "out.jsonl"
    async with client_for(emulator, provider) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=1000
        ) as job:
            await job.wait(poll=FAST)
            await job.download()
            turns = 0
            while True:
                task = asyncio.create_task(job.write_results(out))
                for _ in range(turns):
                    await asyncio.sleep(0)
                if task.done():
                    break  # it finished before this many turns: every await was hit
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert not out.exists()
                assert not out.with_name(out.name + ".partial").exists()
                turns += 1
            counts = await task
    assert turns > 3
    assert counts["succeeded"] == 3000
    assert len(out.read_bytes().splitlines()) == 3000


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "mistral"])
async def test_a_job_cancelled_after_any_number_of_loop_turns_resumes_whole(
    emulator: Emulator, tmp_path: pathlib.Path, provider: str
) -> None:
    """submit, wait, download and results, cancelled after 0, 1, 2, 3, 5, 8, ...
    turns of the event loop (Fibonacci, until the job finishes first): each time
    the job resumes to exactly one result per request, and no batch twice."""
    count = 300
    write_sample(str(tmp_path / "in.jsonl"), provider, count)
    records = emulator.records

    async def everything(job_dir: pathlib.Path) -> list[sb.Result]:
        async with client_for(emulator, provider) as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=job_dir, max_requests=100
            ) as job:
                return await finish(job)

    turns, after = 0, 1
    rounds = 0
    while True:
        job_dir = tmp_path / f"job-{rounds}"
        before = len(records.batches(provider))
        task = asyncio.create_task(everything(job_dir))
        for _ in range(turns):
            await asyncio.sleep(0)
        if task.done():
            check_complete(provider, count, task.result())
            break
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # A create cut off mid-way may still be carried out: a look-up that ran
        # before it was would create the batch again (the documented window of
        # a provider whose listing lags behind its creates).
        async with asyncio.timeout(20):
            while records.in_flight:  # noqa: ASYNC110  # no event to await
                await asyncio.sleep(0.005)
        check_complete(provider, count, await everything(job_dir))
        assert len(records.batches(provider)) - before == 3, turns
        turns, after = after, turns + after
        rounds += 1
    assert rounds >= 8


async def test_a_resumed_anthropic_job_never_takes_another_jobs_batch(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    """Job A's create fails in an outage (its intent stays recorded); job B, on
    the same key with a chunk of the same size, runs; A resumes and must make its
    own batch, not take B's (which its size and time would match)."""
    write_sample(str(tmp_path / "a.jsonl"), "anthropic", 50, seed=1)
    write_sample(str(tmp_path / "b.jsonl"), "anthropic", 50, seed=2)
    b_lines = (tmp_path / "b.jsonl").read_text().replace('"req-', '"b-')
    (tmp_path / "b.jsonl").write_text(b_lines)
    quick = sb.RetryPolicy(max_attempts=1)
    url = emulator.anthropic_base_url
    emulator.faults.server_error_rate = 1.0
    async with sb.Client("anthropic", base_url=url, retry=quick) as client:
        with pytest.raises(sb.HTTPStatusError):
            await client.submit(tmp_path / "a.jsonl", job_dir=tmp_path / "a")
    emulator.faults.server_error_rate = 0.0
    assert emulator.records.batches("anthropic") == []
    async with sb.Client("anthropic", base_url=url) as client:
        with await client.submit(tmp_path / "b.jsonl", job_dir=tmp_path / "b") as b:
            b_results = await finish(b)
        with await client.submit(tmp_path / "a.jsonl", job_dir=tmp_path / "a") as a:
            a_results = await finish(a)
    assert {r.custom_id[:2] for r in b_results} == {"b-"}
    assert {r.custom_id for r in a_results} == {f"req-{k:06d}" for k in range(50)}
    assert {r.status for r in a_results} == {"succeeded"}
    assert len(emulator.records.batches("anthropic")) == 2
