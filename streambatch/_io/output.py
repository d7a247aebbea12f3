"""Where results go, safely.

- ``-`` is standard output.
- A FIFO, a character or block device, or a socket that exists already is written
  through: it is never replaced by a regular file.
- Anything else is a regular file: written beside it as ``NAME.partial``, flushed
  to the disk, and renamed over ``NAME`` only when complete. On any failure
  (a full disk, a bad download, a cancellation) the ``.partial`` file is removed
  and an earlier ``NAME`` is left as it was.

:func:`check_output` refuses, before anything runs, a target that would destroy
what the job needs: its input file, a file inside its job directory, or a
directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiofiles

from .._errors import ConfigError
from .disk import fsync_dir, space_for

__all__ = ("STDOUT", "Output", "check_output", "open_output")

STDOUT = "-"


def check_output(
    target: str | os.PathLike[str],
    *,
    input_path: str | os.PathLike[str] | None,
    job_dir: str | os.PathLike[str],
) -> None:
    """Refuse a results target that is the input, inside the job, or a directory.

    Raises:
        ConfigError: the target cannot be used; nothing was done.
    """
    if os.fspath(target) == STDOUT:
        return
    shown = os.fspath(target)
    real = Path(os.path.realpath(target))
    if real.is_dir():
        raise ConfigError(f"results file {shown}: is a directory")
    if not real.parent.is_dir():
        raise ConfigError(f"results file {shown}: no directory {real.parent}")
    if input_path and _same_file(real, Path(input_path)):
        raise ConfigError(
            f"results file {shown}: is the job's input file; "
            "writing it would destroy the input"
        )
    job = Path(os.path.realpath(job_dir))
    if real == job or job in real.parents:
        raise ConfigError(
            f"results file {shown}: is inside the job directory {os.fspath(job_dir)}"
        )


def _same_file(a: Path, b: Path) -> bool:
    if a == Path(os.path.realpath(b)):
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


class Output:
    """An open results target: :meth:`write` bytes to it."""

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self._write = write

    async def write(self, data: bytes) -> None:
        """Write all of ``data``."""
        if data:
            await self._write(data)


@contextlib.asynccontextmanager
async def open_output(
    target: str | os.PathLike[str], *, needed: int | None = None
) -> AsyncIterator[Output]:
    """Open a results target (see the module docstring) for the ``async with`` block.

    ``needed`` is about how many bytes will be written, for a ``DiskFull``.

    Raises:
        DiskFull: the filesystem filled up; nothing of it is left behind.
    """
    if os.fspath(target) == STDOUT:
        stdout = sys.stdout.buffer
        yield Output(lambda data: asyncio.to_thread(stdout.write, data))
        await asyncio.to_thread(stdout.flush)
        return
    final, special = _resolve(target)
    with space_for(target, needed):
        if special:
            async with aiofiles.open(final, "wb", opener=_write_through) as file:
                yield Output(file.write)
            return
        temp = final.with_name(final.name + ".partial")
        try:
            # Opened on the loop (a local open is instant): a task cancelled while
            # a thread opened it would leave the file open, and undeletable on some
            # systems. Writes go to a thread.
            with open(temp, "wb") as file:  # noqa: ASYNC230  # see above
                yield Output(lambda data: asyncio.to_thread(file.write, data))
                await asyncio.to_thread(file.flush)
                await asyncio.to_thread(os.fsync, file.fileno())
            os.replace(temp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        fsync_dir(final.parent)


def _resolve(target: str | os.PathLike[str]) -> tuple[Path, bool]:
    """The real path of ``target`` (links followed: a link's target is written,
    the link kept), and whether it exists and is not a regular file."""
    path = Path(os.path.realpath(target))
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path, False
    return path, not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _write_through(path: str, flags: int) -> int:
    """Open an existing FIFO or device for writing: never create, never truncate."""
    return os.open(path, os.O_WRONLY)
