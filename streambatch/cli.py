"""The command line: parse arguments, call the library, map outcomes to exit codes.

Exit codes (DESIGN.md): 0 success (per-request failures are data, counted in the
summary); 2 bad usage or bad input, nothing submitted; 1 anything else, with a
one-line reason and no traceback unless ``--log-level debug``; 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__, _jobs
from ._args import OneLineParser, check_args, count, seconds
from ._core.pricing import Price, parse_price
from ._errors import ConfigError, DiskFull, InputError, StreamBatchError
from ._io.disk import is_disk_full
from ._providers import PROVIDER_NAMES
from ._providers.foreign import ADOPTABLE
from ._tables.options import (
    add_result_options,
    add_table_options,
    check_table_args,
    prefer_system_allocator,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
}


def _size(text: str) -> int:
    """``200MB``, ``1.5GB``, ``500k`` or a plain number of bytes (decimal units)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([kmg]?b?)\s*", text.lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100MB)")
    size = int(float(match[1]) * _UNITS[match[2]])
    if size < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte: {text!r}")
    return size


def _command(name: str) -> Callable[[argparse.Namespace], Any]:
    """The command ``name`` of ``_commands``, imported when it runs: building the
    parser loads no HTTP client, nor does a worker process of ``results``, which
    imports the module its parent ran (this one, for the console script)."""

    def handler(args: argparse.Namespace) -> Any:
        from . import _commands

        return getattr(_commands, name)(args)

    return handler


def _price(text: str) -> tuple[str, Price]:
    try:
        return parse_price(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not an amount of USD: {text!r}")
    return value


def _pricing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--price",
        type=_price,
        action="append",
        default=[],
        metavar="MODEL=IN/OUT",
        help="price MODEL (and the names it starts) at IN and OUT USD per million "
        "input and output tokens, before the built-in table; repeatable",
    )


def _cost_limit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-cost",
        type=_usd,
        metavar="USD",
        help="refuse the job, before anything is uploaded, if its estimated "
        "batch cost (output at its max_tokens) is above USD",
    )


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """The options every subcommand that talks to a provider takes, before or
    after the subcommand (on a subcommand they override the top level's)."""
    unset: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--base-url",
        default=unset,
        metavar="URL",
        help="the API base URL (OpenAI's includes /v1); default: the job's, the "
        "SDK's environment variable, or the public API",
    )
    parser.add_argument(
        "--api-key-env",
        default=unset,
        metavar="NAME",
        help="the environment variable holding the API key",
    )
    parser.add_argument(
        "--log-level",
        default="warning" if top else argparse.SUPPRESS,
        choices=["debug", "info", "warning", "error"],
        help="logging verbosity (debug also shows tracebacks); default warning",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print only the summary and errors",
    )


def _polling(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--poll-min",
        type=seconds,
        metavar="SECONDS",
        help="shortest wait between polls of a batch (default 5; 0.1 on the emulator)",
    )
    parser.add_argument(
        "--poll-max",
        type=seconds,
        metavar="SECONDS",
        help="longest wait between polls of a batch (default 300; 5 on the emulator)",
    )
    _stall(parser)


def _stall(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stall-after",
        type=seconds,
        metavar="SECONDS",
        help="warn of a batch whose state and counts have not changed for SECONDS "
        "(default: never; Anthropic batches report counts only when they end)",
    )


def _splitting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-requests",
        type=count,
        metavar="N",
        help="at most N requests per batch (at most the provider's limit)",
    )
    parser.add_argument(
        "--max-bytes",
        type=_size,
        metavar="SIZE",
        help="at most SIZE per batch, e.g. 100MB (at most the provider's limit)",
    )


def _new_job(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="the requests, one JSON object per line")
    parser.add_argument(
        "--provider",
        required=True,
        choices=list(PROVIDER_NAMES),
        help="the provider whose batch API runs the job",
    )
    parser.add_argument(
        "--job-dir", required=True, help="where the job keeps its state"
    )
    _splitting(parser)
    parser.add_argument(
        "--keep-files",
        action="store_true",
        help="keep uploaded input files at the provider after their batch ends",
    )
    parser.add_argument(
        "--completion-window",
        metavar="WINDOW",
        help="the batches' completion window, e.g. 7d, for an OpenAI-compatible "
        "host that offers others (openai only; default 24h; a resume keeps it)",
    )
    parser.add_argument(
        "--schema",
        metavar="FILE",
        help="structured output: a JSON Schema file; every request asks for it "
        "and results check each reply against it (see docs/structured.md)",
    )


def _emulator(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run against the built-in emulator (no key, no network); it lives "
        "as long as this command",
    )
    parser.add_argument(
        "--emulator-clock",
        default="fast",
        choices=["instant", "fast", "realistic"],
        help="the built-in emulator's clock (default fast)",
    )


def _results_options(parser: argparse.ArgumentParser) -> None:
    _pricing(parser)
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="the results file (JSONL); - for stdout; a FIFO or device is written to",
    )
    parser.add_argument(
        "--with-response", action="store_true", help="add each raw response body"
    )
    parser.add_argument(
        "--only",
        choices=["succeeded", "failed", "truncated"],
        help="write only these records (truncated: cut off at max_tokens; the "
        "summary counts all)",
    )
    parser.add_argument(
        "--workers",
        type=count,
        metavar="N",
        help="processes sharing the encoding of the output files when they come "
        "to 128 MiB or more (default: one per CPU); the results are the same for "
        "any N",
    )
    add_result_options(parser)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every subcommand."""
    from .testing import _cli as emulator_cli

    parser = OneLineParser(
        prog="streambatch", description="Run LLM batch jobs at scale."
    )
    parser.add_argument("--version", action="version", version=__version__)
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="submit, wait and write results (resumes)")
    _new_job(run)
    add_table_options(run, model=True)
    _results_options(run)
    _cost_limit(run)
    _polling(run)
    _emulator(run)
    _common(run)
    run.set_defaults(handler=_command("run"))

    submit = commands.add_parser(
        "submit", help="split the input and create its batches"
    )
    _new_job(submit)
    add_table_options(submit, model=True)
    submit.add_argument(
        "--emulator",
        action="store_true",
        help=argparse.SUPPRESS,  # refused: the emulator would die with the command
    )
    _pricing(submit)
    _cost_limit(submit)
    _common(submit)
    submit.set_defaults(handler=_command("submit"))

    status = commands.add_parser("status", help="show what a job directory records")
    status.add_argument("job_dir", metavar="DIR", help="the job directory")
    status.add_argument("--json", action="store_true", help="print JSON")
    _stall(status)
    status.set_defaults(handler=_command("status"))

    jobs = commands.add_parser(
        "jobs", help="list the job directories under ROOT with state, counts and cost"
    )
    jobs.add_argument(
        "root", metavar="ROOT", nargs="?", default=".", help="where to look (default .)"
    )
    jobs.add_argument("--json", action="store_true", help="print JSON")
    jobs.set_defaults(handler=_jobs.jobs, sync=True)

    wait = commands.add_parser("wait", help="poll until every batch has ended")
    wait.add_argument("job_dir", metavar="DIR", help="the job directory")
    wait.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="give up waiting after SECONDS (exit 1; the job goes on)",
    )
    _polling(wait)
    _common(wait)
    wait.set_defaults(handler=_command("wait"))

    results = commands.add_parser("results", help="write one result per request")
    results.add_argument("job_dir", metavar="DIR", help="the job directory")
    _results_options(results)
    results.add_argument(
        "--partial",
        action="store_true",
        help="write results although batches are still running (theirs are missing)",
    )
    _common(results)
    results.set_defaults(handler=_command("results"))

    retry = commands.add_parser("retry", help="resubmit failed requests as new batches")
    retry.add_argument("job_dir", metavar="DIR", help="the job directory")
    retry.add_argument("--wait", action="store_true", help="wait for the new batches")
    retry.add_argument(
        "--all", action="store_true", help="retry permanent failures too"
    )
    retry.add_argument(
        "--max-attempts",
        type=count,
        default=3,
        metavar="N",
        help="send a request at most N times in all (default 3)",
    )
    _splitting(retry)
    _polling(retry)
    _common(retry)
    retry.set_defaults(handler=_command("retry"))

    cancel = commands.add_parser(
        "cancel",
        help="cancel every unfinished batch (also while another process waits)",
    )
    cancel.add_argument("job_dir", metavar="DIR", help="the job directory")
    _common(cancel)
    cancel.set_defaults(handler=_command("cancel"))

    estimate = commands.add_parser(
        "estimate",
        help="count requests, tokens and the batch cost of an input (offline)",
    )
    estimate.add_argument("input", help="the requests, one JSON object per line")
    estimate.add_argument(
        "--provider",
        required=True,
        choices=list(PROVIDER_NAMES),
        help="the provider whose prices apply",
    )
    estimate.add_argument("--model", help="price every request as this model")
    add_table_options(estimate, model=False)
    _pricing(estimate)
    estimate.set_defaults(handler=_command("estimate"))

    adopt = commands.add_parser(
        "adopt", help="make a job of a batch another tool created"
    )
    adopt.add_argument("batch_id", metavar="BATCH_ID", help="the provider's batch id")
    adopt.add_argument(
        "--provider",
        required=True,
        choices=list(ADOPTABLE),
        help="the provider the batch runs at",
    )
    adopt.add_argument(
        "--job-dir", required=True, help="a new directory for the job's state"
    )
    adopt.add_argument(
        "--input",
        metavar="FILE",
        help="the batch's requests (JSONL), so its failures can be retried where "
        "the provider keeps no input file (Anthropic)",
    )
    _common(adopt)
    adopt.set_defaults(handler=_command("adopt"))

    emulator = commands.add_parser(
        "emulator", help="serve the built-in provider emulator on loopback"
    )
    emulator_cli.add_arguments(emulator)
    emulator.set_defaults(handler=emulator_cli.run, sync=True)
    return parser


def _check(args: argparse.Namespace) -> None:
    """What the parser cannot check alone, checked before anything runs."""
    check_table_args(args)
    if getattr(args, "emulator", False) and args.command == "submit":
        raise ConfigError(
            "--emulator is for run only: the built-in emulator lives as long as "
            "the command, so a submitted job could never finish (serve one with "
            "'streambatch emulator' and pass its --base-url instead)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)  # before anything is read, uploaded or created
    prefer_system_allocator()  # before pyarrow is imported, if it is
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    debug = args.log_level == "debug"
    try:
        _check(args)
        if getattr(args, "sync", False):
            code: int = args.handler(args)
        else:
            code = asyncio.run(args.handler(args))
    except BrokenPipeError:  # e.g. `streambatch status --json DIR | head`
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print(
            "streambatch: interrupted; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except (ConfigError, InputError) as exc:
        if debug:
            raise
        print(f"streambatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StreamBatchError as exc:
        if debug:
            raise
        print(f"streambatch: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        if debug:
            raise
        # a full disk in any write not already turned into DiskFull
        full = is_disk_full(exc)
        shown = DiskFull(exc.filename or "a file being written") if full else exc
        print(f"streambatch: {shown}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # a bug of ours: still one line, and how to see more
        if debug:
            raise
        print(
            f"streambatch: internal error: {type(exc).__name__}: {exc} "
            "(--log-level debug shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return code


def console_main() -> None:
    """Entry point of the ``streambatch`` console script."""
    sys.exit(main())
