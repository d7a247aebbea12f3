"""Read a local file in large blocks, for the parse and the ledger.

Blocks of ``chunk_bytes`` (1 MiB by default: one thread hop per block, not per
line).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator

from .._core.lines import DEFAULT_MAX_LINE_BYTES

__all__ = ("CHUNK_BYTES", "file_chunks", "first_line")

CHUNK_BYTES = 1024 * 1024
"""How much is read per file read (and per thread hop)."""


async def file_chunks(
    path: str | os.PathLike[str], chunk_bytes: int = CHUNK_BYTES, offset: int = 0
) -> AsyncGenerator[bytes, None]:
    """Yield the bytes of ``path`` from ``offset`` on, ``chunk_bytes`` at a time.

    The file is opened on the event loop (a local open is instant), not in a
    thread: a task cancelled while a thread opened it would leave the file open
    with nobody to close it. Reads go to a thread.
    """
    with open(path, "rb") as file:  # noqa: ASYNC230  # see above
        if offset:
            file.seek(offset)
        while chunk := await asyncio.to_thread(file.read, chunk_bytes):
            yield chunk


def first_line(path: str | os.PathLike[str]) -> bytes:
    """The file's first non-blank line, at most the longest line accepted
    (blocking: call it in a thread)."""
    with open(path, "rb") as file:
        while line := file.readline(DEFAULT_MAX_LINE_BYTES):
            if line.strip():
                return line
    return b""
