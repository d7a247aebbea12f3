"""The command line: parse arguments, call the library, map outcomes to exit codes.

Exit codes (DESIGN.md): 0 success; 2 bad usage or bad input, nothing submitted;
1 anything else, with a one-line reason and no traceback unless --log-level debug.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import __version__
from ._errors import ConfigError, InputError, StreamBatchError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every subcommand."""
    from .testing import _cli as emulator_cli

    parser = argparse.ArgumentParser(
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
    emulator = commands.add_parser(
        "emulator", help="serve the built-in provider emulator on loopback"
    )
    emulator_cli.add_arguments(emulator)
    emulator.set_defaults(handler=emulator_cli.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("streambatch: interrupted", file=sys.stderr)
        return 130
    except (ConfigError, InputError) as exc:
        if args.log_level == "debug":
            raise
        print(f"streambatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StreamBatchError as exc:
        if args.log_level == "debug":
            raise
        print(f"streambatch: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return code


def console_main() -> None:
    """Entry point of the ``streambatch`` console script."""
    sys.exit(main())
