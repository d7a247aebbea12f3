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

from ._core.ledger import ChunkLedger
from ._core.lines import LineFramer, Lines
from ._core.manifest import ChunkRecord, Cost
from ._core.pricing import CostTally, Price, request_model
from ._io.output import check_output, open_output
from ._io.reader import file_chunks
from ._io.store import JobStore
from ._models import Result
from ._providers.parse import ResultParser
from ._providers.splice import RecordSplicer

__all__ = (
    "ResultCounts",
    "counted_results",
    "decode_id",
    "iter_results",
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


async def request_ids(store: JobStore, path: str) -> AsyncIterator[list[str]]:
    """The custom_ids of a requests file of the job (a chunk or a retry), in
    order, a list per block read."""
    framer = LineFramer()
    async for block in file_chunks(store.dir.chunk_path(path)):
        for frame in framer.feed(block):
            if isinstance(frame, Lines):
                yield [i.custom_id or i.key for i in _ID.decode_lines(frame.data)]


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

    Memory: two sets of custom_ids the size of one chunk.
    """
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
    retried: list[str] = []
    ledger = ChunkLedger(chunk)
    if ledger.needs_retried:
        for record in chunk.batches[1:]:
            async for ids in request_ids(store, chunk.path_of(record)):
                retried += ids
        ledger = ChunkLedger(chunk, retried)
        del retried
    for record in ledger.newest_first():
        held = {
            cid
            async for ids in request_ids(store, chunk.path_of(record))
            for cid in ids
        }
        attempt = ledger.attempt(record, held)
        for kind in record.downloads:
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
            for custom_id in attempt.dropped:
                log.warning("%s: dropped a result for %r", path.name, custom_id)
            attempt.dropped.clear()
        mismatch = attempt.count_mismatch()
        if mismatch is not None:
            log.warning(
                "batch %s: the provider counts %d succeeded, the files hold %d",
                record.batch_id,
                *mismatch,
            )
        if attempt.owed:
            owed = attempt.owed
            yield [
                attempt.missing(cid)
                async for ids in request_ids(store, chunk.path_of(record))
                for cid in ids
                if cid in owed
            ]


_ENCODER = msgspec.json.Encoder()

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
                return request_model(store.manifest.provider, first)
    return ""


async def write_results(
    store: JobStore,
    path: str | os.PathLike[str],
    *,
    with_response: bool = False,
    only: Only | None = None,
    prices: Mapping[str, Price] | None = None,
) -> ResultCounts:
    """Write every request's result to ``path`` as JSONL; count them by status.

    A file appears whole or not at all (written beside it, then renamed);
    ``"-"`` is stdout, and a FIFO or device is written through. The input file,
    a file inside the job directory and a directory are refused (ConfigError).
    ``only`` keeps some of the records (:data:`Only`); the counts cover all of
    them. What their usage cost (at ``prices``, then the built-in table's) is
    counted and recorded in the job's manifest.
    """
    counts = ResultCounts()
    # Safe targets (stdout, a FIFO, a file renamed only when whole): _io.output.
    check_output(path, input_path=store.manifest.input_path, job_dir=store.path)
    sizes = sum(size for _, r in store.attempts() for size in r.downloads.values())
    buffer = bytearray()
    async with open_output(path, needed=sizes) as file:
        async for rows in counted_results(
            store,
            counts,
            with_response=with_response,
            only=only,
            prices=prices,
            splice=True,
        ):
            buffer += _ENCODER.encode_lines(rows)
            if len(buffer) >= 1 << 20:
                await file.write(bytes(buffer))
                buffer.clear()
        await file.write(bytes(buffer))
    return counts


async def counted_results(
    store: JobStore,
    counts: ResultCounts,
    *,
    with_response: bool = False,
    only: Only | None = None,
    prices: Mapping[str, Price] | None = None,
    splice: bool = False,
) -> AsyncIterator[list[Result]]:
    """Every request's result, a list per block read, the records ``only`` keeps
    (``splice``: for encoding only, see :func:`result_batches`); ``counts``
    counts them all by status, the truncated ones and (once every record is
    given) what they cost, which is recorded in the job's manifest."""
    tally = CostTally(prices)
    for chunk in store.manifest.chunks:
        used = [0, 0]  # input, output tokens
        async for rows in result_batches(
            store, chunk, with_response=with_response, splice=splice
        ):
            _count(rows, counts, used)
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


def _count(rows: list[Result], counts: ResultCounts, used: list[int]) -> None:
    """Add the records' statuses, truncated ones and tokens to the counts."""
    counts.update(row.status for row in rows)
    tokens_in = tokens_out = 0
    for row in rows:
        usage = row.usage
        if usage is not None:
            tokens_in += usage.input_tokens
            tokens_out += usage.output_tokens
        if row.stop_reason == "max_tokens":
            counts.truncated += 1
    used[0] += tokens_in
    used[1] += tokens_out
