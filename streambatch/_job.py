"""A job: split the input, create one batch per chunk, watch them, resume.

Every step is recorded in the manifest before the next begins, so a job killed at
any point resumes from its directory without creating a batch twice: the intent
(``creating_since``) is on disk before each create call, the batch id right after,
and a resumed job looks up any batch whose create was interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from ._collect import download, iter_results, write_results
from ._core.manifest import BatchRecord, ChunkRecord, Manifest
from ._core.policy import PollPolicy
from ._errors import AuthenticationError, HTTPStatusError, JobError, TransportError
from ._io.http import Transport
from ._io.jobdir import JobDir, sha256_file
from ._io.split import split_input, split_requests
from ._models import Result
from ._progress import Progress, progress_of
from ._providers.batches import TERMINAL, BatchAPI, BatchStatus, ChunkRef
from ._retry import plan_retry

__all__ = ("Job", "Sleep")

log = logging.getLogger("streambatch.job")
Sleep = Callable[[float], Awaitable[None]]
Source = str | os.PathLike[str] | Iterable[Any] | AsyncIterable[Any]
"""A job's requests: a JSONL file, or request objects (dicts or msgspec structs)."""


@contextlib.asynccontextmanager
async def _tasks() -> AsyncIterator[asyncio.TaskGroup]:
    """A TaskGroup that raises the first failure itself, not an ExceptionGroup.

    One failing task cancels its siblings (TaskGroup semantics); the others'
    errors, if any, are logged.
    """
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failures:
        first, *others = failures.exceptions
        for other in others:
            log.warning("also failed: %s", other)
        raise first from None


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

    def save(self) -> None:
        """Write the manifest (atomically)."""
        self.dir.save(self.manifest)

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
        existing = job_dir.load()
        if existing is not None:
            await _check_same_input(existing, source, api.name)
            return cls(job_dir, existing, api, transport)
        staging = job_dir.path / "chunks.partial"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            if isinstance(source, str | os.PathLike):
                plan = await split_input(
                    source,
                    api.name,
                    staging,
                    max_requests=max_requests,
                    max_bytes=max_bytes,
                )
            else:
                plan = await split_requests(
                    source,
                    api.name,
                    staging,
                    max_requests=max_requests,
                    max_bytes=max_bytes,
                )
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        job_id = uuid.uuid4().hex[:16]
        chunks = []
        for chunk in plan.chunks:
            name = Path(chunk.path).name
            os.replace(chunk.path, job_dir.path / "chunks" / name)
            os.chmod(job_dir.path / "chunks" / name, 0o600)
            tag = {"streambatch_job": job_id, "streambatch_chunk": str(chunk.index)}
            chunks.append(
                ChunkRecord(
                    index=chunk.index,
                    path=f"chunks/{name}",
                    n_requests=chunk.n_requests,
                    n_bytes=chunk.n_bytes,
                    first_line=chunk.first_line,
                    endpoint=chunk.group[0] if chunk.group else None,
                    batches=[
                        BatchRecord(attempt=1, tag=tag | {"streambatch_attempt": "1"})
                    ],
                )
            )
        shutil.rmtree(staging, ignore_errors=True)
        manifest = Manifest(
            job_id=job_id,
            provider=api.name,
            base_url=base_url,
            input_path=_absolute(source)
            if isinstance(source, str | os.PathLike)
            else "",
            input_sha256=plan.input_sha256,
            input_bytes=plan.input_bytes,
            n_requests=plan.n_requests,
            created_at=time.time(),
            chunks=chunks,
            keep_files=keep_files,
        )
        job_dir.save(manifest)
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

        async with _tasks() as group:
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
            self.save()
            log.info("chunk %d uploaded as %s", chunk.index, record.file_id)
        async with creating:
            await self._create(chunk, record)

    async def _create(self, chunk: ChunkRecord, record: BatchRecord) -> None:
        if record.creating_since is not None:
            known = frozenset(self._batch_ids())
            ref = self._ref(chunk, record)
            found = await self.transport.drive(self.api.find(ref, known))
            if found is not None:
                log.info("chunk %d: found batch %s from before", chunk.index, found)
                record.batch_id, record.state = found, "validating"
                self.save()
                return
        record.creating_since = time.time()
        self.save()  # the intent is on disk before the provider hears of it
        batch_id = await self.transport.drive(
            self.api.create(self._ref(chunk, record), record.file_id)
        )
        record.batch_id, record.state = batch_id, "validating"
        self.save()
        log.info("chunk %d: created batch %s", chunk.index, batch_id)

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
        transport and then by the next poll; an authentication error ends the wait.
        """
        policy = poll or PollPolicy()
        rng = rng or random.Random()
        gate = asyncio.Semaphore(concurrency)

        async def watch(record: BatchRecord) -> None:
            attempt = 0
            while record.state not in TERMINAL:
                try:
                    async with gate:
                        status = await self.transport.drive(
                            self.api.retrieve(record.batch_id or "")
                        )
                except (TransportError, HTTPStatusError) as exc:
                    if isinstance(exc, AuthenticationError):
                        raise
                    log.warning("poll of %s failed: %s", record.batch_id, exc)
                    delay = max(
                        policy.delay(attempt, rng), getattr(exc, "retry_after", 0) or 0
                    )
                    await sleep(delay)
                    attempt += 1
                    continue
                if _update(record, status):
                    self.save()
                    if on_progress is not None:
                        on_progress(self.progress())
                if record.state not in TERMINAL:
                    await sleep(policy.delay(attempt, rng))
                    attempt += 1

        async with _tasks() as group:
            for _, record in self.attempts():
                if record.batch_id is not None:
                    group.create_task(watch(record))
        return self.progress()

    async def cancel(self) -> list[BatchStatus]:
        """Cancel every batch of the job that has not ended; record it."""
        self.manifest.cancelled = True
        self.save()
        statuses = []
        for _, record in self.attempts():
            if record.batch_id is None or record.state in TERMINAL:
                continue
            status = await self.transport.drive(self.api.cancel(record.batch_id))
            _update(record, status)
            self.save()
            statuses.append(status)
        return statuses


def _absolute(path: str | os.PathLike[str]) -> str:
    return str(Path(path).absolute())


def _update(record: BatchRecord, status: BatchStatus) -> bool:
    """Copy a status into a record; say whether anything changed."""
    before = (record.state, record.total, record.succeeded, record.failed)
    record.state = status.state
    record.total = status.total
    record.succeeded = status.succeeded
    record.failed = status.failed
    record.output_file_id = status.output_file_id or record.output_file_id
    record.error_file_id = status.error_file_id or record.error_file_id
    record.errors = status.errors or record.errors
    return before != (record.state, record.total, record.succeeded, record.failed)


async def _check_same_input(manifest: Manifest, source: Source, provider: str) -> None:
    if manifest.provider != provider:
        raise JobError(
            f"the job directory holds a {manifest.provider} job, not {provider}"
        )
    if not isinstance(source, str | os.PathLike):
        log.info("resuming; requests given from Python are not checked again")
        return
    input_path = source
    digest = await sha256_file(input_path)
    if digest != manifest.input_sha256:
        raise JobError(
            f"{input_path} has changed since this job was submitted "
            f"(sha256 {digest[:12]}…, the job has {manifest.input_sha256[:12]}…); "
            "use a new --job-dir for a new input"
        )
