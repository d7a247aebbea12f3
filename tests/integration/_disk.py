"""A small tmpfs to run out of space on (needs root; tests skip without it)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
from collections.abc import Iterator

import pytest


class SmallDisk:
    """A mounted tmpfs at ``path``; ``fill`` leaves it nearly full, ``free`` undoes it."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self._filler = path / ".filler"

    def available(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave: int) -> None:
        """Take all but about ``leave`` bytes of the free space."""
        size = self.available() - leave
        with open(self._filler, "ab") as filler:
            filler.write(b"\0" * max(size, 0))

    def free(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._filler.unlink()


@contextlib.contextmanager
def small_disk(where: pathlib.Path, size: str) -> Iterator[SmallDisk]:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield SmallDisk(where)
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
