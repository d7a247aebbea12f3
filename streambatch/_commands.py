"""What each command-line subcommand does, on top of the public API.

Each function takes the parsed arguments and returns an exit code; errors are
raised and mapped to exit codes by ``cli.main``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator

import msgspec

from ._client import Client
from ._core.lines import LineFramer, Lines, Overlong
from ._core.policy import PollPolicy
from ._core.pricing import PRICES_AS_OF, Estimate
from ._errors import ConfigError, JobError
from ._io.jobdir import read_manifest
from ._io.output import STDOUT, check_output
from ._io.reader import file_chunks
from ._job import Job
from ._progress import describe, progress_of
from ._view import ProgressView

__all__ = ("cancel", "estimate", "results", "retry", "run", "status", "submit", "wait")

_ENCODER = msgspec.json.Encoder()


def _say(args: argparse.Namespace, line: str) -> None:
    if not args.quiet:
        print(line, file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def _client(
    args: argparse.Namespace, provider: str, base_url: str | None
) -> AsyncIterator[Client]:
    """A client for ``provider``; with ``--emulator``, against an embedded emulator."""
    if getattr(args, "emulator", False):
        from .testing import Emulator, EmulatorConfig, Timings

        _check_emulator_job(args.job_dir)
        config = EmulatorConfig(timings=Timings.named(args.emulator_clock))
        async with Emulator(config) as emulator:
            url = (
                emulator.openai_base_url
                if provider == "openai"
                else emulator.anthropic_base_url
            )
            _say(args, f"streambatch: using the built-in emulator at {emulator.url}")
            async with Client(provider, base_url=url) as client:
                yield client
        return
    async with Client(
        provider, base_url=base_url, api_key_env=args.api_key_env
    ) as client:
        yield client


@contextlib.asynccontextmanager
async def _existing_job(args: argparse.Namespace) -> AsyncIterator[Job]:
    """The job in ``args.job_dir``, with a client for its provider and base URL."""
    manifest = read_manifest(args.job_dir)
    async with _client(args, manifest.provider, manifest.base_url) as client:
        with client.open_job(args.job_dir) as job:
            yield job


def _check_emulator_job(job_dir: str) -> None:
    """A built-in emulator lives as long as its command: a job it did not finish
    cannot be resumed against a new one (its batches are gone with it)."""
    try:
        manifest = read_manifest(job_dir)
    except JobError:
        return  # a new job
    unfinished = [
        b for c in manifest.chunks for b in c.batches if b.batch_id and not b.downloaded
    ]
    if unfinished:
        raise ConfigError(
            f"{job_dir} holds a job the built-in emulator of an earlier run did not "
            "finish, and that emulator is gone; use a new --job-dir"
        )


def _poll(args: argparse.Namespace) -> PollPolicy:
    # The emulator's clock runs fast: poll it often by default.
    fast = getattr(args, "emulator", False)
    low = args.poll_min if args.poll_min is not None else (0.5 if fast else 5.0)
    high = (
        args.poll_max if args.poll_max is not None else max(low, 5.0 if fast else 300.0)
    )
    if low <= 0 or high < low:
        raise ConfigError("--poll-min must be positive and at most --poll-max")
    return PollPolicy(min_delay=low, max_delay=high)


async def _submit(args: argparse.Namespace, client: Client) -> Job:
    started = time.monotonic()
    job = await client.submit(
        args.input,
        job_dir=args.job_dir,
        max_requests=args.max_requests,
        max_bytes=args.max_bytes,
        keep_files=args.keep_files,
    )
    manifest = job.manifest
    _say(
        args,
        f"streambatch: {manifest.n_requests} requests in {len(manifest.chunks)} "
        f"batches submitted ({time.monotonic() - started:.1f}s)",
    )
    return job


async def _wait(args: argparse.Namespace, job: Job) -> None:
    view = ProgressView(job.progress(), quiet=args.quiet)
    try:
        await job.wait(poll=_poll(args), on_progress=view.update)
    finally:
        view.close()


async def _write(args: argparse.Namespace, job: Job, started: float) -> int:
    await job.download()
    counts = await job.write_results(
        args.output, with_response=args.with_response, only=args.only
    )
    parts = " ".join(
        f"{status}={counts[status]}"
        for status in ("succeeded", "errored", "expired", "canceled")
    )
    elapsed = time.monotonic() - started
    total = sum(counts.values())
    print(
        f"results: {parts} total={total} -> {args.output} ({elapsed:.1f}s)",
        file=sys.stderr if args.output == STDOUT else sys.stdout,  # -o -: results
    )
    return 0


async def run(args: argparse.Namespace) -> int:
    """``run``: submit, wait, write results; resumes an existing job directory."""
    started = time.monotonic()
    check_output(args.output, input_path=args.input, job_dir=args.job_dir)
    async with _client(args, args.provider, args.base_url) as client:
        with await _submit(args, client) as job:
            await _wait(args, job)
            return await _write(args, job, started)


async def submit(args: argparse.Namespace) -> int:
    """``submit``: split and create the batches, then return."""
    async with _client(args, args.provider, args.base_url) as client:
        job = await _submit(args, client)
        job.close()
    return 0


async def wait(args: argparse.Namespace) -> int:
    """``wait``: poll until every batch of the job has ended."""
    async with _existing_job(args) as job:
        try:
            async with asyncio.timeout(args.timeout):
                await _wait(args, job)
        except TimeoutError:
            print(
                f"streambatch: still running after {args.timeout:g}s: "
                f"{describe(job.progress())}; run wait again to go on",
                file=sys.stderr,
            )
            return 1
        _say(args, describe(job.progress()))
    return 0


async def results(args: argparse.Namespace) -> int:
    """``results``: download what is missing, then write one record per request."""
    manifest = read_manifest(args.job_dir)
    check_output(args.output, input_path=manifest.input_path, job_dir=args.job_dir)
    async with _existing_job(args) as job:
        return await _write(args, job, time.monotonic())


async def status(args: argparse.Namespace) -> int:
    """``status``: what the job directory records (no network, no lock)."""
    manifest = read_manifest(args.job_dir)
    progress = progress_of(manifest)
    if args.json:
        document = {
            "job_id": manifest.job_id,
            "provider": manifest.provider,
            "requests": progress.requests,
            "done": progress.done,
            "batches": progress.batches,
            "cancelled": manifest.cancelled,
            "chunks": [
                {
                    "index": c.index,
                    "requests": c.n_requests,
                    "batch_id": c.batch.batch_id,
                    "state": c.batch.state,
                    "attempt": c.batch.attempt,
                }
                for c in manifest.chunks
            ],
        }
        print(msgspec.json.encode(document).decode())
    else:
        print(f"job {manifest.job_id} ({manifest.provider}): {describe(progress)}")
    return 0


async def cancel(args: argparse.Namespace) -> int:
    """``cancel``: cancel every batch of the job that has not ended."""
    async with _existing_job(args) as job:
        statuses = await job.cancel()
    print(f"cancel requested for {len(statuses)} batches")
    return 0


async def retry(args: argparse.Namespace) -> int:
    """``retry``: resubmit the failed requests as new batches; wait if asked."""
    async with _existing_job(args) as job:
        await job.download()
        count = await job.retry_failed(
            all_failures=args.all, max_attempts=args.max_attempts
        )
        _say(args, f"streambatch: {count} requests resubmitted")
        if count and args.wait:
            await _wait(args, job)
            await job.download()
    return 0


async def estimate(args: argparse.Namespace) -> int:
    """``estimate``: requests, estimated tokens and batch cost of an input (offline)."""
    tally = Estimate(args.provider, args.model)
    framer = LineFramer()
    async for block in file_chunks(args.input):
        _count(tally, framer.feed(block))
    _count(tally, framer.close())
    cost_in, cost_out, unknown = tally.cost()
    print(
        f"requests: {tally.requests:,}"
        + (
            f" ({tally.unreadable:,} unreadable lines skipped)"
            if tally.unreadable
            else ""
        )
    )
    print(f"input tokens (estimated, ~4 bytes each): {tally.input_tokens:,}")
    print(
        f"output tokens at most (max_tokens): {tally.output_cap:,}"
        + (f"; {tally.uncapped:,} requests set no cap" if tally.uncapped else "")
    )
    print(
        f"batch cost: input ~${cost_in:,.2f}, output at most ${cost_out:,.2f}, total at most ~${cost_in + cost_out:,.2f} (prices as of {PRICES_AS_OF})"
    )
    if unknown:
        print(f"no price known for: {', '.join(unknown)} (not counted; try --model)")
    return 0


def _count(tally: Estimate, frames: list[Lines | Overlong]) -> None:
    for frame in frames:
        if isinstance(frame, Lines):
            tally.add(frame.data)
        else:
            tally.unreadable += 1
