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
from typing import Any

from ._collect import decode_id, result_batches
from ._core.jobstate import resendable, retry_added, unfinished
from ._core.lines import LineFramer, Lines
from ._core.manifest import ChunkRecord
from ._core.outcome import is_retryable
from ._core.structure import structure_for
from ._errors import JobError
from ._io.reader import file_chunks
from ._io.schemafile import load_schema
from ._io.store import JobStore

__all__ = ("plan_retry",)

log = logging.getLogger("streambatch.retry")


async def plan_retry(
    store: JobStore,
    *,
    all_failures: bool = False,
    max_attempts: int = 3,
    max_requests: int | None = None,
    max_bytes: int | None = None,
) -> int:
    """Record a retry attempt for every chunk with failures; return how many requests.

    Call ``submit_all`` afterwards to create the new batches.

    Args:
        all_failures: retry every failure, permanent ones too.
        max_attempts: a request is sent at most this many times in all.
        max_requests: at most this many requests per new batch (a chunk's
            retry becomes several batches: for a batch that failed for size).
        max_bytes: at most this many bytes per new batch (likewise).

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
    schema = structure_for(load_schema(store.path))  # its mismatches are failures
    for chunk in store.manifest.chunks:
        wanted = {
            r.custom_id
            async for rows in result_batches(store, chunk, schema=schema)
            for r in rows
            if r.status != "succeeded"
            and (all_failures or is_retryable(r))
            and r.attempt < max_attempts
        }
        if wanted:
            resendable(chunk)  # before any retry file is written
            parts = await _copy_lines(
                store, chunk, wanted, max_requests or len(wanted), max_bytes
            )
            store.add_attempts(chunk, retry_added(chunk, parts))
            count = sum(n for _, n in parts)
            log.info(
                "chunk %d: retrying %d requests in %d batches",
                chunk.index,
                count,
                len(parts),
            )
            total += count
    return total


async def _copy_lines(
    store: JobStore,
    chunk: ChunkRecord,
    wanted: set[str],
    max_requests: int,
    max_bytes: int | None,
) -> list[tuple[str, int]]:
    """Copy the chunk's lines whose custom_id is in ``wanted``, byte for byte,
    into retry files of at most ``max_requests`` lines and ``max_bytes`` bytes;
    return each file's path (relative to the job) and line count."""
    first = chunk.batch.attempt + 1
    parts: list[tuple[str, int]] = []
    out = None
    count = size = 0

    def start() -> Any:
        relative = f"chunks/retry-{chunk.index:05d}-{first + len(parts)}.jsonl"
        parts.append((relative, 0))
        # Small writes to a local file; created readable by the owner only.
        return open(  # closed below
            store.dir.chunk_path(relative),
            "wb",
            opener=lambda p, f: os.open(p, f, 0o600),
        )

    framer = LineFramer()
    try:
        async for block in file_chunks(store.dir.chunk_path(chunk.path)):
            for frame in framer.feed(block):
                if not isinstance(frame, Lines):
                    continue
                for line in bytes(frame.data).split(b"\n"):
                    if not line.strip() or decode_id(line) not in wanted:
                        continue
                    full = out is not None and (
                        count >= max_requests
                        or (max_bytes is not None and size + len(line) + 1 > max_bytes)
                    )
                    if out is None or full:
                        if out is not None:
                            out.close()
                            parts[-1] = (parts[-1][0], count)
                        out, count, size = start(), 0, 0
                    out.write(line + b"\n")
                    count += 1
                    size += len(line) + 1
    finally:
        if out is not None:
            out.close()
            parts[-1] = (parts[-1][0], count)
    return parts
