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
from collections.abc import Sequence

from . import __version__, _commands
from ._args import OneLineParser, check_args, count, seconds
from ._errors import ConfigError, DiskFull, InputError, StreamBatchError
from ._io.disk import is_disk_full

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


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-key-env", metavar="NAME", help="environment variable holding the API key"
    )
    parser.add_argument(
        "--poll-min",
        type=seconds,
        default=5.0,
        metavar="SECONDS",
        help="shortest wait between polls of a batch (default 5)",
    )
    parser.add_argument(
        "--poll-max",
        type=seconds,
        default=300.0,
        metavar="SECONDS",
        help="longest wait between polls of a batch (default 300)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")


def _new_job(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="the requests, one JSON object per line")
    parser.add_argument("--provider", required=True, choices=["openai", "anthropic"])
    parser.add_argument(
        "--job-dir", required=True, help="where the job keeps its state"
    )
    parser.add_argument("--base-url", help="the API base URL (OpenAI's includes /v1)")
    parser.add_argument(
        "--max-requests", type=count, metavar="N", help="at most N requests per batch"
    )
    parser.add_argument(
        "--max-bytes",
        type=_size,
        metavar="SIZE",
        help="at most SIZE per batch (e.g. 100MB)",
    )
    parser.add_argument(
        "--keep-files",
        action="store_true",
        help="keep uploaded input files at the provider after their batch ends",
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run against the built-in emulator (no key, no network)",
    )
    parser.add_argument(
        "--emulator-clock",
        default="fast",
        choices=["instant", "fast", "realistic"],
        help="the emulator's clock (default fast)",
    )


def _results_options(parser: argparse.ArgumentParser) -> None:
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
        "--only", choices=["succeeded", "failed"], help="write only these records"
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every subcommand."""
    from .testing import _cli as emulator_cli

    parser = OneLineParser(
        prog="streambatch", description="Run LLM batch jobs at scale."
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="logging verbosity (debug also shows tracebacks)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="submit, wait and write results (resumes)")
    _new_job(run)
    _results_options(run)
    _common(run)
    run.set_defaults(handler=_commands.run)

    submit = commands.add_parser(
        "submit", help="split the input and create its batches"
    )
    _new_job(submit)
    _common(submit)
    submit.set_defaults(handler=_commands.submit)

    for name, help_text, handler in [
        ("status", "show what a job directory records", _commands.status),
        ("wait", "poll until every batch has ended", _commands.wait),
        ("results", "write one result per request", _commands.results),
        ("cancel", "cancel every unfinished batch", _commands.cancel),
        ("retry", "resubmit failed requests as new batches", _commands.retry),
    ]:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("job_dir", metavar="DIR")
        _common(sub)
        sub.set_defaults(handler=handler)
        if name == "status":
            sub.add_argument("--json", action="store_true", help="print JSON")
        if name == "wait":
            sub.add_argument(
                "--timeout",
                type=seconds,
                metavar="SECONDS",
                help="give up waiting after SECONDS (exit 1; the job goes on)",
            )
        if name == "results":
            _results_options(sub)
        if name == "retry":
            sub.add_argument(
                "--wait", action="store_true", help="wait for the new batches"
            )
            sub.add_argument(
                "--all", action="store_true", help="retry permanent failures too"
            )
            sub.add_argument(
                "--max-attempts",
                type=count,
                default=3,
                metavar="N",
                help="send a request at most N times in all (default 3)",
            )

    estimate = commands.add_parser(
        "estimate",
        help="count requests, tokens and the batch cost of an input (offline)",
    )
    estimate.add_argument("input", help="the requests, one JSON object per line")
    estimate.add_argument("--provider", required=True, choices=["openai", "anthropic"])
    estimate.add_argument("--model", help="price every request as this model")
    estimate.set_defaults(handler=_commands.estimate)

    emulator = commands.add_parser(
        "emulator", help="serve the built-in provider emulator on loopback"
    )
    emulator_cli.add_arguments(emulator)
    emulator.set_defaults(handler=emulator_cli.run, sync=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)  # before anything is read, uploaded or created
    logging.basicConfig(
        level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    debug = args.log_level == "debug"
    try:
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
