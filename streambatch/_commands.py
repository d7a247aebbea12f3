"""What each command-line subcommand does, on top of the public API.

Each function takes the parsed arguments and returns an exit code; errors are
raised and mapped to exit codes by ``cli.main``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator

import msgspec

from ._client import Client
from ._core.health import warnings_of
from ._core.jobstate import batch_failed, progress_of
from ._core.lines import LineFramer, Lines, Overlong
from ._core.manifest import BatchRecord, ChunkRecord, Cost, Manifest
from ._core.metrics import metrics_of
from ._core.policy import PollPolicy
from ._core.pricing import PRICES_AS_OF, Estimate, close_names, format_usd
from ._errors import ConfigError, InputError, JobError, JobLocked
from ._io.jobdir import read_manifest, request_cancel
from ._io.output import STDOUT
from ._io.reader import first_line
from ._io.schemafile import read_schema_file
from ._job import Job
from ._providers import provider as provider_named, translator_for
from ._providers.translate import is_openai_line
from ._tables.options import input_blocks, table_kwargs
from ._tables.results import check_results_target
from ._view import ProgressView, describe

__all__ = (
    "adopt",
    "cancel",
    "estimate",
    "results",
    "retry",
    "run",
    "status",
    "submit",
    "wait",
)

_ENCODER = msgspec.json.Encoder()
EXIT_FAILURE = 1


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
            url = {
                "openai": emulator.openai_base_url,
                "gemini": emulator.gemini_base_url,
                "azure": emulator.azure_endpoint,
                "mistral": emulator.mistral_base_url,
            }.get(provider, emulator.anthropic_base_url)
            _say(args, f"streambatch: using the built-in emulator at {emulator.url}")
            async with Client(provider, base_url=url) as client:
                yield client
        return
    async with Client(
        provider, base_url=base_url, api_key_env=args.api_key_env
    ) as client:
        yield client


def _recorded(job_dir: str) -> Manifest | None:
    """The manifest of the job in ``job_dir``, or None for a new job."""
    try:
        return read_manifest(job_dir)
    except JobError:
        return None


def _base_url(args: argparse.Namespace, manifest: Manifest | None) -> str | None:
    """The base URL to talk to: the one asked for, else the job's own."""
    if args.base_url is not None or manifest is None:
        return str(args.base_url) if args.base_url is not None else None
    return manifest.base_url


@contextlib.asynccontextmanager
async def _existing_job(args: argparse.Namespace) -> AsyncIterator[Job]:
    """The job in ``args.job_dir``, with a client for its provider and base URL.

    Raises:
        ConfigError: ``--base-url`` names another host than the job's.
    """
    manifest = read_manifest(args.job_dir)
    base_url = _base_url(args, manifest)
    if base_url is not None and base_url.rstrip("/") != manifest.base_url.rstrip("/"):
        raise ConfigError(
            f"the job's batches live at {manifest.base_url}, not {base_url}: "
            "leave out --base-url (or pass that one)"
        )
    async with _client(args, manifest.provider, base_url) as client:
        with client.open_job(args.job_dir) as job:
            yield job


def _check_emulator_job(job_dir: str) -> None:
    """A built-in emulator lives as long as its command: a job it did not finish
    cannot be resumed against a new one (its batches are gone with it)."""
    manifest = _recorded(job_dir)
    if manifest is None:
        return  # a new job
    if any(b.batch_id and not b.downloaded for _, b in _attempts(manifest)):
        raise ConfigError(
            f"{job_dir} holds a job the built-in emulator of an earlier run did not "
            "finish, and that emulator is gone; use a new --job-dir"
        )


def _attempts(manifest: Manifest) -> list[tuple[ChunkRecord, BatchRecord]]:
    return [(c, b) for c in manifest.chunks for b in c.batches]


def _poll(args: argparse.Namespace) -> PollPolicy:
    # The emulator is on loopback and its clock runs fast: poll it often.
    fast = getattr(args, "emulator", False)
    low = args.poll_min if args.poll_min is not None else (0.1 if fast else 5.0)
    high = (
        args.poll_max if args.poll_max is not None else max(low, 5.0 if fast else 300.0)
    )
    if high < low:
        raise ConfigError("--poll-min must be at most --poll-max")
    return PollPolicy(min_delay=low, max_delay=high)


async def _submit(args: argparse.Namespace, client: Client) -> Job:
    started = time.monotonic()
    if args.max_cost is not None and _recorded(args.job_dir) is None:
        await _check_cost(args)
    job = await client.submit(
        args.input,
        job_dir=args.job_dir,
        max_requests=args.max_requests,
        max_bytes=args.max_bytes,
        keep_files=args.keep_files,
        completion_window=args.completion_window,
        schema=read_schema_file(args.schema) if args.schema else None,
        **table_kwargs(args),
    )
    manifest = job.manifest
    _say(
        args,
        f"streambatch: {manifest.n_requests} requests in {len(manifest.chunks)} "
        f"batches submitted ({time.monotonic() - started:.1f}s)",
    )
    return job


async def _wait(
    args: argparse.Namespace, job: Job, policy: PollPolicy | None = None
) -> None:
    view = ProgressView(job.progress(), quiet=args.quiet)

    async def tick() -> None:
        while True:
            await asyncio.sleep(1.0)
            view.tick()

    ticker = asyncio.create_task(tick()) if view.live else None
    try:
        await job.wait(
            poll=policy or _poll(args),
            on_progress=view.update,
            stall_after=getattr(args, "stall_after", None),
        )
    finally:
        if ticker is not None:
            ticker.cancel()
        view.close()


def _failures(job: Job) -> list[str]:
    """Why each batch that the provider failed as a whole failed (the latest
    attempt of each chunk: an older one's requests were retried)."""
    return [
        f"batch {c.batch.batch_id} failed: "
        + ("; ".join(c.batch.errors) or "no reason given")
        for c in job.manifest.chunks
        if batch_failed(c.batch)
    ]


async def _write(args: argparse.Namespace, job: Job, started: float) -> int:
    """Write the results and the summary line; exit 1 if a batch failed whole
    or the job was cancelled."""
    await job.download()
    counts = await job.write_results(
        args.output,
        with_response=args.with_response,
        only=args.only,
        prices=dict(args.price),
        workers=args.workers or os.cpu_count() or 1,
        format=args.format,
        join_input=args.join_input,
    )
    parts = " ".join(
        f"{status}={counts[status]}"
        for status in ("succeeded", "errored", "expired", "canceled")
    )
    elapsed = time.monotonic() - started
    total = sum(counts.values())
    failures = _failures(job)
    for line in failures:
        print(f"streambatch: {line}", file=sys.stderr)
    tail = ""
    if failures:
        tail = (
            f"; {len(failures)} batches failed as a whole ({failures[0]}); "
            "'streambatch retry DIR --all --max-requests N' sends them again, smaller"
        )
    elif job.manifest.cancelled:
        tail = "; the job was cancelled"
    cost = f" cost={_cost(counts.cost)}" if counts.cost is not None else ""
    print(
        f"results: {parts} total={total} truncated={counts.truncated}{cost} "
        f"-> {args.output} ({elapsed:.1f}s){tail}",
        file=sys.stderr if args.output == STDOUT else sys.stdout,  # -o -: results
        flush=True,
    )
    return EXIT_FAILURE if tail else 0


def _cost(cost: Cost) -> str:
    """A recorded cost as the summary and ``status`` show it."""
    shown = format_usd(cost.usd)
    if cost.unpriced:
        shown += f" (not counted, no price: {', '.join(cost.unpriced)})"
    return shown


async def run(args: argparse.Namespace) -> int:
    """``run``: submit, wait, write results; resumes an existing job directory."""
    started = time.monotonic()
    check_results_target(
        args.output, args.format, input_path=args.input, job_dir=args.job_dir
    )
    base_url = _base_url(args, _recorded(args.job_dir))
    async with _client(args, args.provider, base_url) as client:
        with await _submit(args, client) as job:
            await _wait(args, job)
            return await _write(args, job, started)


async def submit(args: argparse.Namespace) -> int:
    """``submit``: split and create the batches, then return."""
    base_url = _base_url(args, _recorded(args.job_dir))
    async with _client(args, args.provider, base_url) as client:
        job = await _submit(args, client)
        job.close()
    return 0


async def wait(args: argparse.Namespace) -> int:
    """``wait``: poll until every batch of the job has ended."""
    _poll(args)  # the options are checked before anything is sent
    async with _existing_job(args) as job:
        if not job.progress().finished:
            try:
                async with asyncio.timeout(args.timeout):
                    await _wait(args, job)
            except TimeoutError:
                print(
                    f"streambatch: still running after {args.timeout:g}s: "
                    f"{describe(job.progress())}; run wait again to go on",
                    file=sys.stderr,
                )
                return EXIT_FAILURE
        _say(args, describe(job.progress()))
    return 0


async def results(args: argparse.Namespace) -> int:
    """``results``: download what is missing, then write one record per request.

    A job whose batches have not all ended is refused (exit 1, saying where it
    stands) unless ``--partial``: its running batches' requests come out missing.
    """
    started = time.monotonic()
    manifest = read_manifest(args.job_dir)
    check_results_target(
        args.output, args.format, input_path=manifest.input_path, job_dir=args.job_dir
    )
    async with _existing_job(args) as job:
        progress = job.progress()
        if not progress.finished and not args.partial:
            print(
                f"streambatch: the job has not finished: {describe(progress)}; "
                "wait for it (streambatch wait), or pass --partial",
                file=sys.stderr,
            )
            return EXIT_FAILURE
        return await _write(args, job, started)


async def status(args: argparse.Namespace) -> int:
    """``status``: what the job directory records (no network, no lock)."""
    manifest = read_manifest(args.job_dir)
    progress = progress_of(manifest)
    warnings = warnings_of(manifest, time.time(), stall_after=args.stall_after)
    if args.json:
        document = {
            "job_id": manifest.job_id,
            "provider": manifest.provider,
            "requests": progress.requests,
            "done": progress.done,
            "sent": progress.sent,
            "batches": progress.batches,
            "cancelled": manifest.cancelled,
            "cost": manifest.cost,
            "chunks": [
                {
                    "index": c.index,
                    "requests": c.n_requests,
                    "batch_id": c.batch.batch_id,
                    "state": c.batch.state,
                    "attempt": c.batch.attempt,
                    "errors": c.batch.errors,
                }
                for c in manifest.chunks
            ],
            "metrics": metrics_of(manifest),
            "warnings": warnings,
        }
        print(msgspec.json.encode(document).decode())
    else:
        print(f"job {manifest.job_id} ({manifest.provider}): {describe(progress)}")
        if manifest.cost is not None:
            cost = manifest.cost
            cached = f" ({cost.cached_tokens:,} cached)" if cost.cached_tokens else ""
            print(
                f"cost: {_cost(cost)} from the usage of the results "
                f"written ({cost.input_tokens:,} input{cached}, "
                f"{cost.output_tokens:,} output tokens; prices as of "
                f"{cost.prices_as_of})"
            )
        if manifest.tally is not None and manifest.tally.errors:
            errors = sorted(manifest.tally.errors.items(), key=lambda e: -e[1])
            shown = ", ".join(f"{kind} {n:,}" for kind, n in errors)
            print(f"errors by type, in the results written: {shown}")
        for warning in warnings:
            print(f"warning: {warning.message}")
    return 0


async def cancel(args: argparse.Namespace) -> int:
    """``cancel``: cancel every batch of the job that has not ended.

    While another process holds the job (``run`` or ``wait``), the batches are
    cancelled at the provider and that process is asked to record the cancel; it
    notices at its next poll, and stops once the batches have ended.
    """
    try:
        async with _existing_job(args) as job:
            statuses = await job.cancel()
    except JobLocked as locked:
        count = await _cancel_elsewhere(args)
        who = f"process {locked.pid}" if locked.pid is not None else "the process"
        print(
            f"cancel requested for {count} batches; {who}, which holds the job, "
            "records it and stops when they end"
        )
        return 0
    print(f"cancel requested for {len(statuses)} batches")
    return 0


async def _cancel_elsewhere(args: argparse.Namespace) -> int:
    """Cancel a locked job's batches from the manifest it last wrote."""
    request_cancel(args.job_dir)  # first: no batch is created after this
    manifest = read_manifest(args.job_dir)
    running = [
        b.batch_id
        for _, b in _attempts(manifest)
        if b.batch_id and not b.ended and not b.unverified  # maybe not the job's
    ]
    async with _client(args, manifest.provider, _base_url(args, manifest)) as client:
        for batch_id in running:
            await client.transport.drive(client.api.cancel(batch_id))
    return len(running)


async def retry(args: argparse.Namespace) -> int:
    """``retry``: resubmit the failed requests as new batches; wait if asked."""
    policy = _poll(args)
    async with _existing_job(args) as job:
        await job.download()
        count = await job.retry_failed(
            all_failures=args.all,
            max_attempts=args.max_attempts,
            max_requests=args.max_requests,
            max_bytes=args.max_bytes,
        )
        _say(args, f"streambatch: {count} requests resubmitted")
        if count and args.wait:
            await _wait(args, job, policy)
            await job.download()
    return 0


async def estimate(args: argparse.Namespace) -> int:
    """``estimate``: requests, estimated tokens and batch cost of an input (offline).

    Exit 2 if a line is not a request or a model has no price."""
    tally = await _estimate(args, model=args.model)
    cost_in, cost_out, _ = tally.cost()
    print(f"requests: {tally.requests:,}")
    print(f"input tokens (estimated, ~4 bytes each): {tally.input_tokens:,}")
    print(
        f"output tokens at most (max_tokens): {tally.output_cap:,}"
        + (f"; {tally.uncapped:,} requests set no cap" if tally.uncapped else "")
    )
    print(
        f"batch cost: input ~{format_usd(cost_in)}, output at most "
        f"{format_usd(cost_out)}, total at most ~{format_usd(cost_in + cost_out)} "
        f"(prices as of {PRICES_AS_OF})"
    )
    return 0


async def _check_cost(args: argparse.Namespace) -> None:
    """Refuse a new job whose estimated cost is above ``--max-cost`` (ConfigError,
    before anything is uploaded)."""
    tally = await _estimate(args, model=None)
    cost_in, cost_out, _ = tally.cost()
    total = cost_in + cost_out
    if total > args.max_cost:
        raise ConfigError(
            f"input {args.input}: estimated batch cost {format_usd(total)} (input "
            f"~{format_usd(cost_in)}, output at most {format_usd(cost_out)}) is "
            f"above --max-cost {format_usd(args.max_cost)}; nothing was submitted"
        )
    if tally.uncapped:
        print(
            f"streambatch: {tally.uncapped:,} requests set no max_tokens: their "
            "output is not in the estimate checked against --max-cost",
            file=sys.stderr,
        )


async def _estimate(args: argparse.Namespace, *, model: str | None) -> Estimate:
    """The estimate of ``args.input``, every line readable and every model priced.

    Raises:
        InputError: a line is not a request, or there is none.
        ConfigError: a model has no price (the message names close ones).
    """
    prices = dict(args.price)
    rules = provider_named(args.provider).pricing
    if translator_for(args.provider) is not None:  # an OpenAI input is read as one
        first = await asyncio.to_thread(first_line, args.input)
        if is_openai_line(first):
            rules = rules._replace(shape="body")
    tally = Estimate(rules, model, prices)
    framer = LineFramer()
    async for block in input_blocks(args):  # a table's: rendered
        _count(tally, framer.feed(block))
    _count(tally, framer.close())
    if tally.first_unreadable is not None:
        raise InputError(
            f"not a request line for {args.provider} ({tally.unreadable:,} such lines)",
            path=args.input,
            line_no=tally.first_unreadable,
        )
    if not tally.requests:
        raise InputError("the input holds no request", path=args.input)
    unknown = tally.cost()[2]
    if unknown:
        hints = []
        for name in unknown:
            close = close_names(name, rules.prices, prices)
            shown = repr(name) if not name.isprintable() else name  # one line
            hints.append(f"{shown} (close: {', '.join(close)})" if close else shown)
        raise ConfigError(
            f"no price known for {'; '.join(hints)} (prices as of {PRICES_AS_OF}); "
            "pass --price MODEL=IN/OUT (USD per million tokens) or --model"
        )
    return tally


def _count(tally: Estimate, frames: list[Lines | Overlong]) -> None:
    for frame in frames:
        if isinstance(frame, Lines):
            tally.add(frame.data, frame.first_line)
        else:
            tally.skipped(frame.line)


async def adopt(args: argparse.Namespace) -> int:
    """``adopt``: make a job of a batch another tool created (``_adopt``)."""
    async with _client(args, args.provider, args.base_url) as client:
        with await client.adopt(
            args.batch_id, job_dir=args.job_dir, requests=args.input
        ) as job:
            chunk = job.manifest.chunks[0]
            known = (
                "known by the custom_ids of its results (its requests cannot be "
                "retried)"
                if chunk.ids_only
                else "its requests in the job"
            )
            print(
                f"adopted batch {chunk.batch.batch_id} ({job.manifest.provider}, "
                f"{chunk.n_requests:,} requests, {chunk.batch.state}), {known}; "
                f"next: streambatch wait {args.job_dir}, then streambatch results "
                f"{args.job_dir} -o RESULTS"
            )
    return 0
