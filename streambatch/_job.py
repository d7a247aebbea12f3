"""A job: split the input, create one batch per chunk, watch them, resume.

Every step is recorded in the manifest before the next begins, so a job killed at
any point resumes from its directory without creating a batch twice: the intent
(``creating_since``) is on disk before each create call, the batch id right after,
and a resumed job looks up any batch whose create was interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

from ._collect import download, iter_results, write_results
from ._core.manifest import BatchRecord, ChunkRecord, Manifest
from ._core.policy import PollPolicy, retry_waits
from ._errors import HTTPStatusError, JobError, TransportError
from ._io.failures import RETRYABLE
from ._io.http import Transport
from ._io.jobdir import JobDir
from ._models import Result
from ._poll import Sleep, apply_status, poll_all
from ._progress import Progress, progress_of
from ._providers.batches import TERMINAL, BatchAPI, BatchStatus, ChunkRef
from ._retry import plan_retry
from ._setup import Source, open_manifest
from ._tasks import task_group

__all__ = ("Job", "Sleep")

log = logging.getLogger("streambatch.job")


class Job:
    """A batch job and its directory. Made by ``Client.submit`` or ``Client.open``.

    Attributes:
        manifest: what the job did so far (read-only for callers).
    """

    def __init__(
        self, job_dir: JobDir, manifest: Manifest, api: BatchAPI, transport: Transport
    ) -> None:
        self.dir = job_dir
        self.manifest = manifest
        self.api = api
        self.transport = transport

    @property
    def path(self) -> Path:
        """The job directory."""
        return self.dir.path

    def close(self) -> None:
        """Release the job directory's lock (the job can be opened again later)."""
        self.dir.close()

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def download(self) -> int:
        """Download the files of every ended batch not yet on disk; return how many."""
        return await download(self)

    def results(
        self, *, with_response: bool = False, schema: Any = None
    ) -> AsyncIterator[Result]:
        """Every request's result, exactly once (see ``_collect.iter_results``).

        Call :meth:`download` first; results of batches not downloaded yet come
        out as ``missing``.
        """
        return iter_results(self, with_response=with_response, schema=schema)

    async def retry_failed(
        self, *, all_failures: bool = False, max_attempts: int = 3
    ) -> int:
        """Resubmit the failed requests as new batches (attempt N); return how many.

        Only retryable failures (expired, canceled, missing, server and rate-limit
        errors) unless ``all_failures``; a request is sent at most
        ``max_attempts`` times. Wait for the new batches with :meth:`wait`.

        Raises:
            JobError: a batch has not ended or has not been downloaded yet.
        """
        count = await plan_retry(
            self, all_failures=all_failures, max_attempts=max_attempts
        )
        if count:
            await self.submit()
        return count

    async def write_results(
        self,
        path: str | os.PathLike[str],
        *,
        with_response: bool = False,
        only: Literal["succeeded", "failed"] | None = None,
    ) -> Counter[str]:
        """Write one JSON line per request to ``path``; return the counts by status.

        Call :meth:`download` first. ``only`` keeps the succeeded records or the
        failed ones (errored, expired, canceled); the counts cover all.
        """
        return await write_results(self, path, with_response=with_response, only=only)

    def progress(self) -> Progress:
        """Batches per state and requests done, from the last poll."""
        return progress_of(self.manifest)

    def save(self, *, durable: bool = True) -> None:
        """Write the manifest (atomically; ``durable``: flushed to the disk too)."""
        self.dir.save(self.manifest, durable=durable)

    @classmethod
    async def create(
        cls,
        source: Source,
        job_dir: JobDir,
        api: BatchAPI,
        transport: Transport,
        *,
        base_url: str,
        max_requests: int | None = None,
        max_bytes: int | None = None,
        keep_files: bool = False,
    ) -> Job:
        """Split ``source`` into the job directory, or resume what is there.

        ``source`` is a JSONL file, or an (async) iterable of request objects in
        the provider's native line shape. On resume a file is checked against
        the hash recorded at submission; an iterable is not read again.

        Raises:
            InputError: a line of the input is invalid (nothing was submitted).
            JobError: the directory holds a job for another input or provider.
        """
        manifest = await open_manifest(
            source,
            job_dir,
            api.name,
            base_url=base_url,
            max_requests=max_requests,
            max_bytes=max_bytes,
            keep_files=keep_files,
        )
        return cls(job_dir, manifest, api, transport)

    def attempts(self) -> list[tuple[ChunkRecord, BatchRecord]]:
        """Every (chunk, attempt) pair, in chunk order."""
        return [(c, b) for c in self.manifest.chunks for b in c.batches]

    def _ref(self, chunk: ChunkRecord, record: BatchRecord) -> ChunkRef:
        return ChunkRef(
            path=str(self.dir.chunk_path(chunk.path_of(record))),
            n_requests=chunk.size_of(record),
            endpoint=chunk.endpoint,
            tag=record.tag,
            since=record.creating_since or 0.0,
        )

    async def submit(self, *, concurrency: int = 4) -> None:
        """Create a batch for every chunk that has none yet (the resumable step)."""
        if self.manifest.cancelled:
            raise JobError(f"{self.path}: the job was cancelled")
        gate = asyncio.Semaphore(concurrency)
        # Untagged batches are matched by size and time after an interrupted
        # create: exact only if a single create is ever in flight.
        creating = asyncio.Semaphore(concurrency if self.api.tags else 1)

        async def one(chunk: ChunkRecord, record: BatchRecord) -> None:
            async with gate:
                await self._submit_chunk(chunk, record, creating)

        async with task_group() as group:
            for chunk, record in self.attempts():
                if record.batch_id is None:
                    group.create_task(one(chunk, record))

    async def _submit_chunk(
        self, chunk: ChunkRecord, record: BatchRecord, creating: asyncio.Semaphore
    ) -> None:
        if self.api.uploads and record.file_id is None:
            record.file_id = await self.transport.drive(
                self.api.upload(self._ref(chunk, record))
            )
            # Not flushed on its own: the intent, next, is. Lost, it costs a
            # second upload of the chunk, never a second batch.
            self.save(durable=False)
            log.info("chunk %d uploaded as %s", chunk.index, record.file_id)
        async with creating:
            await self._create(chunk, record)

    async def _create(self, chunk: ChunkRecord, record: BatchRecord) -> None:
        """Create the attempt's batch exactly once, even across failures and crashes.

        Strategy: the intent (``creating_since``) is on disk before any create call.
        Whenever a create may have reached the provider (a previous process died,
        or the call failed without a clear "nothing was done"), the batch is looked
        up before another create is sent.
        """
        waits = retry_waits(self.transport.retry_policy, random.Random())
        next(waits)
        for attempt in range(1, self.transport.retry_policy.max_attempts + 1):
            if record.creating_since is not None and await self._found(chunk, record):
                return
            if record.creating_since is None:
                record.creating_since = time.time()
                self.save()  # the intent is on disk before the provider hears of it
            try:
                batch_id = await self.transport.drive(
                    self.api.create(self._ref(chunk, record), record.file_id)
                )
            except (TransportError, HTTPStatusError) as exc:
                if (
                    not _may_retry_create(exc)
                    or attempt == self.transport.retry_policy.max_attempts
                ):
                    raise
                log.warning(
                    "chunk %d: create failed (%s); checking before retrying",
                    chunk.index,
                    exc,
                )
                await asyncio.sleep(waits.send(exc))
                continue
            record.batch_id, record.state = batch_id, "validating"
            self.save()
            log.info("chunk %d: created batch %s", chunk.index, batch_id)
            return

    async def _found(self, chunk: ChunkRecord, record: BatchRecord) -> bool:
        """Look for a batch an earlier create call made; adopt it if there is one."""
        known = frozenset(self._batch_ids())
        found = await self.transport.drive(
            self.api.find(self._ref(chunk, record), known)
        )
        if found is None:
            return False
        log.info("chunk %d: found batch %s from before", chunk.index, found)
        record.batch_id, record.state = found, "validating"
        self.save()
        return True

    def _batch_ids(self) -> list[str]:
        return [
            b.batch_id for c in self.manifest.chunks for b in c.batches if b.batch_id
        ]

    async def wait(
        self,
        *,
        poll: PollPolicy | None = None,
        on_progress: Callable[[Progress], object] | None = None,
        concurrency: int = 8,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> Progress:
        """Poll every unfinished batch, concurrently, until all have ended.

        Args:
            poll: the delays between polls of one batch.
            on_progress: called with a snapshot whenever a batch changes.
            concurrency: the most status requests in flight at once.
            sleep: the sleep function (tests pass a fast or recording one).
            rng: randomness for the poll jitter.

        Returns:
            The final progress snapshot.

        Transient failures of a poll (network, 429, 5xx) are retried by the
        transport and then by the next poll; any other error (a 401, a 404 for a
        batch the provider does not know) ends the wait.
        """
        return await poll_all(
            self,
            poll or PollPolicy(),
            on_progress=on_progress,
            concurrency=concurrency,
            sleep=sleep,
            rng=rng or random.Random(),
        )

    async def cancel(self) -> list[BatchStatus]:
        """Cancel every batch of the job that has not ended; record it."""
        self.manifest.cancelled = True
        self.save()
        statuses = []
        for _, record in self.attempts():
            if record.batch_id is None or record.state in TERMINAL:
                continue
            status = await self.transport.drive(self.api.cancel(record.batch_id))
            apply_status(record, status)
            self.save()
            statuses.append(status)
        return statuses


def _may_retry_create(exc: Exception) -> bool:
    """Whether a failed create is worth another try (after a look-up).

    A broken connection, a timeout or a 408/409/429/5xx may be transient; so is a
    404 for a file uploaded a moment ago (not yet visible everywhere). Anything
    else (a 400, an authentication error) would fail again.
    """
    if isinstance(exc, HTTPStatusError):
        return exc.status in RETRYABLE or exc.status == 404
    return isinstance(exc, TransportError)
