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
from ._io.reader import file_chunks, open_results
from ._models import Result, ResultError
from ._providers.batches import TERMINAL, BatchStatus

if TYPE_CHECKING:
    from ._job import Job

__all__ = (
    "decode_id",
    "download",
    "iter_chunk_results",
    "iter_results",
    "request_ids",
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


class _Id(msgspec.Struct):
    custom_id: str


_ID = msgspec.json.Decoder(_Id)


def decode_id(line: bytes) -> str:
    """The custom_id of one request line."""
    return _ID.decode(line).custom_id


async def request_ids(job: Job, path: str) -> AsyncIterator[str]:
    """The custom_ids of a requests file of the job (a chunk or a retry), in order."""
    framer = LineFramer()
    async for block in file_chunks(job.dir.chunk_path(path)):
        for frame in framer.feed(block):
            if isinstance(frame, Lines):
                for item in _ID.decode_lines(frame.data):
                    yield item.custom_id


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
        async for row in iter_chunk_results(
            job, chunk, with_response=with_response, schema=schema
        ):
            yield row


async def iter_chunk_results(
    job: Job, chunk: ChunkRecord, *, with_response: bool = False, schema: Any = None
) -> AsyncIterator[Result]:
    """The results of one chunk's requests (see :func:`iter_results`)."""
    done: set[str] = set()
    for record in reversed(chunk.batches):
        held = {cid async for cid in request_ids(job, chunk.path_of(record))}
        async for row in _attempt_rows(job, record, held, done, with_response, schema):
            yield row
        if len(held - done):
            async for cid in request_ids(job, chunk.path_of(record)):
                if cid not in done:
                    done.add(cid)
                    yield _missing(cid, record)


async def _attempt_rows(
    job: Job,
    record: BatchRecord,
    held: set[str],
    done: set[str],
    with_response: bool,
    schema: Any,
) -> AsyncIterator[Result]:
    """The rows of one attempt's downloaded files not yet given by a newer one."""
    succeeded = 0
    seen: set[str] = set()
    for kind in record.downloads:
        path = job.dir.download_path(record.batch_id or "", kind)
        async with open_results(
            path,
            provider=job.manifest.provider,
            with_response=with_response,
            schema=schema,
            batch_id=record.batch_id,
            attempt=record.attempt,
        ) as rows:
            async for row in rows:
                if row.custom_id not in held or row.custom_id in seen:
                    log.warning("%s: dropped a result for %r", path.name, row.custom_id)
                    continue
                seen.add(row.custom_id)
                succeeded += row.status == "succeeded"
                if row.custom_id not in done:
                    done.add(row.custom_id)
                    yield row
    if (
        record.succeeded is not None
        and record.downloads
        and succeeded != record.succeeded
    ):
        log.warning(
            "batch %s: the provider counts %d succeeded, the files hold %d",
            record.batch_id,
            record.succeeded,
            succeeded,
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
        async for record in iter_results(job, with_response=with_response):
            counts[record.status] += 1
            if only is not None and (record.status == "succeeded") != (
                only == "succeeded"
            ):
                continue
            _ENCODER.encode_into(record, buffer, -1)
            buffer.extend(b"\n")
            if len(buffer) >= 1 << 20:
                await file.write(bytes(buffer))
                buffer.clear()
        await file.write(bytes(buffer))
    await aiofiles.os.replace(temp, final)
    return counts
