"""Collect a job's results: download every ended batch's files, then read them back
as exactly one record per input ``custom_id``.

Downloads go to the job directory first (verified against their length, resumable),
so reading results again costs no network. Reading is streaming: memory holds one
chunk's set of custom_ids (at most the provider's requests per batch), never a
whole file.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import aiofiles
import aiofiles.os
import msgspec

from ._core.lines import LineFramer, Lines
from ._core.manifest import BatchRecord, ChunkRecord
from ._core.parse import ResultParser
from ._core.splice import RecordSplicer
from ._io.reader import file_chunks
from ._models import Result, ResultError
from ._providers.batches import TERMINAL, BatchStatus

if TYPE_CHECKING:
    from ._job import Job

__all__ = (
    "decode_id",
    "download",
    "iter_results",
    "request_ids",
    "result_batches",
    "write_results",
)

log = logging.getLogger("streambatch.collect")


async def download(job: Job) -> int:
    """Download the files of every ended batch not yet downloaded; return how many.

    Each file is checked against the size the provider gives for it (where it
    gives one). Once a batch's files are all on disk, its uploaded input file is
    deleted at the provider, unless the job keeps files.
    """
    count = 0
    for _, record in job.attempts():
        if record.batch_id is None or record.state not in TERMINAL:
            continue
        for item in job.api.downloads(_status_of(record)):
            if item.kind in record.downloads:
                continue
            expected = None
            if item.file_id is not None:
                expected = await job.transport.drive(job.api.file_size(item.file_id))
            path = job.dir.download_path(record.batch_id, item.kind)
            size = await job.transport.download(item.request, path, expected=expected)
            record.downloads[item.kind] = size
            job.save()
            count += 1
        if not record.downloaded:
            record.downloaded = True
            job.save()
        await _tidy(job, record)
    return count


async def _tidy(job: Job, record: BatchRecord) -> None:
    """Delete the batch's uploaded input file, once, unless the job keeps files."""
    if job.manifest.keep_files or record.file_id is None or record.file_deleted:
        return
    await job.transport.drive(job.api.delete_file(record.file_id))
    record.file_deleted = True
    job.save()


def _status_of(record: BatchRecord) -> BatchStatus:
    return BatchStatus(
        id=record.batch_id or "",
        state="completed",
        raw_state=str(record.state),
        output_file_id=record.output_file_id,
        error_file_id=record.error_file_id,
    )


class _Id(msgspec.Struct, gc=False):
    custom_id: str


_ID = msgspec.json.Decoder(_Id)


def decode_id(line: bytes) -> str:
    """The custom_id of one request line."""
    return _ID.decode(line).custom_id


async def request_ids(job: Job, path: str) -> AsyncIterator[list[str]]:
    """The custom_ids of a requests file of the job (a chunk or a retry), in
    order, a list per block read."""
    framer = LineFramer()
    async for block in file_chunks(job.dir.chunk_path(path)):
        for frame in framer.feed(block):
            if isinstance(frame, Lines):
                yield [item.custom_id for item in _ID.decode_lines(frame.data)]


async def iter_results(
    job: Job, *, with_response: bool = False, schema: Any = None
) -> AsyncIterator[Result]:
    """Every input request's result, exactly once: its latest attempt's.

    Chunk by chunk, attempts are read newest first; a custom_id already given a
    result by a newer attempt is skipped in older ones. A custom_id that an
    attempt held but whose files do not mention becomes an ``errored`` record of
    type ``missing`` (``batch_failed`` when the batch failed as a whole, with the
    provider's reasons). Lines for custom_ids the attempt did not hold are logged
    and dropped. A succeeded count that differs from the provider's is logged.

    Memory: two sets of custom_ids the size of one chunk.
    """
    for chunk in job.manifest.chunks:
        async for rows in result_batches(
            job, chunk, with_response=with_response, schema=schema
        ):
            for row in rows:
                yield row


async def result_batches(
    job: Job,
    chunk: ChunkRecord,
    *,
    with_response: bool = False,
    schema: Any = None,
    splice: bool = False,
) -> AsyncIterator[list[Result]]:
    """The results of one chunk's requests (see :func:`iter_results`), a list per
    block read: the records pass through no per-record generator on the way.

    ``splice`` gives records for encoding only, texts copied from the provider's
    bytes (see ``_core/splice.py``)."""
    done: set[str] = set()  # custom_ids given a result by a newer attempt
    attempts = chunk.batches[::-1]
    for position, record in enumerate(attempts):
        held = {
            cid async for ids in request_ids(job, chunk.path_of(record)) for cid in ids
        }
        older = position + 1 < len(attempts)
        # Strategy: one set of what this attempt still owes, each id removed as its
        # line arrives; what is left at the end is missing. The usual job has one
        # attempt per chunk, and then the set of all ids is used as it is.
        owed = held - done if done else (set(held) if older else held)
        attempt = _Attempt(record, owed, done)
        for kind in record.downloads:
            path = job.dir.download_path(record.batch_id or "", kind)
            parser = (RecordSplicer if splice else ResultParser)(
                job.manifest.provider,
                with_response=with_response,
                schema=schema,
                batch_id=record.batch_id,
                attempt=record.attempt,
                source=path.name,
            )
            async for block in file_chunks(path):
                if rows := attempt.fresh(parser.feed(block), path.name):
                    yield rows
            if rows := attempt.fresh(parser.close(), path.name):
                yield rows
        attempt.check_counts()
        if owed:
            yield [
                _missing(cid, record)
                async for ids in request_ids(job, chunk.path_of(record))
                for cid in ids
                if cid in owed
            ]
        if older:
            done |= held


class _Attempt:
    """Which records of one attempt's files to give, and how many succeeded."""

    __slots__ = ("_newer", "_owed", "_record", "_succeeded")

    def __init__(self, record: BatchRecord, owed: set[str], newer: set[str]) -> None:
        self._record = record
        self._owed = owed  # custom_ids of this attempt not yet given a result
        self._newer = newer  # custom_ids a newer attempt gave a result
        self._succeeded = 0

    def fresh(self, records: list[Result], source: str) -> list[Result]:
        """Keep the records of this attempt's own, new custom_ids."""
        rows = []
        owed = self._owed
        succeeded = 0
        for row in records:
            try:
                owed.remove(row.custom_id)
            except KeyError:
                if row.custom_id in self._newer:  # superseded: still this batch's line
                    succeeded += row.status == "succeeded"
                else:  # not this attempt's, or a second line for it
                    log.warning("%s: dropped a result for %r", source, row.custom_id)
                continue
            succeeded += row.status == "succeeded"
            rows.append(row)
        self._succeeded += succeeded
        return rows

    def check_counts(self) -> None:
        """Log a difference between the provider's succeeded count and the files'."""
        record = self._record
        if record.downloads and record.succeeded not in (None, self._succeeded):
            log.warning(
                "batch %s: the provider counts %d succeeded, the files hold %d",
                record.batch_id,
                record.succeeded,
                self._succeeded,
            )


def _missing(custom_id: str, record: BatchRecord) -> Result:
    if record.state == "failed":
        reasons = "; ".join(record.errors) or "the provider failed the batch"
        error = ResultError(type="batch_failed", message=reasons)
    elif record.batch_id is None:
        error = ResultError(type="missing", message="the request was never submitted")
    else:
        error = ResultError(
            type="missing",
            message=f"no result for this request in batch {record.batch_id} "
            f"(state {record.state})",
        )
    return Result(
        custom_id=custom_id,
        status="errored",
        error=error,
        batch_id=record.batch_id,
        attempt=record.attempt,
    )


_ENCODER = msgspec.json.Encoder()


async def write_results(
    job: Job,
    path: str | os.PathLike[str],
    *,
    with_response: bool = False,
    only: Literal["succeeded", "failed"] | None = None,
) -> Counter[str]:
    """Write every request's result to ``path`` as JSONL; count them by status.

    The file appears whole or not at all (written beside it, then renamed).
    ``only`` keeps the succeeded or the failed (everything else) records; the
    counts cover all of them.
    """
    counts: Counter[str] = Counter()
    final = Path(path)
    temp = final.with_name(final.name + ".partial")
    buffer = bytearray()
    async with aiofiles.open(temp, "wb") as file:
        for chunk in job.manifest.chunks:
            async for rows in result_batches(
                job, chunk, with_response=with_response, splice=True
            ):
                counts.update(row.status for row in rows)
                if only is not None:
                    keep = only == "succeeded"
                    rows = [r for r in rows if (r.status == "succeeded") == keep]
                buffer += _ENCODER.encode_lines(rows)
                if len(buffer) >= 1 << 20:
                    await file.write(bytes(buffer))
                    buffer.clear()
        await file.write(bytes(buffer))
    await aiofiles.os.replace(temp, final)
    return counts
