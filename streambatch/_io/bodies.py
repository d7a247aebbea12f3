"""Request bodies too large for memory, read from disk as aiohttp sends them.

Files created here, and downloads, are readable by the owner only.
"""

from __future__ import annotations

import io
import os
import threading
from typing import Any

import aiofiles.os

from .._core.flow import JsonArrayUpload

__all__ = ("JsonArrayReader", "file_size", "private")


def private(path: str, flags: int) -> int:
    """Open as ``open()`` would, but create the file readable by the owner only."""
    return os.open(path, flags, 0o600)


async def file_size(path: str | os.PathLike[str]) -> int:
    try:
        return (await aiofiles.os.stat(path)).st_size
    except FileNotFoundError:
        return 0


class JsonArrayReader(io.RawIOBase):
    """The lines of a JSONL file read as the items of a JSON array.

    ``prefix``, then the file with each newline but the last turned into a comma
    (every line ends with a newline), then ``suffix``. aiohttp reads it in a
    worker thread; ``close()`` may come from the event loop at any moment (a
    cancelled upload), so reads and close share a lock.
    """

    def __init__(self, upload: JsonArrayUpload, size: int) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._head = upload.prefix
        self._tail = upload.suffix
        self._left = max(size - 1, 0)  # the file's bytes but its last newline
        self._file = open(upload.path, "rb")  # noqa: SIM115  # closed by close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._lock:
            if self.closed:
                raise ValueError("read from a closed upload body")
            view = memoryview(buffer).cast("B")
            if self._head:
                data, self._head = self._head[: len(view)], self._head[len(view) :]
            elif self._left:
                data = self._file.read(min(len(view), self._left))
                if not data:
                    raise OSError("the chunk file shrank while it was being sent")
                self._left -= len(data)
                data = data.replace(b"\n", b",")
            else:
                data, self._tail = self._tail[: len(view)], self._tail[len(view) :]
            view[: len(data)] = data
            return len(data)

    def close(self) -> None:
        with self._lock:
            self._file.close()
            super().close()
