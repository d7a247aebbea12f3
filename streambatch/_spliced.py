"""Encode a provider's output file into result records on several cores.

The edge around :class:`streambatch._providers.splice.RecordSplicer`, for a writer of
results: the file is cut into byte ranges, each range is spliced and encoded by a
worker process (or, with one worker, in a thread of this one), and the encoded
blocks come back in file order, each record with its custom_id and status, so a
ledger can keep or drop lines without decoding them again.

A range owns the lines that *start* in it: a worker skips the line that holds
the byte before its start (the previous range's) and reads past its end to
finish its own last line. A worker numbers lines from its range's first, so the
few records that name a line number (``malformed_output``) are rebuilt here,
once the lines of every earlier range are counted: the bytes are the same for any
number of workers. Memory: ``2 * workers`` ranges in flight, each one range of
input and its encoded records. One :class:`WorkerPool` serves every file of a
job, so its processes start once.

Worker processes are started with ``spawn`` (a fork of a process running an
event loop and threads is unsafe); as with any ``multiprocessing`` code, a script
that uses more than one worker must guard its entry point with
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import BinaryIO, NamedTuple

import aiofiles.os

from ._core.lines import DEFAULT_MAX_LINE_BYTES, HEAD_BYTES, line_ends
from ._models import Result
from ._providers.parse import ResultParser
from ._providers.splice import EncodedBlock, RecordSplicer, encode_block

__all__ = (
    "RANGE_BYTES",
    "SHARED_MIN_BYTES",
    "Range",
    "WorkerPool",
    "encoded_blocks",
    "pool_for",
    "splice_range",
)

RANGE_BYTES = 4 * 1024 * 1024
"""How much of a file one worker takes at a time."""

SHARED_MIN_BYTES = 128 * 1024 * 1024
"""The least output, in all, that a write shares among worker processes.

Starting a worker costs about as much CPU as splicing 40-50 MB in a thread
(its interpreter and imports): on two CPUs, two workers were slower than one
thread over a 100 MB file and faster over a 240 MB job (docs/benchmarks.md)."""

_READ_BYTES = 1024 * 1024
_ENCODE = encode_block


class Range(NamedTuple):
    """One worker's share of one output file, and how to read it."""

    path: str
    start: int
    end: int
    provider: str
    batch_id: str | None
    attempt: int
    with_response: bool
    max_line_bytes: int
    source: str


class Spliced(NamedTuple):
    """A range's records; ``malformed``: (record index, line in the range, the
    line's first bytes, reason) of those that name their line."""

    block: EncodedBlock
    lines: int
    malformed: list[tuple[int, int, bytes, str]]


class _Splicer(RecordSplicer):
    """A splicer that remembers which records it made for bad lines."""

    __slots__ = ("found",)

    def __init__(self, task: Range) -> None:
        super().__init__(
            task.provider,
            with_response=task.with_response,
            batch_id=task.batch_id,
            attempt=task.attempt,
            max_line_bytes=task.max_line_bytes,
            source=task.source,
        )
        self.found: dict[int, tuple[int, bytes, str]] = {}

    def _malformed(self, line_no: int, head: bytes, reason: str) -> Result:
        record = super()._malformed(line_no, head, reason)
        self.found[id(record)] = (line_no, head[:HEAD_BYTES], reason)
        return record


def splice_range(task: Range) -> Spliced:
    """Splice and encode the lines that start in ``task``'s range (blocking)."""
    splicer = _Splicer(task)
    records: list[Result] = []
    with open(task.path, "rb") as file:
        position = _first_line_start(file, task.start)
        if position < task.end:  # a line starts in the range
            for block in _own_bytes(file, position, task.end):
                records += splicer.feed(block)
        records += splicer.close()
    found = splicer.found
    malformed = [
        (index, *found[id(record)])
        for index, record in enumerate(records)
        if id(record) in found
    ]
    return Spliced(_ENCODE(records), splicer.lines_seen, malformed)


def _first_line_start(file: BinaryIO, start: int) -> int:
    """Seek past the line holding byte ``start - 1``; return where the next starts."""
    if start == 0:
        return 0
    position = file.seek(start - 1)
    while block := file.read(_READ_BYTES):
        newline = block.find(b"\n")
        if newline >= 0:
            return file.seek(position + newline + 1)
        position += len(block)
    return position


def _own_bytes(file: BinaryIO, position: int, end: int) -> Iterator[bytes]:
    """The bytes from ``position`` to the end of the line holding byte ``end - 1``."""
    while block := file.read(_READ_BYTES):
        if position + len(block) >= end:
            newline = block.find(b"\n", max(end - 1 - position, 0))
            if newline >= 0:
                yield block[: newline + 1]
                return
        yield block
        position += len(block)


def pool_for(workers: int, total_bytes: int) -> WorkerPool:
    """A pool of ``workers`` processes for a write reading ``total_bytes`` of
    output files, or of one thread where that is less than
    :data:`SHARED_MIN_BYTES`: too little to pay for starting them."""
    return WorkerPool(workers if total_bytes >= SHARED_MIN_BYTES else 1)


class WorkerPool:
    """Processes that splice ranges, shared by every file a writer reads.

    The processes start when a file first needs them (one of more than one
    range), so a small job never starts any. Use as ``async with``.

    Args:
        workers: how many processes; 1 splices in a thread of this process.
        range_bytes: how much of a file one worker takes at a time (by default
            :data:`RANGE_BYTES`, or 1 MiB in a thread: its range is in memory).
    """

    def __init__(self, workers: int, *, range_bytes: int | None = None) -> None:
        self.workers = workers
        if range_bytes is None:
            range_bytes = RANGE_BYTES if workers > 1 else _READ_BYTES
        self.range_bytes = range_bytes
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, task: Range) -> Future[Spliced]:
        """Splice ``task`` in a worker process."""
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._pool.submit(splice_range, task)

    async def aclose(self) -> None:
        """Stop the processes (a range in flight ends first: a worker cannot be
        interrupted mid-range)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def __aenter__(self) -> WorkerPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def encoded_blocks(
    path: str | os.PathLike[str],
    provider: str,
    *,
    batch_id: str | None = None,
    attempt: int = 1,
    with_response: bool = False,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    source: str | None = None,
    pool: WorkerPool | None = None,
) -> AsyncIterator[EncodedBlock]:
    """The encoded records of an output file, in file order, a block per range.

    Args:
        path: the output (or error) file.
        provider: the provider whose output it is.
        batch_id: stamped on every record.
        attempt: stamped on every record.
        with_response: keep each raw response body in the record.
        max_line_bytes: the longest line accepted.
        source: names the file in error messages (its name by default).
        pool: the worker processes to splice in, and how the file is cut into
            ranges; without one (or for a file of one range) ranges are
            spliced in a thread of this process.

    The records (not the blocks) are the same for any ``pool``: those
    :class:`RecordSplicer` gives for the whole file.
    """
    name = os.fspath(path)
    size = (await aiofiles.os.stat(name)).st_size
    label = source if source is not None else os.path.basename(name)
    range_bytes = _READ_BYTES if pool is None else pool.range_bytes
    tasks = [
        Range(
            name,
            start,
            min(start + range_bytes, size),
            provider,
            batch_id,
            attempt,
            with_response,
            max_line_bytes,
            label,
        )
        for start in range(0, max(size, 1), range_bytes)
    ]
    rebuild = ResultParser(
        provider, batch_id=batch_id, attempt=attempt, source=label
    )  # makes the records of bad lines, with their line numbers in the file
    first = 0  # lines in the ranges before
    if pool is None or pool.workers <= 1 or len(tasks) == 1:
        for task in tasks:
            done = await asyncio.to_thread(splice_range, task)
            yield _numbered(done, first, rebuild)
            first += done.lines
        return
    window: list[Future[Spliced]] = []
    pending = iter(tasks)
    try:
        for task in pending:
            window.append(pool.submit(task))
            if len(window) >= 2 * pool.workers:
                break
        while window:
            done = await asyncio.wrap_future(window.pop(0))
            for task in pending:
                window.append(pool.submit(task))
                break
            yield _numbered(done, first, rebuild)
            first += done.lines
    finally:  # a range not started yet is not wanted any more
        for future in window:
            future.cancel()


def _numbered(done: Spliced, first: int, rebuild: ResultParser) -> EncodedBlock:
    """The block with its bad lines' records numbered from the file's start."""
    block = done.block
    if not done.malformed or not first:
        return block
    ends = block.ends
    pieces = [block.data[ends[i - 1] if i else 0 : ends[i]] for i in range(len(ends))]
    for index, line_no, head, reason in done.malformed:
        record = rebuild._malformed(first + line_no, head, reason)
        pieces[index] = _ENCODE([record]).data
    data = b"".join(pieces)
    return block._replace(data=data, ends=line_ends(data))
