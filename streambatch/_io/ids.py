"""Spool custom_id records to disk and find the duplicates among them.

The edge around :mod:`streambatch._core.ids`. Records are kept in 256 in-memory
bucket buffers up to ``buffer_bytes`` in all; past that, the buffers are spilled as
one run file (the buckets one after the other, their offsets remembered) in a
temporary directory, and emptied. After the pass each bucket is put together from
its buffer and its segment of every run, and checked alone. Memory is one buffer
plus one bucket whatever the input size; an input whose records fit the buffer
(about 170,000 requests at the default 4 MiB) never touches the disk.
Spills are plain buffered writes: a record is 24 bytes, a few MiB per million
requests, not worth a thread hop.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import msgspec

from .._core.ids import BUCKETS, Ids, Placed, bucket_batches, bucket_records, candidates

__all__ = ("IdSpool", "read_custom_id")

_BUFFER_BYTES = 4 * 1024 * 1024


class _IdOnly(msgspec.Struct):
    custom_id: str


class _KeyOnly(msgspec.Struct):
    key: str


_ID_ONLY = msgspec.json.Decoder(_IdOnly)
_KEY_ONLY = msgspec.json.Decoder(_KeyOnly)


class IdSpool:
    """Custom_id records, in memory and spilled to runs in a directory under ``parent``.

    Args:
        parent: where a temporary directory is made if records must be spilled
            (the output directory: the records cost disk there, not tmpfs memory).
        buffer_bytes: how much to hold in memory before spilling.

    Use as a context manager; leaving it removes the spilled runs.
    """

    def __init__(
        self, parent: str | os.PathLike[str], buffer_bytes: int = _BUFFER_BYTES
    ) -> None:
        self._parent = parent
        self._dir: str | None = None
        self._buffers = [bytearray() for _ in range(BUCKETS)]
        self._buffered = 0
        self._limit = buffer_bytes
        self._runs: list[tuple[str, list[int]]] = []  # path, bucket offsets

    def __enter__(self) -> IdSpool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def add(self, ids: Iterable[tuple[str, int, int, int]]) -> None:
        """Record ``(custom_id, line_no, chunk_index, offset)`` of placed requests."""
        self._buffered += bucket_records(ids, self._buffers)
        if self._buffered >= self._limit:
            self._spill()

    def add_batches(self, batches: Iterable[Ids]) -> None:
        """Record placed requests given in bulk (see :class:`Ids`)."""
        self._buffered += bucket_batches(batches, self._buffers)
        if self._buffered >= self._limit:
            self._spill()

    def _spill(self) -> None:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix=".custom-ids-", dir=self._parent)
        path = os.path.join(self._dir, f"run-{len(self._runs)}")
        offsets = [0]
        with open(path, "wb") as file:
            for buffer in self._buffers:
                file.write(buffer)
                offsets.append(offsets[-1] + len(buffer))
                buffer.clear()
        self._runs.append((path, offsets))
        self._buffered = 0

    def duplicates(
        self, read_id: Callable[[int, int], str]
    ) -> Iterator[tuple[str, int, int]]:
        """Yield ``(custom_id, line_no, first_line_no)`` for each repeated id.

        Args:
            read_id: returns the custom_id of the line written at
                ``(chunk_index, offset)``; called only for fingerprint collisions.
        """
        files: list[BinaryIO] = [open(path, "rb") for path, _ in self._runs]  # noqa: SIM115
        try:
            for key in range(BUCKETS):
                bucket = self._bucket(key, files)
                for group in candidates(bucket):
                    yield from _repeats(group, read_id)
        finally:
            for file in files:
                file.close()

    def _bucket(self, key: int, files: list[BinaryIO]) -> bytes:
        parts = []
        for (_, offsets), file in zip(self._runs, files, strict=True):
            file.seek(offsets[key])
            parts.append(file.read(offsets[key + 1] - offsets[key]))
        parts.append(bytes(self._buffers[key]))
        return b"".join(parts)


def _repeats(
    group: list[Placed], read_id: Callable[[int, int], str]
) -> Iterator[tuple[str, int, int]]:
    first: dict[str, int] = {}
    for line_no, chunk, offset in group:
        custom_id = read_id(chunk, offset)
        if custom_id in first:
            yield custom_id, line_no, first[custom_id]
        else:
            first[custom_id] = line_no


def read_custom_id(path: str, offset: int, *, key: bool = False) -> str:
    """Read the custom_id of the line starting at ``offset`` of the file ``path``
    (``key``: the line holds it in ``key``, as Gemini's do)."""
    with open(path, "rb") as file:
        file.seek(offset)
        line = file.readline()
    return _KEY_ONLY.decode(line).key if key else _ID_ONLY.decode(line).custom_id
