"""Check that every byte of a large input file is UTF-8, on a second core.

A split decodes only the fields it checks, and checks the UTF-8 of every line as
it goes (``_core/split.py``). That check holds the GIL, in the thread that does
all the split's checking: with orjson it is about a quarter of that thread's
work, without it about as much as all the rest. So for a regular file of at least :data:`CHILD_BYTES` it is done by a child process that
reads the same file on its own (from the page cache, at the same time) while the
split runs without it. The child (``utf8_scan.py``, run by path so that it imports
nothing of streambatch) only says whether the file is all UTF-8; if not, or if it
could not run, the lines that are not are found here, after the split's pass
(:func:`check_file`, in a thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys

from .._core.requests import Problem
from .._core.utf8 import ORJSON_UTF8_ERROR, WHOLE, Utf8Checker
from . import utf8_scan

__all__ = ("CHILD_BYTES", "Utf8Check", "check_file")

CHILD_BYTES = 32 * 1024 * 1024
"""Inputs at least this large are checked by a child process."""

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
    """The UTF-8 check of a large input, by a child process.

    ``in_child`` says whether this checks the input (a regular file of at least
    ``child_bytes``); if not, the split must. ``await result()`` once the split's
    pass is over: the count of bad lines and the first ``max_problems``. Leaving
    the ``async with`` ends a child still running.
    """

    def __init__(
        self, path: str, max_problems: int, child_bytes: int | None = None
    ) -> None:
        if child_bytes is None:
            child_bytes = CHILD_BYTES
        self._path = path
        self._max = max_problems
        self._child: asyncio.subprocess.Process | None = None
        self.in_child = False
        with contextlib.suppress(OSError):
            info = os.stat(path)
            self.in_child = stat.S_ISREG(info.st_mode) and info.st_size >= child_bytes

    async def __aenter__(self) -> Utf8Check:
        if self.in_child and sys.executable:
            argv = [sys.executable, utf8_scan.__file__, self._path]
            if WHOLE is not None:
                argv.append(ORJSON_UTF8_ERROR)
            with contextlib.suppress(OSError):
                self._child = await asyncio.create_subprocess_exec(
                    *argv,
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

    async def result(self) -> tuple[int, list[Problem]]:
        """The count of bad lines and the first of them (none if not in a child)."""
        if not self.in_child:
            return 0, []
        child = self._child
        if child is not None:
            out, _ = await child.communicate()
            if child.returncode == 0 and out.strip() == b"ok":
                return 0, []
        return await asyncio.to_thread(check_file, self._path, self._max)
