"""Prove, or refuse, each batch a job took as its own by matching.

A provider without batch metadata (Anthropic) names nothing of ours on a batch:
after a lost create answer, a look-up finds a candidate by its size and time
(``_submit``), which may be another job's batch. Such a batch is recorded
``unverified``; it is polled like any other, but none of its results are used
(``_collect`` reads none of them) until, once it has ended, this module has
shown it is the attempt's:

1. no other job of this machine holds it (``_io.claims``: the job whose create
   call returned it takes it from an adopter);
2. the provider counts as many requests in it as the attempt has;
3. its results hold exactly the attempt's custom_ids (``_core.proof``),
   read from the downloaded files, streamed.

A batch that fails any of these is refused: its downloaded files are deleted,
this job's claim on it released, and the attempt goes back to its intent, so
that submitting looks for its batch again (passing over the refused one) and
creates it anew if there is none. A refused batch is left alone at the
provider: it is someone else's, never cancelled or deleted by this job.

Each step is recorded before the next; a job stopped at any point checks again
from what is on disk (a file recorded whole, or fetched again).
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from ._collect import block_ids, decode_id, request_ids
from ._core.jobstate import Action, adoption_proven, adoption_refused, download_lost
from ._core.lines import LineFramer, Lines
from ._core.manifest import BatchRecord, ChunkRecord
from ._core.proof import IdCheck
from ._download import fetch_planned
from ._errors import ResultsLost
from ._io.claims import holder, release
from ._io.http import Transport
from ._io.reader import file_chunks
from ._io.store import JobStore
from ._providers.batches import BatchAPI

__all__ = ("settle_adopted",)

log = logging.getLogger("streambatch.job")


async def settle_adopted(store: JobStore, api: BatchAPI, transport: Transport) -> int:
    """Prove or refuse every adopted batch of the job that has ended; return
    how many were refused (their attempts are to be submitted again)."""
    refused = 0
    for chunk, record in store.attempts():
        if store.next_action(record, uploads=api.uploads) is not Action.VERIFY:
            continue
        batch_id = record.batch_id or ""
        reason, record = await _refusal(store, api, transport, chunk, record)
        if reason is None:
            store.apply(chunk, adoption_proven(record))
            log.info(
                "chunk %d: batch %s is shown to be this job's", chunk.index, batch_id
            )
            continue
        await _refuse(store, chunk, record)
        refused += 1
        log.warning(
            "chunk %d: batch %s, found by matching, is not this job's (%s); "
            "it is left alone and the chunk is submitted anew",
            chunk.index,
            batch_id,
            reason,
        )
    return refused


async def _refusal(
    store: JobStore,
    api: BatchAPI,
    transport: Transport,
    chunk: ChunkRecord,
    record: BatchRecord,
) -> tuple[str | None, BatchRecord]:
    """Why the adopted batch is not the attempt's (None: it is), and the record
    as it now stands (its files downloaded)."""
    reason = await _held_elsewhere(store, record)
    if reason is not None:
        return reason, record
    size = chunk.size_of(record)
    if record.total is not None and record.total != size:
        return f"it holds {record.total} requests, the attempt {size}", record
    for kind in store.dir.damaged(record):  # missing or short: fetch it again
        record = store.apply(chunk, download_lost(record, kind))
    try:
        record = await fetch_planned(store, api, transport, chunk, record)
    except ResultsLost:
        return "its results are gone at the provider", record
    check = IdCheck(set(await request_ids(store, chunk.path_of(record))))
    for kind in record.downloads:
        if not await _feed(check, store, record, kind):
            break
    reason = check.refusal()
    if reason is None:  # held by this job still, now that the files are read
        reason = await _held_elsewhere(store, record)
    return reason, record


async def _held_elsewhere(store: JobStore, record: BatchRecord) -> str | None:
    """Why this job does not hold the batch in the registry, or None if it does."""
    held = await asyncio.to_thread(holder, record.batch_id or "")
    if held is None:
        return "this job holds no claim on it"
    if held.job_id != store.manifest.job_id:
        how = "created" if held.created else "adopted"
        return f"job {held.job_id} of this machine {how} it"
    return None


async def _feed(
    check: IdCheck, store: JobStore, record: BatchRecord, kind: str
) -> bool:
    """Feed the custom_ids of one downloaded file to ``check``; False once it
    has seen enough to refuse."""
    path = store.dir.checked_download(record, kind)  # its recorded size
    framer = LineFramer()
    async for block in file_chunks(path):
        for frame in framer.feed(block):
            if not _frame(check, frame, path.name):
                return False
    return all(_frame(check, frame, path.name) for frame in framer.close())


def _frame(check: IdCheck, frame: object, name: str) -> bool:
    if not isinstance(frame, Lines):  # an over-long line
        check.unreadable(f"an over-long line of {name}")
        return False
    try:
        return check.feed(block_ids(frame.data))
    except msgspec.DecodeError:
        pass
    for number, line in enumerate(bytes(frame.data).split(b"\n"), frame.first_line):
        if not line.strip():
            continue
        try:
            custom_id = decode_id(line)
        except msgspec.DecodeError:
            custom_id = ""
        if not custom_id:
            check.unreadable(f"line {number} of {name}")
            return False
        if not check.feed((custom_id,)):
            return False
    return True


async def _refuse(store: JobStore, chunk: ChunkRecord, record: BatchRecord) -> None:
    """Forget the batch: its files, this job's claim, then the record (in this
    order, so that a job stopped between refuses it again on resume)."""
    batch_id = record.batch_id or ""
    for planned in record.plan or []:
        store.dir.download_path(batch_id, planned.kind).unlink(missing_ok=True)
    await asyncio.to_thread(release, batch_id, store.manifest.job_id)
    store.apply(chunk, adoption_refused(record))
