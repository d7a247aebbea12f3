"""Check that every byte of an input file is UTF-8, on a second core if need be.

The edge around :class:`streambatch._core.utf8.Utf8Checker`. A split decodes only
the fields it checks; this checks the rest. With orjson (the ``fast`` extra) each
block is checked whole as it is split, in this process: that costs less than a
child's start-up and second read of the file. Without it, lines are decoded one
by one, which holds the GIL about twice as long as the split's own checks: then a
small input (or one that is not a regular file) is checked here too, and one of
at least :data:`CHILD_BYTES` by a child process that reads the same file on its
own (from the page cache, at the same time) on another core. The child runs
``python -m`` this module, so it imports nothing of the caller's; if it cannot
run, the file is checked here.

As a child (``python -m streambatch._io.utf8 PATH MAX``): prints
``{"count": N, "problems": [[line, custom_id, reason], ...]}`` (the first MAX).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import sys
from typing import Any

from .._core.requests import Problem
from .._core.utf8 import WHOLE, Utf8Checker

__all__ = ("CHILD_BYTES", "Utf8Check", "check_file")

CHILD_BYTES: int | None = 32 * 1024 * 1024 if WHOLE is None else None
"""Inputs at least this large are checked by a child process (None: none is)."""

_READ_BYTES = 1024 * 1024


def check_file(path: str, max_problems: int) -> tuple[int, list[Problem]]:
    """Check a whole file (blocking): how many lines are bad, and the first ones."""
    checker = Utf8Checker()
    problems: list[Problem] = []
    with open(path, "rb") as file:
        while block := file.read(_READ_BYTES):
            found = checker.feed(block)
            problems += found[: max_problems - len(problems)]
    problems += checker.close()[: max_problems - len(problems)]
    return checker.count, problems


class Utf8Check:
    """Check the UTF-8 of an input while it is split.

    ``feed(block)`` with each block read (a no-op when a child checks);
    ``await result()`` once all were fed: the count of bad lines and the first
    ``max_problems``. Leaving the ``async with`` ends a child still running.
    """

    def __init__(
        self, path: str, max_problems: int, child_bytes: int | None = CHILD_BYTES
    ) -> None:
        self._path = path
        self._max = max_problems
        self._child: asyncio.subprocess.Process | None = None
        self._checker: Utf8Checker | None = Utf8Checker()
        self._problems: list[Problem] = []
        with contextlib.suppress(OSError):
            info = os.stat(path)
            large = child_bytes is not None and info.st_size >= child_bytes
            if large and stat.S_ISREG(info.st_mode):
                self._checker = None  # a child checks

    async def __aenter__(self) -> Utf8Check:
        if self._checker is None and sys.executable:
            with contextlib.suppress(OSError):
                self._child = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    __name__,
                    self._path,
                    str(self._max),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                )
        return self

    async def __aexit__(self, *exc: object) -> None:
        child, self._child = self._child, None
        if child is not None and child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()

    def feed(self, block: bytes) -> None:
        """Check one block read from the input, in order (unless a child does)."""
        if self._checker is not None:
            found = self._checker.feed(block)
            self._problems += found[: self._max - len(self._problems)]

    async def result(self) -> tuple[int, list[Problem]]:
        """The count of bad lines and the first of them."""
        if self._checker is not None:
            self._problems += self._checker.close()[: self._max - len(self._problems)]
            return self._checker.count, self._problems
        child = self._child
        if child is not None:
            out, _ = await child.communicate()
            if child.returncode == 0:
                with contextlib.suppress(ValueError, TypeError):
                    return _decode(out)
        return await asyncio.to_thread(check_file, self._path, self._max)


def _decode(out: bytes) -> tuple[int, list[Problem]]:
    report: dict[str, Any] = json.loads(out)
    problems = [Problem(int(n), cid, str(why)) for n, cid, why in report["problems"]]
    return int(report["count"]), problems


def main(argv: list[str]) -> None:
    path, max_problems = argv[0], int(argv[1])
    count, problems = check_file(path, max_problems)
    json.dump({"count": count, "problems": problems}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
