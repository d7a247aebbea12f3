"""End-to-end benchmark: a whole job through the emulator, phase by phase.

Usage::

    .venv/bin/python benchmarks/e2e.py                       # 1,000,000 requests
    .venv/bin/python benchmarks/e2e.py --requests 20000 --provider anthropic --markdown

Methodology:

1. **Data.** ``streambatch.testing.sample.write_sample`` writes ``--requests``
   native requests (seeded; cached under ``--data-dir``). The file is read once
   so that the split starts with it in the page cache.
2. **Emulator.** ``python -m streambatch emulator --port 0 --clock instant`` in a
   process of its own (so its memory and CPU are not the client's), with the
   providers' default limits (OpenAI: 50,000 requests a batch, Anthropic:
   100,000), ``--reply-words`` words a reply and ``--item-error-rate`` failed
   items (2% by default: the OpenAI error file is exercised too). Its state
   directory is under the run's work directory, removed at the end.
3. **Client.** A fresh child process drives the job as ``streambatch run`` does,
   each phase timed with ``time.perf_counter``: *split* (``Job.create``: validate,
   hash and split the input into chunk files), *upload+create* (``job.submit``),
   *wait* (``job.wait`` with ``PollPolicy(--poll-min, --poll-max)``; on the instant
   clock this is mostly the emulator validating and generating results),
   *collect* = *download* (``job.download``) + *results* (``job.write_results``,
   what ``streambatch results`` runs: every result, once, to a JSONL file). Each phase
   has wall and CPU seconds (``time.process_time``: all the process's threads,
   so aiofiles' too); the CPU figure is the one a busy shared machine disturbs
   least. The client's peak RSS is its ``VmHWM`` (``ru_maxrss`` survives
   ``execve``, so a child's would include its parent's peak; both are
   printed), also sampled after each phase.
4. **Parse baseline.** Another fresh child times ``open_results`` over exactly the
   files the client downloaded (the ``streambatch`` row of ``benchmarks/parse.py``,
   same code), ``--parse-rounds`` times, median; the files are in the page cache
   for both. ``collect / parse`` is the ratio of those seconds on the same bytes
   (wall and CPU).
5. **Units.** MB = 10^6 bytes; MiB = 2^20. MB per phase: the input for split and
   upload, the downloaded output and error files for download, results and
   parse. A single run: the machine is shared, rerun to see the spread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

_HERE = Path(__file__).resolve()
_ROOT = _HERE.parent.parent
if str(_ROOT) not in sys.path:  # run as a script from a plain checkout
    sys.path.insert(0, str(_ROOT))

from benchmarks._procs import note, run_child, server, vm_hwm_kib  # noqa: E402

if TYPE_CHECKING:
    from streambatch import Job

MIB = 1024 * 1024
RSS_TARGET_MIB = 128
RATIO_TARGET = 1.5


# Client child ----------------------------------------------------------------------


def _hwm_mib() -> float:
    return (vm_hwm_kib() or 0) / 1024


async def write_results(job: Job, out: Path, workers: int) -> tuple[int, Counter[str]]:
    """Write every result as ``streambatch results`` does; return bytes and counts."""
    import aiofiles.os

    counts = await job.write_results(out, workers=workers)
    return (await aiofiles.os.stat(out)).st_size, counts


async def drive(config: dict[str, Any]) -> dict[str, Any]:
    """Run one job phase by phase; report seconds, bytes and peak RSS per phase."""
    from streambatch import Client, PollPolicy
    from streambatch._io.jobdir import JobDir
    from streambatch._job import Job

    work = Path(config["work"])
    phases: dict[str, dict[str, float]] = {}
    cpu = [time.process_time()]

    def mark(name: str, start: float) -> float:
        now, used = time.perf_counter(), time.process_time()
        phases[name] = {
            "seconds": now - start,
            "cpu": used - cpu[-1],
            "rss_mib": _hwm_mib(),
        }
        cpu.append(used)
        return now

    async with Client(config["provider"], base_url=config["url"]) as client:
        directory = JobDir.open(work / "job", create=True)
        start, cpu[0] = time.perf_counter(), time.process_time()
        job = await Job.create(
            config["input"],
            directory,
            client.api,
            client.transport,
            base_url=client.base_url,
        )
        with job:
            start = mark("split", start)
            await job.submit()
            start = mark("upload", start)
            poll = PollPolicy(
                min_delay=config["poll_min"], max_delay=config["poll_max"]
            )
            await job.wait(poll=poll)
            start = mark("wait", start)
            await job.download()
            start = mark("download", start)
            results = work / "results.jsonl"
            written, counts = await write_results(job, results, config["workers"])
            mark("results", start)
            downloads = sorted(str(p) for p in (work / "job" / "downloads").iterdir())
            batches = len(job.manifest.chunks)
    return {
        "phases": phases,
        "batches": batches,
        "downloads": downloads,
        "results_bytes": written,
        "counts": dict(counts),
        "peak_rss_kib": vm_hwm_kib(),
        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "workers_cpu": _children_cpu(),
    }


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the results workers)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def parse_only(provider: str, files: list[str]) -> dict[str, Any]:
    """Time ``open_results`` over ``files``, as parse.py's streambatch row does."""
    from benchmarks._methods import METHODS

    run = METHODS["streambatch"](provider)
    lines = 0
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        lines += run(path).lines
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "lines": lines,
        "peak_rss_kib": vm_hwm_kib(),
    }


def child_main(kind: str, payload: str) -> None:
    """Entry point of a measuring child: ``e2e.py --child KIND JSON``."""
    config = json.loads(payload)
    if kind == "client":
        result = asyncio.run(drive(config))
    else:
        result = parse_only(config["provider"], config["files"])
    print(json.dumps(result))


# Parent ---------------------------------------------------------------------------


def ensure_input(data_dir: Path, provider: str, count: int, seed: int) -> Path:
    """The sample input of ``count`` requests, written once and cached."""
    from streambatch.testing.sample import write_sample

    path = data_dir / f"e2e-input-{provider}-{count}-seed{seed}.jsonl"
    if not path.exists():
        note(f"writing {count:,} {provider} requests to {path} ...")
        data_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        write_sample(str(partial), provider, count, seed=seed)
        os.replace(partial, path)
    with open(path, "rb") as file:  # warm the page cache
        while file.read(1 << 24):
            pass
    return path


def emulator_argv(args: argparse.Namespace, state: Path) -> list[str]:
    """The emulator's command line."""
    return [
        sys.executable,
        "-m",
        "streambatch",
        "emulator",
        "--port",
        "0",
        "--clock",
        "instant",
        "--state-dir",
        str(state),
        "--reply-words",
        str(args.reply_words),
        "--item-error-rate",
        str(args.item_error_rate),
        "--seed",
        str(args.seed),
    ]


def child_argv(kind: str, config: dict[str, Any]) -> list[str]:
    """The command line of a measuring child."""
    return [sys.executable, str(_HERE), "--child", kind, json.dumps(config)]


def measure(args: argparse.Namespace, source: Path, work: Path) -> dict[str, Any]:
    """Run the client against a fresh emulator, then the parse-only baseline."""
    state = work / "emulator"
    state.mkdir()
    with server(emulator_argv(args, state), work / "emulator.log") as (proc, url):
        base = url + "/v1" if args.provider == "openai" else url
        note(f"emulator at {url} (pid {proc.pid}); running the client ...")
        config = {
            "provider": args.provider,
            "url": base,
            "input": str(source),
            "work": str(work),
            "poll_min": args.poll_min,
            "poll_max": args.poll_max,
            "workers": args.workers,
        }
        client = run_child(child_argv("client", config))
        client["emulator_peak_rss_kib"] = vm_hwm_kib(proc.pid)
    client["download_bytes"] = sum(os.path.getsize(p) for p in client["downloads"])
    client["workers"] = args.workers
    parses = []
    for number in range(args.parse_rounds):
        files = {"provider": args.provider, "files": client["downloads"]}
        parses.append(run_child(child_argv("parse", files)))
        note(f"parse round {number + 1}: {parses[-1]['seconds']:.2f} s")
    client["parse_seconds"] = statistics.median(p["seconds"] for p in parses)
    client["parse_cpu"] = statistics.median(p["cpu"] for p in parses)
    client["parse_all"] = [p["seconds"] for p in parses]
    client["parse_lines"] = parses[0]["lines"]
    return client


def rows(report: dict[str, Any], input_bytes: int) -> list[list[str]]:
    """The table body: one row per phase, then the collect sum and the baseline."""
    phases = report["phases"]
    down = report["download_bytes"]
    sizes = {
        "split": input_bytes,
        "upload": input_bytes,
        "wait": 0,
        "download": down,
        "results": down,
    }
    labels = {
        "split": "split (Job.create)",
        "upload": "upload+create (job.submit)",
        "wait": "wait (job.wait)",
        "download": "collect: download",
        "results": "collect: results -> file"
        + (f" ({report['workers']} workers)" if report["workers"] > 1 else ""),
    }
    body = [
        _row(labels[name], (p["seconds"], p["cpu"]), sizes[name], p["rss_mib"])
        for name, p in phases.items()
    ]
    collect = _collect(report, "seconds"), _collect(report, "cpu")
    body.append(_row("collect (download + results)", collect, down, None))
    total = tuple(sum(p[k] for p in phases.values()) for k in ("seconds", "cpu"))
    body.append(_row("total", total, 0, report["peak_rss_kib"] / 1024))
    spread = "/".join(f"{s:.2f}" for s in report["parse_all"])
    label = f"parse only, same files (median of {spread} s)"
    parse = report["parse_seconds"], report["parse_cpu"]
    body.append(_row(label, parse, down, None))
    return body


def _collect(report: dict[str, Any], key: str) -> float:
    phases = report["phases"]
    return float(phases["download"][key] + phases["results"][key])


def _row(
    label: str, times: tuple[float, ...], size: int, rss: float | None
) -> list[str]:
    seconds, cpu = times
    rate = f"{size / seconds / 1e6:.1f}" if size else "-"
    mb = f"{size / 1e6:.1f}" if size else "-"
    rss_text = "-" if rss is None else f"{rss:.1f}"
    return [label, f"{seconds:.2f}", f"{cpu:.2f}", mb, rate, rss_text]


def summary(report: dict[str, Any]) -> list[str]:
    """The verdicts: peak RSS and collect / parse against their targets."""
    phases = report["phases"]
    rss = report["peak_rss_kib"] / 1024
    ratio = _collect(report, "seconds") / report["parse_seconds"]
    inner = phases["results"]["seconds"] / report["parse_seconds"]
    cpu_ratio = _collect(report, "cpu") / report["parse_cpu"]
    cpu_inner = phases["results"]["cpu"] / report["parse_cpu"]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    return [
        f"client peak RSS: {rss:.1f} MiB (VmHWM; ru_maxrss "
        f"{report['ru_maxrss_kib'] / 1024:.1f} MiB), target <= {RSS_TARGET_MIB} MiB: "
        f"{verdict(rss <= RSS_TARGET_MIB)}",
        f"collect / parse: {ratio:.2f}x, target <= {RATIO_TARGET}x: "
        f"{verdict(ratio <= RATIO_TARGET)} (results -> file alone: {inner:.2f}x); "
        f"in CPU seconds (less sensitive to a busy machine): {cpu_ratio:.2f}x "
        f"(results -> file alone: {cpu_inner:.2f}x)",
        f"emulator peak RSS (its own process): "
        f"{(report['emulator_peak_rss_kib'] or 0) / 1024:.1f} MiB",
    ]


def facts(args: argparse.Namespace, report: dict[str, Any], source: Path) -> list[str]:
    """What was run, on what."""
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(report["counts"].items()))
    return [
        f"{args.requests:,} {args.provider} requests ({source.stat().st_size / 1e6:.1f}"
        f" MB) in {report['batches']} batches; emulator clock instant, "
        f"{args.reply_words} reply words, item error rate {args.item_error_rate}; "
        f"poll {args.poll_min}-{args.poll_max} s",
        f"results: {counts}; {len(report['downloads'])} files downloaded "
        f"({report['download_bytes'] / 1e6:.1f} MB, {report['parse_lines']:,} lines);"
        f" results file {report['results_bytes'] / 1e6:.1f} MB",
        f"results written by write_results(workers={report['workers']}); CPU s "
        f"counts the client process only (its child processes, the split's UTF-8 "
        f"check and any results workers: "
        f"{report['workers_cpu']:.2f} s)",
        f"Python {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs",
    ]


def report_lines(
    args: argparse.Namespace, report: dict[str, Any], source: Path
) -> list[str]:
    """The whole printed report."""
    from benchmarks.parse import render

    head = ["phase", "seconds", "CPU s", "MB", "MB/s", "peak RSS MiB so far"]
    body = rows(report, source.stat().st_size)
    info = facts(args, report, source)
    verdicts = summary(report)
    if args.markdown:
        info = [f"- {line}" for line in info]
        verdicts = [f"- {line}" for line in verdicts]
    return [*info, "", *render(head, body, args.markdown), "", *verdicts]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--provider", choices=("openai", "anthropic"), default="openai")
    parser.add_argument("--markdown", action="store_true", help="print Markdown")
    parser.add_argument("--reply-words", type=int, default=24)
    parser.add_argument("--item-error-rate", type=float, default=0.02)
    parser.add_argument("--poll-min", type=float, default=0.05)
    parser.add_argument("--poll-max", type=float, default=0.5)
    parser.add_argument("--parse-rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="write_results(workers=N): 1 (the Python default) or one per CPU, as "
        "the command line does",
    )
    parser.add_argument("--data-dir", type=Path, default=_ROOT / "bench-data")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.parse_rounds < 1:
        parser.error("--requests and --parse-rounds must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    """Prepare the input, run the job and the baseline, print the report."""
    args = parse_args(argv)
    source = ensure_input(args.data_dir, args.provider, args.requests, args.seed)
    work = Path(tempfile.mkdtemp(prefix="e2e-run-", dir=args.data_dir))
    try:
        report = measure(args, source, work)
    finally:
        if args.keep:
            note(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report_lines(args, report, source)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child_main(sys.argv[2], sys.argv[3])
    else:
        main()
