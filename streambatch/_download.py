"""Download the files of every ended batch into the job directory, then tidy up.

Downloads run concurrently (a few at a time), each verified against the size the
provider gives for its file and resumable (``Transport.download``). A file
recorded before but now missing or of another size is fetched again; one the
provider no longer has is ``ResultsLost``, naming its batch. Once a batch's
files are all on disk, its uploaded input file is deleted at the provider, unless
the job keeps files. Every step is recorded through the store. A batch found
by matching and not yet proven the job's (``unverified``) is left to ``_proof``,
which downloads its files to check them.
"""

from __future__ import annotations

import asyncio
import logging

from ._core.flow import HttpRequest
from ._core.jobstate import (
    Action,
    download_lost,
    downloaded,
    input_deleted,
)
from ._core.manifest import BatchRecord, ChunkRecord
from ._io.failures import gone_is_lost
from ._io.http import Transport
from ._io.store import JobStore
from ._providers.batches import BatchAPI
from ._tasks import task_group

__all__ = ("download_all", "fetch_planned")

log = logging.getLogger("streambatch.collect")


async def download_all(
    store: JobStore, api: BatchAPI, transport: Transport, *, concurrency: int = 4
) -> int:
    """Download the files of every ended batch not yet on disk; return how many."""
    gate = asyncio.Semaphore(concurrency)
    count = 0

    async def one(chunk: ChunkRecord, record: BatchRecord) -> None:
        nonlocal count
        async with gate:
            before = len(record.downloads)
            record = await fetch_planned(store, api, transport, chunk, record)
            count += len(record.downloads) - before
            if store.next_action(record, uploads=api.uploads) is Action.DELETE_INPUT:
                await transport.drive(api.delete_file(record.file_id or ""))
                store.apply(chunk, input_deleted(record))

    for chunk, record in store.attempts():
        for kind in store.dir.damaged(record):  # missing or short: fetch it again
            record = store.apply(chunk, download_lost(record, kind))
    async with task_group() as group:
        for chunk, record in store.attempts():
            if store.next_action(record, uploads=api.uploads) in (
                Action.DOWNLOAD,
                Action.DELETE_INPUT,
            ):
                group.create_task(one(chunk, record))
    return count


async def fetch_planned(
    store: JobStore,
    api: BatchAPI,
    transport: Transport,
    chunk: ChunkRecord,
    record: BatchRecord,
) -> BatchRecord:
    """Download the ended batch's planned files not on disk yet, each recorded
    once whole; return the new record."""
    for item in record.plan or []:
        if item.kind in record.downloads:
            continue
        expected = None
        path = store.dir.download_path(record.batch_id or "", item.kind)
        request = HttpRequest(method="GET", path=item.path, query=item.query)
        with gone_is_lost(record.batch_id or "", item.kind):  # ResultsLost
            if item.file_id is not None:
                expected = await transport.drive(api.file_size(item.file_id))
            size = await transport.download(request, path, expected=expected)
        record = store.apply(chunk, downloaded(record, item.kind, size))
    return record
