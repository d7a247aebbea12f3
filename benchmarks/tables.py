"""Tables benchmark: a Parquet table of rows becomes a job, and its results come
back as a Parquet table joined onto the rows, against the emulator.

Usage::

    .venv/bin/python benchmarks/tables.py                    # 1,000,000 rows
    .venv/bin/python benchmarks/tables.py --rows 20000 --markdown

Methodology:

1. **Data.** A Parquet table of ``--rows`` rows (``id``, ``topic``, ``question``
   of 60-200 characters, ``n``), written once in row groups of 64k rows with
   pyarrow (seeded; cached under ``--data-dir``) and read once so that it is in
   the page cache.
2. **Emulator.** ``python -m streambatch emulator --clock instant`` in a
   process of its own (its memory is not the client's), OpenAI's default
   limits (50,000 requests a batch), 24-word replies.
3. **Two round trips**, each in a fresh child process against a fresh job
   directory: *cli* runs ``streambatch run TABLE --prompt ... --id-column id
   --model ... -o results.parquet --join-input`` (``streambatch.cli.main`` in
   the child, the console script's code), and *api* does the same through the
   Python API (``Client.submit(table, prompt=..., id_column=...)``,
   ``job.wait``, ``job.download``, ``job.write_results(..., join_input=True)``),
   phase by phase. Each child reports wall seconds and its peak RSS
   (``VmHWM``, which ``execve`` starts afresh; see ``benchmarks/_procs.py``).
4. **Check.** The parent reads each results file back with ``pyarrow.dataset``
   (untimed): one row per input row, in the input's order, every result
   succeeded, the input columns beside it.
5. **Units.** rows/s is the table's rows over the child's wall seconds.
   MiB = 2^20 bytes. A single run: the machine is shared, rerun to see the
   spread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve()
_ROOT = _HERE.parent.parent
if str(_ROOT) not in sys.path:  # run as a script from a plain checkout
    sys.path.insert(0, str(_ROOT))

from benchmarks._procs import note, run_child, server, vm_hwm_kib  # noqa: E402

RSS_TARGET_MIB = 256
PROMPT = "Answer in one sentence about {{ topic }}: {{ question }}"
MODEL = "gpt-4o-mini"
_TOPICS = ("rivers", "birds", "stars", "bread", "trains", "glaciers", "moths")
_WORDS = [
    "why",
    "how",
    "when",
    "does",
    "what",
    "which",
    "the",
    "a",
    "of",
    "river",
    "sky",
    "cold",
    "warm",
    "light",
    "heavy",
    "north",
    "old",
    "new",
    "small",
    "large",
    "water",
    "stone",
    "wind",
    "fire",
    "slowly",
    "quickly",
]


def _mib() -> float:
    return (vm_hwm_kib() or 0) / 1024


# Children -------------------------------------------------------------------------


def cli_child(config: dict[str, Any]) -> dict[str, Any]:
    """``streambatch run`` on the table, in this process; seconds and peak RSS."""
    from streambatch.cli import main

    argv = [
        "run",
        config["table"],
        "--provider",
        "openai",
        "--job-dir",
        config["job"],
        "--base-url",
        config["url"],
        "-o",
        config["out"],
        "--join-input",
        "--prompt",
        PROMPT,
        "--id-column",
        "id",
        "--model",
        MODEL,
        "--poll-min",
        "0.05",
        "--poll-max",
        "0.5",
        "--quiet",
    ]
    start = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"streambatch run exited {code}")
    return {"seconds": seconds, "peak_rss_mib": _mib(), "phases": {}}


async def api_child(config: dict[str, Any]) -> dict[str, Any]:
    """The same round trip through the Python API, phase by phase."""
    import streambatch as sb

    phases: dict[str, dict[str, float]] = {}
    started = clock = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = {"seconds": now - clock, "rss_mib": _mib()}
        clock = now

    async with sb.Client("openai", base_url=config["url"]) as client:
        job = await client.submit(
            config["table"],
            job_dir=config["job"],
            prompt=PROMPT,
            id_column="id",
            model=MODEL,
        )
        mark("render+split+submit")
        with job:
            await job.wait(poll=sb.PollPolicy(min_delay=0.05, max_delay=0.5))
            mark("wait")
            await job.download()
            mark("download")
            await job.write_results(config["out"], join_input=True)
            mark("results+join -> parquet")
            reader = job.to_arrow()
            streamed = sum(batch.num_rows for batch in reader)
            mark("to_arrow (streamed)")
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mib": _mib(),
        "phases": phases,
        "streamed_rows": streamed,
    }


def child_main(kind: str, payload: str) -> None:
    """Entry point of a measuring child: ``tables.py --child KIND JSON``."""
    config = json.loads(payload)
    result = cli_child(config) if kind == "cli" else asyncio.run(api_child(config))
    print(json.dumps(result))


# Parent ---------------------------------------------------------------------------


def ensure_table(data_dir: Path, rows: int, seed: int) -> Path:
    """The benchmark's Parquet table, written once (in row groups) and cached."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = data_dir / f"tables-{rows}-seed{seed}.parquet"
    if not path.exists():
        note(f"writing a table of {rows:,} rows to {path} ...")
        data_dir.mkdir(parents=True, exist_ok=True)
        rng = random.Random(seed)
        partial = path.with_suffix(".partial")
        schema = pa.schema(
            [
                ("id", pa.string()),
                ("topic", pa.string()),
                ("question", pa.string()),
                ("n", pa.int64()),
            ]
        )
        with pq.ParquetWriter(partial, schema) as writer:
            for start in range(0, rows, 65_536):
                count = min(65_536, rows - start)
                questions = [
                    " ".join(rng.choices(_WORDS, k=rng.randint(12, 36))) + "?"
                    for _ in range(count)
                ]
                writer.write_table(
                    pa.table(
                        {
                            "id": [f"row-{i:08d}" for i in range(start, start + count)],
                            "topic": [rng.choice(_TOPICS) for _ in range(count)],
                            "question": questions,
                            "n": list(range(start, start + count)),
                        },
                        schema=schema,
                    )
                )
        os.replace(partial, path)
    with open(path, "rb") as file:  # warm the page cache
        while file.read(1 << 24):
            pass
    return path


def check(out: Path, rows: int) -> str:
    """Read a joined results table back (untimed); return what was found."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    table = ds.dataset(out, format="parquet").to_table(
        columns=["custom_id", "status", "n", "question"]
    )
    if table.num_rows != rows:
        raise SystemExit(f"{out}: {table.num_rows:,} rows, not {rows:,}")
    numbers = pa.array(range(rows), pa.int64())
    in_order = pc.all(pc.equal(table.column("n"), numbers)).as_py()
    succeeded = pc.sum(pc.equal(table.column("status"), "succeeded")).as_py()
    return f"{table.num_rows:,} rows, {succeeded:,} succeeded, input order kept: {in_order}"


def emulator_argv(state: Path, seed: int) -> list[str]:
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
        "24",
        "--seed",
        str(seed),
    ]


def measure(args: argparse.Namespace, table: Path, work: Path) -> dict[str, Any]:
    """Run each round trip against its own fresh emulator."""
    report: dict[str, Any] = {}
    for kind in args.paths:
        state = work / f"emulator-{kind}"
        state.mkdir()
        with server(emulator_argv(state, args.seed), work / f"emulator-{kind}.log") as (
            proc,
            url,
        ):
            note(f"{kind}: emulator at {url}; running the round trip ...")
            config = {
                "table": str(table),
                "url": url + "/v1",
                "job": str(work / f"job-{kind}"),
                "out": str(work / f"results-{kind}.parquet"),
            }
            child = [sys.executable, str(_HERE), "--child", kind, json.dumps(config)]
            result = run_child(child)
            result["emulator_peak_rss_mib"] = (vm_hwm_kib(proc.pid) or 0) / 1024
        result["check"] = check(Path(config["out"]), args.rows)
        result["out_bytes"] = Path(config["out"]).stat().st_size
        note(f"{kind}: {result['seconds']:.1f} s, {result['peak_rss_mib']:.1f} MiB")
        shutil.rmtree(work / f"job-{kind}", ignore_errors=True)
        report[kind] = result
    return report


def report_lines(
    args: argparse.Namespace, report: dict[str, Any], table: Path
) -> list[str]:
    """The printed report: facts, the table, the phases of the API run, verdicts."""
    from benchmarks.parse import render

    head = ["round trip", "rows", "seconds", "rows/s", "peak RSS MiB", "<= 256 MiB"]
    body = []
    labels = {
        "cli": "streambatch run ... -o results.parquet --join-input",
        "api": "Client.submit(table, ...) ... write_results(join_input=True)",
    }
    for kind, result in report.items():
        rss = result["peak_rss_mib"]
        body.append(
            [
                labels[kind],
                f"{args.rows:,}",
                f"{result['seconds']:.1f}",
                f"{args.rows / result['seconds']:,.0f}",
                f"{rss:.1f}",
                "PASS" if rss <= RSS_TARGET_MIB else "FAIL",
            ]
        )
    lines = [
        f"{args.rows:,} rows, {table.stat().st_size / 1e6:.1f} MB of Parquet; prompt "
        f"{PROMPT!r}; openai via the emulator (instant clock, 24-word replies)",
        f"Python {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs",
        "",
        *render(head, body, args.markdown),
    ]
    api = report.get("api")
    if api:
        phase_head = ["api phase", "seconds", "peak RSS MiB so far"]
        phase_body = [
            [name, f"{p['seconds']:.1f}", f"{p['rss_mib']:.1f}"]
            for name, p in api["phases"].items()
        ]
        lines += ["", *render(phase_head, phase_body, args.markdown)]
    notes = [
        f"{kind}: results file {r['out_bytes'] / 1e6:.1f} MB read back: {r['check']}; "
        f"emulator peak RSS {r['emulator_peak_rss_mib']:.0f} MiB (its own process)"
        for kind, r in report.items()
    ]
    if args.markdown:
        notes = [f"- {line}" for line in notes]
    return [*lines, "", *notes]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--paths", default="cli,api", help="cli, api or both")
    parser.add_argument("--markdown", action="store_true", help="print Markdown")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=_ROOT / "bench-data")
    args = parser.parse_args(argv)
    args.paths = [p for p in args.paths.split(",") if p]
    if args.rows < 1 or not set(args.paths) <= {"cli", "api"}:
        parser.error("--rows must be positive; --paths is cli, api or cli,api")
    return args


def main(argv: list[str] | None = None) -> None:
    """Prepare the table, run the round trips, print the report."""
    args = parse_args(argv)
    table = ensure_table(args.data_dir, args.rows, args.seed)
    work = Path(tempfile.mkdtemp(prefix="tables-run-", dir=args.data_dir))
    try:
        report = measure(args, table, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report_lines(args, report, table)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child_main(sys.argv[2], sys.argv[3])
    else:
        main()
