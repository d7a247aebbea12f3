"""Polling benchmark: one client watching 1,000 batches at once.

Usage::

    .venv/bin/python benchmarks/polling.py                    # 1,000 batches
    .venv/bin/python benchmarks/polling.py --batches 200 --batch-seconds 20 --markdown

Methodology:

1. **Emulator, in its own process.** This script re-runs itself as a server
   (``--serve``): an ``Emulator`` on 127.0.0.1 with the ``realistic`` timings
   (validating 30 s, in progress 600 s + 0.05 s an item, finalizing 60 s, so a
   one-request batch ends 690.05 emulated seconds after its creation) run at
   ``--time-scale`` = 690.05 / ``--batch-seconds``. A separate process keeps the
   emulator's CPU off the client's event loop, which would otherwise delay the
   very thing measured. The server answers two commands on stdin: ``reset``
   (clear the request log and the peak in-flight count, before the wait) and
   ``dump`` (print what it knows as JSON). Batch internals (creation time, the
   moment result files existed) and the clock's origin are read from the
   emulator's private store: ``Records`` does not expose them.
2. **Job.** ``--batches`` one-request chunks (``Client.submit(max_requests=1)``
   over a ``write_sample`` input): one batch each, created one after the other by
   ``job.submit``, so they end at staggered times, each ``--batch-seconds`` after
   its creation.
3. **Wait.** ``job.wait`` with the default ``PollPolicy`` (5 s .. 300 s) divided
   by the time scale, so every delay keeps its ratio to a batch's length, and the
   default status concurrency (8). ``on_progress`` stamps ``time.monotonic()`` on
   each batch the first time the manifest holds it terminal (after its save).
4. **End of a batch.** Its scheduled end (creation + 690.05 emulated seconds,
   mapped to ``CLOCK_MONOTONIC``, which both processes share) or, if later, the
   moment its result files were written. The emulator writes them lazily, on
   the first poll that finds the batch finalizing (until then a poll sees
   ``finalizing``, even past the scheduled end); the server process therefore
   touches every batch as it enters finalizing (``finalize_eagerly``), as a real
   provider writes its files then, and the report counts batches written late.
   *Delay* = client's stamp - end. Batches that ended before the wait began are
   left out of the delay statistics (and counted).
5. **Reported.** Status requests (``GET /v1/batches/{id}``, from the emulator's
   log) in total and per batch; peak concurrent requests during the wait, both
   as the client has them in flight (a counter around ``Transport.send``) and as
   the emulator's handlers overlap (``records.peak_in_flight``: its handlers
   hardly await, so this stays near 1); and the delay's median, p90 and max in real seconds and in provider
   seconds (x time scale: what the default policy means against a real
   provider), plus the submit time and the cost of the client's manifest saves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

_HERE = Path(__file__).resolve()
_ROOT = _HERE.parent.parent
if str(_ROOT) not in sys.path:  # run as a script from a plain checkout
    sys.path.insert(0, str(_ROOT))

from benchmarks._procs import note, send_line, server  # noqa: E402

if TYPE_CHECKING:
    from streambatch import Job
    from streambatch.testing import Emulator

BATCH_EMULATED_SECONDS = 30.0 + 600.0 + 0.05 + 60.0
"""A one-request batch's life on the realistic clock (see ``Timings.realistic``)."""
DEFAULT_POLL = (5.0, 300.0)
"""``PollPolicy()``'s min and max delay, in provider seconds."""


# Server process ----------------------------------------------------------------------


def batch_facts(emulator: Emulator) -> list[dict[str, Any]]:
    """Per batch: its scheduled end and the moment its files existed (monotonic)."""
    from streambatch.testing import ScaledClock

    store = emulator._store  # private: Records has no creation or write times
    assert store is not None
    clock, timings = store.clock, store.config.timings
    assert isinstance(clock, ScaledClock)  # the server runs on the wall clock

    def mono(emulated: float) -> float:
        return clock._start + (emulated - clock._start_unix) / clock.speed

    facts = []
    for batch in store.batches.values():
        intake = batch.intake.result() if batch.intake.done() else None
        count = intake.count if intake is not None else 0
        span = timings.validating + timings.in_progress + timings.per_item * count
        facts.append(
            {
                "id": batch.id,
                "created": mono(batch.created),
                "scheduled_end": mono(batch.created + span + timings.finalizing),
                "written": batch.written_mono if batch.written is not None else None,
            }
        )
    return facts


def dump(emulator: Emulator) -> dict[str, Any]:
    """Everything the parent needs, after the wait."""
    records = emulator.records
    polls: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for request in records.requests:
        parts = request.path.strip("/").split("/")
        if (
            request.method == "GET"
            and parts[:2] == ["v1", "batches"]
            and len(parts) == 3
        ):
            polls[parts[2]] += 1
        else:
            other[f"{request.method} {request.status}"] += 1
    return {
        "batches": batch_facts(emulator),
        "polls": dict(polls),
        "other_requests": dict(other),
        "peak_in_flight": records.peak_in_flight,
    }


async def finalize_eagerly(emulator: Emulator, period: float = 0.01) -> None:
    """Start each batch's result files as it enters finalizing, as a provider does.

    The emulator writes them on the first poll that finds the batch finalizing;
    a batch no poll saw finalizing would answer ``finalizing`` past its scheduled
    end, until the next poll: an artefact that would add a poll interval to the
    measured delay. Touching (``advance``) every batch old enough every
    ``period`` seconds removes it.
    """
    from streambatch.testing._batch import advance

    store = emulator._store
    assert store is not None
    timings = store.config.timings
    ripe = timings.validating + timings.in_progress
    while True:
        now = store.clock.now()
        for batch in list(store.batches.values()):
            if batch.generation is None and now - batch.created >= ripe:
                advance(batch, store)
        await asyncio.sleep(period)


async def serve(scale: float, state_dir: str) -> None:
    """Serve an emulator until stdin ends; obey ``reset`` and ``dump`` from it."""
    from streambatch.testing import Emulator, EmulatorConfig, Timings

    config = EmulatorConfig(
        timings=Timings.named("realistic", scale), state_dir=Path(state_dir)
    )
    loop = asyncio.get_running_loop()
    async with Emulator(config) as emulator:
        print(emulator.url, flush=True)
        ticker = asyncio.create_task(finalize_eagerly(emulator))
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            store = emulator._store
            assert store is not None
            if line.strip() == "reset":
                store.traffic.log.clear()
                store.traffic.peak_in_flight = store.traffic.in_flight
                print("ok", flush=True)
            elif line.strip() == "dump":
                print(json.dumps(dump(emulator)), flush=True)
        ticker.cancel()


# Client (this process) ---------------------------------------------------------------


class InFlight:
    """Wraps ``Transport.send``: HTTP exchanges the client has in flight, at peak."""

    def __init__(self, send: Callable[..., Awaitable[Any]]) -> None:
        self.send = send
        self.now = self.peak = self.total = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.now += 1
        self.total += 1
        self.peak = max(self.peak, self.now)
        try:
            return await self.send(*args, **kwargs)
        finally:
            self.now -= 1


class Stamps:
    """``on_progress``: when the client first held each batch terminal."""

    def __init__(self, job: Job) -> None:
        self.pending = {r.batch_id or "": r for _, r in job.attempts()}
        self.seen: dict[str, float] = {}
        self.calls = 0
        self.cost = 0.0

    def __call__(self, _progress: object) -> None:
        from streambatch._providers.batches import TERMINAL

        now = time.monotonic()
        self.calls += 1
        for batch_id, record in list(self.pending.items()):
            if record.state in TERMINAL:
                self.seen[batch_id] = now
                del self.pending[batch_id]
        self.cost += time.monotonic() - now


async def run_job(url: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Submit the one-request batches, then wait; time both."""
    import streambatch as sb
    from streambatch.testing.sample import write_sample

    source = work / "input.jsonl"
    write_sample(str(source), "openai", args.batches, seed=0)
    low, high = (d / args.time_scale for d in DEFAULT_POLL)
    async with sb.Client("openai", base_url=url + "/v1") as client:
        start = time.monotonic()
        with await client.submit(source, job_dir=work / "job", max_requests=1) as job:
            submitted = time.monotonic()
            reset(args.server)
            stamps = Stamps(job)
            flight = InFlight(job.transport.send)
            # An instance attribute shadows the method, for this transport only.
            setattr(job.transport, "send", flight)  # noqa: B010
            begun = time.monotonic()
            await job.wait(
                poll=sb.PollPolicy(min_delay=low, max_delay=high), on_progress=stamps
            )
            ended = time.monotonic()
            save_ms = time_saves(job)
    return {
        "submit_seconds": submitted - start,
        "wait_start": begun,
        "wait_seconds": ended - begun,
        "seen": stamps.seen,
        "client_peak_in_flight": flight.peak,
        "client_sends": flight.total,
        "on_progress_calls": stamps.calls,
        "on_progress_cost": stamps.cost,
        "save_ms": save_ms,
        "manifest_bytes": (work / "job" / "manifest.json").stat().st_size,
        "poll": (low, high),
    }


def time_saves(job: Job, rounds: int = 20) -> float:
    """Milliseconds one manifest save of this job takes (encode, write, fsync)."""
    start = time.perf_counter()
    for _ in range(rounds):
        job.dir.save(job.manifest, durable=True)
    return (time.perf_counter() - start) / rounds * 1000


def reset(proc: Any) -> None:
    """Clear the emulator's request log and peak count before the wait."""
    send_line(proc.stdin, "reset")
    assert proc.stdout.readline().strip() == "ok"


def fetch_dump(proc: Any) -> dict[str, Any]:
    """Ask the emulator for its records."""
    send_line(proc.stdin, "dump")
    result: dict[str, Any] = json.loads(proc.stdout.readline())
    return result


# Report ------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank, 0 < q <= 1) of non-empty ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


def delays(client: dict[str, Any], server_dump: dict[str, Any]) -> dict[str, Any]:
    """Per batch: the client's stamp minus the batch's end."""
    found, early, lazy = [], 0, 0
    for batch in server_dump["batches"]:
        written = batch["written"]
        end = max(batch["scheduled_end"], written or 0.0)
        lazy += written is not None and written > batch["scheduled_end"] + 0.001
        if end < client["wait_start"]:
            early += 1
            continue
        found.append(client["seen"][batch["id"]] - end)
    ends = [b["scheduled_end"] for b in server_dump["batches"]]
    return {
        "delays": found,
        "ended_before_wait": early,
        "lazy": lazy,
        "end_span": max(ends) - min(ends),
    }


def report_lines(
    args: argparse.Namespace, client: dict[str, Any], server_dump: dict[str, Any]
) -> list[str]:
    """The facts, the table and the notes."""
    from benchmarks.parse import render

    d = delays(client, server_dump)
    polls = list(server_dump["polls"].values())
    total = sum(polls)
    scale = args.time_scale
    head = ["measure", "value", "in provider seconds"]
    body = [
        ["batches watched", f"{len(server_dump['batches']):,}", ""],
        ["status requests, total (emulator log)", f"{total:,}", ""],
        ["HTTP exchanges sent by the client", f"{client['client_sends']:,}", ""],
        [
            "status requests per batch: mean (min-max)",
            f"{total / max(1, len(polls)):.1f} ({min(polls)}-{max(polls)})",
            "",
        ],
        [
            "status requests per second (wait)",
            f"{total / client['wait_seconds']:.1f}",
            f"{total / client['wait_seconds'] / scale:.2f}",
        ],
        [
            "peak concurrent status requests (client)",
            str(client["client_peak_in_flight"]),
            "",
        ],
        [
            "peak concurrent requests (emulator handlers)",
            str(server_dump["peak_in_flight"]),
            "",
        ],
    ]
    for label, q in (("median", 0.5), ("p90", 0.9), ("max", 1.0)):
        value = quantile(d["delays"], q)
        body.append(
            [f"end -> noticed, {label} (s)", f"{value:.3f}", f"{value * scale:.0f}"]
        )
    body.append(
        [
            "wait (s)",
            f"{client['wait_seconds']:.1f}",
            f"{client['wait_seconds'] * scale:.0f}",
        ]
    )
    body.append(["submit (s)", f"{client['submit_seconds']:.1f}", ""])
    low, high = client["poll"]
    info = [
        f"{args.batches:,} one-request OpenAI batches; realistic clock at x{scale:.2f} "
        f"(a batch lasts {args.batch_seconds:g} s; ends spread over "
        f"{d['end_span']:.1f} s); PollPolicy({low:.3f}, {high:.2f}) = default / scale; "
        "concurrency 8",
        f"delays over {len(d['delays'])} batches ({d['ended_before_wait']} ended before "
        f"the wait began); {d['lazy']} batches' result files were written after "
        "their scheduled end (0 expected: see finalize_eagerly)",
        f"client: {client['on_progress_calls']:,} state changes saved; one manifest "
        f"save ({client['manifest_bytes'] / 1e3:.0f} kB, fsync) = "
        f"{client['save_ms']:.1f} ms; on_progress bookkeeping "
        f"{client['on_progress_cost']:.2f} s in all",
        f"other requests during the wait: {server_dump['other_requests'] or 'none'}",
        f"Python {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs",
    ]
    if args.markdown:
        info = [f"- {line}" for line in info]
    return [*info, "", *render(head, body, args.markdown)]


# Main ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=120.0,
        help="real seconds from a batch's creation to its end (sets the time scale;"
        " keep it above the submit time, or early batches end before the wait)",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown")
    parser.add_argument("--data-dir", type=Path, default=_ROOT / "bench-data")
    args = parser.parse_args(argv)
    if args.batches < 1 or args.batch_seconds <= 0:
        parser.error("--batches and --batch-seconds must be positive")
    args.time_scale = BATCH_EMULATED_SECONDS / args.batch_seconds
    return args


def main(argv: list[str] | None = None) -> None:
    """Start the emulator process, run the job here, print the report."""
    args = parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="polling-run-", dir=args.data_dir))
    state = work / "emulator"
    state.mkdir()
    argv_server = [
        sys.executable,
        str(_HERE),
        "--serve",
        str(args.time_scale),
        str(state),
    ]
    try:
        with server(argv_server, work / "emulator.log", stdin=True) as (proc, url):
            args.server = proc
            note(
                f"emulator at {url} (pid {proc.pid}), time scale {args.time_scale:.2f}"
            )
            client = asyncio.run(run_job(url, args, work))
            server_dump = fetch_dump(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report_lines(args, client, server_dump)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(serve(float(sys.argv[2]), sys.argv[3]))
    else:
        main()
