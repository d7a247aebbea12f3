"""Command-line values checked at parse time, before anything is read or sent.

Argument types for seconds, counts and sizes (a bad value is a usage error,
exit 2, one line), the checks that need several arguments at once (``--poll-min``
at most ``--poll-max``; the input file there and readable), and a parser whose
errors are one line.
"""

from __future__ import annotations

import argparse
import math
import os
import stat
from typing import NoReturn

__all__ = ("OneLineParser", "check_args", "count", "seconds")


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def count(text: str) -> int:
    """A positive whole number."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The checks that need several arguments, or the file system; a failure is
    a usage error (exit 2) before anything is uploaded or created."""
    low, high = getattr(args, "poll_min", None), getattr(args, "poll_max", None)
    if low is not None and high is not None and high < low:
        parser.error(f"--poll-min ({low:g}) must be at most --poll-max ({high:g})")
    source = getattr(args, "input", None)
    if source is not None:
        problem = _unreadable(source)
        if problem is not None:
            parser.error(f"input {source}: {problem}")


def _unreadable(path: str) -> str | None:
    """Why ``path`` cannot be read as an input file, or None.

    Not opened: opening a FIFO's reading end would take the writer's place.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as exc:
        return getattr(exc, "strerror", None) or str(exc)
    if stat.S_ISDIR(mode):
        return "is a directory"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None
