"""Writes that land whole or not at all, and a full disk as its own error.

- ``write_all`` loops over ``os.write``, which may write fewer bytes than asked
  (a nearly full filesystem does); a short write is never taken for a whole one.
- ``replace_file`` writes beside the target, fsyncs when asked, and renames only
  a complete file: a reader sees the old file or the new one, whole. On any
  failure the temporary file is removed and the old file is left as it was.
- ``space_for`` turns ``ENOSPC`` / ``EDQUOT`` into :class:`DiskFull` (the path
  and the space needed), so that a full disk is never mistaken for a network
  fault and retried.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from .._errors import DiskFull

__all__ = (
    "discard_partial",
    "fsync_dir",
    "is_disk_full",
    "replace_file",
    "size_or_none",
    "space_for",
    "write_all",
)

_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says a filesystem ran out of space or quota."""
    return isinstance(exc, OSError) and exc.errno in _FULL


@contextlib.contextmanager
def space_for(
    path: str | os.PathLike[str], needed: int | None = None
) -> Iterator[None]:
    """Raise :class:`DiskFull` for ``path`` when the block runs out of space."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFull(os.fspath(path), needed) from exc
        raise


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write fewer)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # never seen, but would loop forever
            raise OSError(errno.EIO, "write wrote nothing")
        view = view[written:]


def replace_file(
    path: Path, data: bytes, *, durable: bool, temp: Path | None = None
) -> None:
    """Replace ``path`` with ``data`` atomically (see the module docstring).

    ``durable`` fsyncs the file before the rename and the directory after it,
    so the new content survives the machine crashing, not only the process.

    Raises:
        DiskFull: the filesystem is full; ``path`` is unchanged.
        OSError: any other failure; ``path`` is unchanged.
    """
    temp = temp or path.with_name(path.name + ".tmp")
    with space_for(path, len(data)):
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                write_all(fd, data)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        if durable:
            fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (a rename in it) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard_partial(
    path: str | os.PathLike[str], needed: int | None, exc: DiskFull
) -> DiskFull:
    """Remove a file cut short by a full disk (freeing what it held); the error
    to raise for it."""
    with contextlib.suppress(OSError):
        os.unlink(path)
    return DiskFull(os.fspath(path), needed or exc.needed)


def size_or_none(source: object) -> int | None:
    """The size of ``source`` if it is a readable file's path, else None."""
    if not isinstance(source, str | os.PathLike):
        return None
    try:
        return os.stat(source).st_size
    except (OSError, ValueError):
        return None
