"""Create one batch per attempt that has none: upload, record the intent, create.

Every step is recorded through the store before the next begins, so a job killed
at any point resumes without creating a batch twice: the intent is on disk
(fsynced) before each create call, the batch id right after, and an attempt whose
create may have reached the provider is looked up before another is sent.

A batch found by its tag (OpenAI metadata, a Gemini display name) is the
attempt's. One found by matching (Anthropic) is adopted ``unverified``: claimed
for this job in the machine's registry first (``_io.claims``), and used only once
``_proof`` has shown, after it ended, that its custom_ids are the attempt's.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ._core.jobstate import (
    Action,
    Step,
    adopted,
    create_intended,
    created,
    uploaded,
)
from ._core.manifest import BatchRecord, ChunkRecord
from ._errors import JobError
from ._io.claims import claim, claimed
from ._io.http import Transport
from ._io.store import JobStore
from ._providers.batches import BatchAPI, ChunkRef
from ._tasks import task_group

__all__ = ("chunk_ref", "submit_all")

log = logging.getLogger("streambatch.job")


def chunk_ref(store: JobStore, chunk: ChunkRecord, record: BatchRecord) -> ChunkRef:
    """What the provider needs to know of an attempt to create its batch."""
    return ChunkRef(
        path=str(store.dir.chunk_path(chunk.path_of(record))),
        n_requests=chunk.size_of(record),
        endpoint=chunk.endpoint,
        model=chunk.model,
        tag=record.tag,
        since=record.creating_since or 0.0,
        completion_window=store.manifest.completion_window,
    )


async def submit_all(
    store: JobStore, api: BatchAPI, transport: Transport, *, concurrency: int = 4
) -> None:
    """Create a batch for every attempt that has none yet (the resumable step).

    Raises:
        JobError: the job was cancelled.
    """
    if store.manifest.cancelled or store.dir.cancel_requested():
        raise JobError(f"{store.path}: the job was cancelled")
    gate = asyncio.Semaphore(concurrency)
    # Untagged batches are matched by size and time after an interrupted
    # create: exact only if a single create is ever in flight.
    creating = asyncio.Semaphore(concurrency if api.tags else 1)
    submitter = _Submitter(store, api, transport)

    async def one(chunk: ChunkRecord, record: BatchRecord) -> None:
        async with gate:
            await submitter.submit(chunk, record, creating)

    async with task_group() as group:
        for chunk, record in store.attempts():
            if record.batch_id is None:
                group.create_task(one(chunk, record))


class _Submitter:
    def __init__(self, store: JobStore, api: BatchAPI, transport: Transport) -> None:
        self.store = store
        self.api = api
        self.transport = transport

    def _action(self, record: BatchRecord) -> Action:
        return self.store.next_action(record, uploads=self.api.uploads)

    async def submit(
        self, chunk: ChunkRecord, record: BatchRecord, creating: asyncio.Semaphore
    ) -> None:
        if self._action(record) is Action.UPLOAD:
            file_id = await self.transport.drive(
                self.api.upload(chunk_ref(self.store, chunk, record))
            )
            record = self._apply(chunk, uploaded(record, file_id))
            log.info("chunk %d uploaded as %s", chunk.index, file_id)
        async with creating:
            if self.store.dir.cancel_requested():
                raise JobError(f"{self.store.path}: the job was cancelled")
            await self._create(chunk, record)

    def _apply(self, chunk: ChunkRecord, step: Step) -> BatchRecord:
        return self.store.apply(chunk, step)

    async def _create(self, chunk: ChunkRecord, record: BatchRecord) -> None:
        """Create the attempt's batch exactly once, even across failures and crashes.

        The intent is on disk before any create call. Whenever a create may have
        reached the provider (an earlier process died, or a call failed without a
        clear "nothing was done"), the batch is looked up before another is sent;
        so a create is repeatable, and the one retry policy decides the rest.
        """
        look_first = self._action(record) is Action.LOOK_UP
        if not look_first:
            record = self._apply(chunk, create_intended(record, time.time()))
        job_id = self.store.manifest.job_id

        async def attempt() -> tuple[str, bool]:
            nonlocal look_first
            if look_first:
                found = await self._find(chunk, record)
                if found is not None:
                    log.info("chunk %d: found batch %s from before", chunk.index, found)
                    return found, True
            look_first = True  # from now on, a failed create may have landed
            made = await self.transport.drive(
                self.api.create(chunk_ref(self.store, chunk, record), record.file_id)
            )
            # The create's answer proves the batch is this job's: claimed as
            # such before it is recorded, so that no look-up of another job of
            # this machine takes it meanwhile (one that adopted it already loses
            # it at its proof). A job that dies between finds it again.
            if not await asyncio.to_thread(claim, made, job_id, created=True):
                raise JobError(f"batch {made} is claimed by another job's create")
            return made, False

        batch_id, found = await self.transport.retrying(
            attempt, idempotent=True, what=f"create of chunk {chunk.index}"
        )
        if found and not self.api.tags:
            self._apply(chunk, adopted(record, batch_id))
            log.info(
                "chunk %d: batch %s adopted; its results are used once its "
                "custom_ids are shown to be the chunk's",
                chunk.index,
                batch_id,
            )
            return
        self._apply(chunk, created(record, batch_id))
        log.info("chunk %d: batch %s", chunk.index, batch_id)

    async def _find(self, chunk: ChunkRecord, record: BatchRecord) -> str | None:
        """A batch an earlier create call made for this attempt, if there is one.

        Found by tag, it is the attempt's. Found by matching, it is a candidate:
        batches this job holds, any other job of this machine holds, or this
        attempt refused before are passed over, and the one found is claimed
        before it is adopted, so two jobs of one machine never hold the same
        batch (``_io.claims``); its proof comes once it has ended (``_proof``).
        """
        own = frozenset(b.batch_id for _, b in self.store.attempts() if b.batch_id)
        ref = chunk_ref(self.store, chunk, record)
        if self.api.tags:
            return await self.transport.drive(self.api.find(ref, own))
        job_id = self.store.manifest.job_id
        known = own | set(record.refused) | await asyncio.to_thread(claimed, job_id)
        while True:
            found = await self.transport.drive(self.api.find(ref, known))
            if found is None or await asyncio.to_thread(claim, found, job_id):
                return found
            known |= {found}  # another job claimed it meanwhile: look on
