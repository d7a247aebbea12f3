"""Collect a job's results: download every ended batch's files, then read them back
as exactly one record per input ``custom_id``.

Downloads go to the job directory first (verified against their length, resumable),
so reading results again costs no network. Reading is streaming: memory holds one
chunk's set of custom_ids (at most the provider's requests per batch), never a
whole file.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec

from ._core.lines import LineFramer, Lines
from ._core.manifest import BatchRecord, ChunkRecord
from ._io.reader import file_chunks, open_results
from ._models import Result, ResultError
from ._providers.batches import TERMINAL, BatchStatus

if TYPE_CHECKING:
    from ._job import Job

__all__ = ("download", "iter_results")

log = logging.getLogger("streambatch.collect")


async def download(job: Job) -> int:
    """Download the files of every ended batch not yet downloaded; return how many."""
    count = 0
    for chunk in job.manifest.chunks:
        record = chunk.batch
        if record.batch_id is None or record.state not in TERMINAL:
            continue
        status = BatchStatus(
            id=record.batch_id,
            state="completed",
            raw_state=str(record.state),
            output_file_id=record.output_file_id,
            error_file_id=record.error_file_id,
        )
        for kind, request in job.api.downloads(status):
            if kind in record.downloads:
                continue
            path = job.dir.download_path(record.batch_id, kind)
            record.downloads[kind] = await job.transport.download(request, path)
            job.save()
            count += 1
    return count


class _Id(msgspec.Struct):
    custom_id: str


_ID_LINES = msgspec.json.Decoder(_Id)


async def _chunk_ids(job: Job, chunk: ChunkRecord) -> AsyncIterator[str]:
    """The custom_ids of a chunk file, in order."""
    framer = LineFramer()
    async for block in file_chunks(job.dir.chunk_path(chunk.path)):
        for frame in framer.feed(block):
            if isinstance(frame, Lines):
                for item in _ID_LINES.decode_lines(frame.data):
                    yield item.custom_id


async def iter_results(
    job: Job, *, with_response: bool = False, schema: Any = None
) -> AsyncIterator[Result]:
    """Every input request's result, exactly once, chunk by chunk.

    A custom_id that appears in no downloaded file becomes an ``errored`` record of
    type ``missing`` (``batch_failed`` when its batch failed as a whole, with the
    provider's reasons). Result lines for unknown or repeated custom_ids are
    logged and dropped. A chunk whose succeeded count differs from the provider's
    count is logged as a warning.
    """
    for chunk in job.manifest.chunks:
        expected = {cid async for cid in _chunk_ids(job, chunk)}
        seen: set[str] = set()
        statuses: Counter[str] = Counter()
        record = chunk.batch
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
                    if row.custom_id not in expected or row.custom_id in seen:
                        log.warning(
                            "%s: dropped a result for %r", path.name, row.custom_id
                        )
                        continue
                    seen.add(row.custom_id)
                    statuses[row.status] += 1
                    yield row
        if record.succeeded is not None and statuses["succeeded"] != record.succeeded:
            log.warning(
                "batch %s: the provider counts %d succeeded, the files hold %d",
                record.batch_id,
                record.succeeded,
                statuses["succeeded"],
            )
        if len(seen) < len(expected):
            async for cid in _chunk_ids(job, chunk):
                if cid not in seen:
                    yield _missing(cid, record)


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
