"""Read a job's downloaded results back as exactly one record per input ``custom_id``.

Reading is streaming: memory holds one chunk's set of custom_ids (at most the
provider's requests per batch), never a whole file. The files were downloaded
first (``_download``), so reading results again costs no network.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import msgspec

from ._core.ledger import AttemptLedger, ChunkLedger
from ._core.lines import LineFramer, Lines
from ._core.manifest import BatchRecord, ChunkRecord, Cost, Tally
from ._core.pricing import CostTally, Price, request_model
from ._core.structure import structure_for
from ._io.idfile import chunk_ids
from ._io.output import check_output, open_output
from ._io.reader import file_chunks
from ._io.schemafile import load_schema
from ._io.store import JobStore
from ._models import Result
from ._providers import provider as provider_named
from ._providers.parse import ResultParser
from ._providers.splice import EncodedBlock, RecordSplicer, encode_block
from ._spliced import WorkerPool, encoded_blocks

__all__ = (
    "ResultCounts",
    "block_ids",
    "counted_results",
    "decode_id",
    "encoded_results",
    "iter_results",
    "read_ids",
    "request_ids",
    "result_batches",
    "write_results",
)

log = logging.getLogger("streambatch.collect")


class _Id(msgspec.Struct, gc=False):
    custom_id: str = ""
    key: str = ""  # Gemini's request lines carry their id in "key"


_ID = msgspec.json.Decoder(_Id)


def decode_id(line: bytes) -> str:
    """The custom_id of one request line."""
    item = _ID.decode(line)
    return item.custom_id or item.key


def block_ids(data: bytes | memoryview) -> list[str]:
    """The custom_ids of a run of whole JSON lines (blank lines skipped).

    Raises:
        msgspec.DecodeError: a line is not a JSON object.
    """
    return [i.custom_id or i.key for i in _ID.decode_lines(data)]


async def request_ids(store: JobStore, path: str) -> list[str]:
    """The custom_ids of a requests file of the job (a chunk or a retry), in
    order (from the file's sidecar once one is built: ``_io/idfile.py``)."""
    return await chunk_ids(store.dir.chunk_path(path), read_ids)


async def read_ids(path: str | os.PathLike[str]) -> AsyncIterator[list[str]]:
    """The custom_ids of a requests file, read from its lines, a list per block
    (streaming: for a file too large to hold its ids at once)."""
    framer = LineFramer()
    async for block in file_chunks(path):
        for frame in framer.feed(block):
            if isinstance(frame, Lines):
                yield block_ids(frame.data)


async def iter_results(
    store: JobStore, *, with_response: bool = False, schema: Any = None
) -> AsyncIterator[Result]:
    """Every input request's result, exactly once: its latest attempt's.

    Chunk by chunk, attempts are read newest first; a custom_id already given a
    result by a newer attempt is skipped in older ones. A custom_id that an
    attempt held but whose files do not mention becomes an ``errored`` record of
    type ``missing`` (``batch_failed`` when the batch failed as a whole, with the
    provider's reasons). Lines for custom_ids the attempt did not hold are logged
    and dropped. A succeeded count that differs from the provider's is logged.

    Memory: two sets of custom_ids the size of one chunk. ``schema`` None
    means the job's own, if it was submitted with one.
    """
    if schema is None:
        schema = structure_for(load_schema(store.path))
    for chunk in store.manifest.chunks:
        async for rows in result_batches(
            store, chunk, with_response=with_response, schema=schema
        ):
            for row in rows:
                yield row


async def result_batches(
    store: JobStore,
    chunk: ChunkRecord,
    *,
    with_response: bool = False,
    schema: Any = None,
    splice: bool = False,
) -> AsyncIterator[list[Result]]:
    """The results of one chunk's requests (see :func:`iter_results` and
    ``_core.ledger``), a list per block read: the records pass through no
    per-record generator on the way.

    ``splice`` gives records for encoding only, texts copied from the provider's
    bytes (see ``_providers/splice.py``)."""
    async for record, attempt in _attempts(store, chunk):
        # A batch found by matching is read only once it is proven the
        # attempt's (_proof): until then its requests are owed, as if running.
        for kind in () if record.unverified else record.downloads:
            path = store.dir.checked_download(record, kind)  # its recorded size
            parser = (RecordSplicer if splice else ResultParser)(
                store.manifest.provider,
                with_response=with_response,
                schema=schema,
                batch_id=record.batch_id,
                attempt=record.attempt,
                source=path.name,
            )
            async for block in file_chunks(path):
                if rows := attempt.fresh(parser.feed(block)):
                    yield rows
            if rows := attempt.fresh(parser.close()):
                yield rows
            _log_dropped(path.name, attempt)
        if rows := await _unanswered(store, chunk, record, attempt):
            yield rows


async def encoded_results(
    store: JobStore,
    chunk: ChunkRecord,
    *,
    with_response: bool = False,
    schema: Any = None,
    pool: WorkerPool | None = None,
) -> AsyncIterator[EncodedBlock]:
    """The results of one chunk's requests as :func:`result_batches` gives them
    (spliced), encoded as JSON lines: by ``pool``'s processes where a file is
    large enough to share (``_spliced``), the ledger keeping or dropping
    records by their custom_ids without decoding them again. Where texts must
    be checked against a ``schema`` (a splice parses none), or records may be
    renumbered (a chunk of three attempts or more), records are decoded."""
    if schema is not None or ChunkLedger(chunk).needs_retried:
        async for rows in result_batches(
            store,
            chunk,
            with_response=with_response,
            schema=schema,
            splice=schema is None,
        ):
            yield encode_block(rows)
        return
    async for record, attempt in _attempts(store, chunk):
        for kind in () if record.unverified else record.downloads:  # as above
            path = store.dir.checked_download(record, kind)  # its recorded size
            blocks = encoded_blocks(
                path,
                store.manifest.provider,
                batch_id=record.batch_id,
                attempt=record.attempt,
                with_response=with_response,
                source=path.name,
                pool=pool,
            )
            async for block in blocks:
                kept = attempt.keep(block.custom_ids, block.statuses)
                if len(kept) == len(block.ends):
                    yield block
                elif kept:
                    yield block.taken(kept)
            _log_dropped(path.name, attempt)
        if rows := await _unanswered(store, chunk, record, attempt):
            yield encode_block(rows)


async def _attempts(
    store: JobStore, chunk: ChunkRecord
) -> AsyncIterator[tuple[BatchRecord, AttemptLedger]]:
    """Each attempt of ``chunk``, newest first, with its ledger: the caller
    feeds it the attempt's files before asking for the next."""
    retried: list[str] = []
    ledger = ChunkLedger(chunk)
    if ledger.needs_retried:
        for record in chunk.batches[1:]:
            retried += await request_ids(store, chunk.path_of(record))
        ledger = ChunkLedger(chunk, retried)
        del retried
    for record in ledger.newest_first():
        held = set(await request_ids(store, chunk.path_of(record)))
        yield record, ledger.attempt(record, held)


def _log_dropped(name: str, attempt: AttemptLedger) -> None:
    for custom_id in attempt.dropped:
        log.warning("%s: dropped a result for %r", name, custom_id)
    attempt.dropped.clear()


async def _unanswered(
    store: JobStore, chunk: ChunkRecord, record: BatchRecord, attempt: AttemptLedger
) -> list[Result]:
    """Once an attempt's files are read: the records of the requests they did
    not answer (and a warning if the provider counted otherwise)."""
    mismatch = attempt.count_mismatch()
    if mismatch is not None:
        log.warning(
            "batch %s: the provider counts %d succeeded, the files hold %d",
            record.batch_id,
            *mismatch,
        )
    if not attempt.owed:
        return []
    owed = attempt.owed
    ids = await request_ids(store, chunk.path_of(record))
    return [attempt.missing(cid) for cid in ids if cid in owed]


Only = Literal["succeeded", "failed", "truncated"]
"""Which records a results file keeps: the succeeded, the failed (everything
else), or the truncated (cut off at the token limit: ``stop_reason``
``max_tokens``)."""


class ResultCounts(Counter[str]):
    """The records written, counted by status, with what the summary adds.

    Attributes:
        truncated: the records cut off at the token limit (``max_tokens``).
        cost: what the records' usage cost (also recorded in the manifest).
    """

    truncated: int = 0
    cost: Cost | None = None


async def chunk_model(store: JobStore, chunk: ChunkRecord) -> str:
    """The model the chunk's first request names: every request of an OpenAI
    or Gemini batch names the batch's one model (an Anthropic chunk that mixes
    models is priced as its first)."""
    framer = LineFramer()
    async for block in file_chunks(store.dir.chunk_path(chunk.path)):
        for frame in framer.feed(block):
            if isinstance(frame, Lines):
                first = bytes(frame.data).split(b"\n", 1)[0]
                shape = provider_named(store.manifest.provider).pricing.shape
                return request_model(shape, first)
    return ""


async def write_results(
    store: JobStore,
    path: str | os.PathLike[str],
    *,
    with_response: bool = False,
    only: Only | None = None,
    prices: Mapping[str, Price] | None = None,
    pool: WorkerPool | None = None,
) -> ResultCounts:
    """Write every request's result to ``path`` as JSONL; count them by status.

    A file appears whole or not at all (written beside it, then renamed);
    ``"-"`` is stdout, and a FIFO or device is written through. The input file,
    a file inside the job directory and a directory are refused (ConfigError).
    ``only`` keeps some of the records (:data:`Only`); the counts cover all of
    them. What their usage cost (at ``prices``, then the provider's table's) is
    counted and recorded in the job's manifest. A job submitted with a schema
    has each succeeded text checked against it, and gains ``parsed``.
    ``pool``'s processes (by default none: a thread of this one) share the
    encoding of large files; the bytes written are the same for any pool.
    """
    schema = structure_for(load_schema(store.path))
    counts = ResultCounts()
    errors: Counter[str] = Counter()  # failed records by error type
    tally = CostTally(provider_named(store.manifest.provider).pricing.prices, prices)
    # Safe targets (stdout, a FIFO, a file renamed only when whole): _io.output.
    check_output(path, input_path=store.manifest.input_path, job_dir=store.path)
    buffer = bytearray()
    pool = pool or WorkerPool(1)
    async with open_output(path, needed=store.downloaded_bytes()) as file, pool:
        for chunk in store.manifest.chunks:
            used = [0, 0, 0]  # input, output, cached input tokens
            blocks = encoded_results(
                store, chunk, with_response=with_response, schema=schema, pool=pool
            )
            async for block in blocks:
                buffer += _counted(block, counts, used, only)
                errors.update(t for t in block.error_types if t is not None)
                if len(buffer) >= 1 << 20:
                    await file.write(bytes(buffer))
                    buffer.clear()
            if any(used):
                tally.add(await chunk_model(store, chunk), *used)
        await file.write(bytes(buffer))
    counts.cost = tally.cost()
    store.record_cost(counts.cost)
    store.record_tally(Tally(statuses=dict(counts), errors=dict(errors)))
    return counts


async def counted_results(
    store: JobStore,
    counts: ResultCounts,
    *,
    with_response: bool = False,
    only: Only | None = None,
    prices: Mapping[str, Price] | None = None,
) -> AsyncIterator[list[Result]]:
    """Every request's result as a record, a list per block read, the records
    ``only`` keeps (for a table: ``_tables``); ``counts`` counts them all as
    :func:`write_results` does, and what they cost and their errors by type
    are recorded in the job's manifest once every record is given."""
    errors: Counter[str] = Counter()
    schema = structure_for(load_schema(store.path))
    tally = CostTally(provider_named(store.manifest.provider).pricing.prices, prices)
    for chunk in store.manifest.chunks:
        used = [0, 0, 0]  # input, output, cached input tokens
        async for rows in result_batches(
            store, chunk, with_response=with_response, schema=schema
        ):
            counts.update(r.status for r in rows)
            counts.truncated += sum(r.stop_reason == "max_tokens" for r in rows)
            for r in rows:
                if r.usage is not None:
                    used[0] += r.usage.input_tokens
                    used[1] += r.usage.output_tokens
                    used[2] += r.usage.cached_tokens or 0
            errors.update(r.error.type for r in rows if r.error is not None)
            if only == "truncated":
                rows = [r for r in rows if r.stop_reason == "max_tokens"]
            elif only is not None:
                keep = only == "succeeded"
                rows = [r for r in rows if (r.status == "succeeded") == keep]
            if rows:
                yield rows
        if any(used):
            tally.add(await chunk_model(store, chunk), *used)
    counts.cost = tally.cost()
    store.record_cost(counts.cost)
    store.record_tally(Tally(statuses=dict(counts), errors=dict(errors)))


def _counted(
    block: EncodedBlock, counts: ResultCounts, used: list[int], only: Only | None
) -> bytes:
    """Add the block's statuses, truncated records and tokens to the counts;
    return the records ``only`` keeps."""
    statuses, reasons = block.statuses, block.stop_reasons
    counts.update(statuses)
    counts.truncated += reasons.count("max_tokens")
    used[0] += sum(block.input_tokens)
    used[1] += sum(block.output_tokens)
    used[2] += sum(block.cached_tokens)
    if only is None:
        return block.data
    if only == "truncated":
        kept = [i for i, reason in enumerate(reasons) if reason == "max_tokens"]
    else:
        keep = only == "succeeded"
        kept = [
            i for i, status in enumerate(statuses) if (status == "succeeded") == keep
        ]
    return block.pick(kept)
