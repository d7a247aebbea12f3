"""Send a job's failed requests again, as new batches recorded as attempt N.

For each chunk, the requests whose latest result is retryable (or, on request,
any failure) and whose attempts are under the cap are copied, byte for byte,
from the chunk file into a retry file; each retry file becomes one new batch of
the chunk. ``Job.results()`` then gives each custom_id its latest attempt's
result. Memory: one chunk's set of custom_ids.
"""

from __future__ import annotations

import logging
import os

from ._collect import decode_id, result_batches
from ._core.jobstate import retry_added, unfinished
from ._core.lines import LineFramer, Lines
from ._core.manifest import ChunkRecord
from ._core.outcome import is_retryable
from ._errors import JobError
from ._io.reader import file_chunks
from ._io.store import JobStore

__all__ = ("plan_retry",)

log = logging.getLogger("streambatch.retry")


async def plan_retry(
    store: JobStore, *, all_failures: bool = False, max_attempts: int = 3
) -> int:
    """Record a retry attempt for every chunk with failures; return how many requests.

    Call ``submit_all`` afterwards to create the new batches.

    Args:
        all_failures: retry every failure, permanent ones too.
        max_attempts: a request is sent at most this many times in all.

    Raises:
        JobError: a batch of the job has not ended or its files are not downloaded.
    """
    waiting = unfinished(store.manifest)
    if waiting:
        raise JobError(
            f"batch {waiting[0].batch_id or '(not created)'} has not ended or not "
            "been downloaded: wait for the job (streambatch wait) before retrying"
        )
    total = 0
    for chunk in store.manifest.chunks:
        wanted = {
            r.custom_id
            async for rows in result_batches(store, chunk)
            for r in rows
            if r.status != "succeeded"
            and (all_failures or is_retryable(r))
            and r.attempt < max_attempts
        }
        if wanted:
            total += await _add_attempt(store, chunk, wanted)
    return total


async def _add_attempt(store: JobStore, chunk: ChunkRecord, wanted: set[str]) -> int:
    attempt = chunk.batch.attempt + 1
    relative = f"chunks/retry-{chunk.index:05d}-{attempt}.jsonl"
    written = await _copy_lines(store, chunk.path, relative, wanted)
    store.add_attempt(chunk, retry_added(chunk, relative, written))
    log.info(
        "chunk %d: retrying %d requests as attempt %d", chunk.index, written, attempt
    )
    return written


async def _copy_lines(
    store: JobStore, source: str, target: str, wanted: set[str]
) -> int:
    """Copy the lines of ``source`` whose custom_id is in ``wanted``; count them."""
    framer = LineFramer()
    count = 0
    path = store.dir.chunk_path(target)
    # Small writes to a local file; created readable by the owner only.
    with open(path, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as out:  # noqa: ASYNC230
        async for block in file_chunks(store.dir.chunk_path(source)):
            for frame in framer.feed(block):
                if not isinstance(frame, Lines):
                    continue
                for line in bytes(frame.data).split(b"\n"):
                    if line.strip() and decode_id(line) in wanted:
                        out.write(line + b"\n")
                        count += 1
    return count
