"""Results as tables: the ledger's records as Arrow record batches, written as
Parquet, CSV or a dataset (``results -o``), or handed to Python as a streaming
``pyarrow.RecordBatchReader`` (``job.to_arrow()``).

The records come from the same ledger stream as JSON-lines results, one per
request, and are turned into record batches of :data:`BATCH_ROWS` rows (one
Parquet row group each), so memory holds about one batch.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from .._collect import Only, ResultCounts, counted_results, result_batches
from .._core.pricing import Price
from .._core.structure import structure_for
from .._errors import ConfigError
from .._io.schemafile import load_schema
from .._io.store import JobStore
from .._models import Result
from .columns import result_batch, result_schema
from .deps import need
from .jobtable import read_spec
from .join import Join
from .parsed import Layout, ParsedColumns
from .sink import Format, check_target, open_sink, target_format
from .worker import Worker

__all__ = (
    "BATCH_ROWS",
    "arrow_reader",
    "check_results_target",
    "table_batches",
    "write_table_results",
)

BATCH_ROWS = 16_384
"""Rows per record batch (and Parquet row group) of results."""


def check_results_target(
    target: str | os.PathLike[str],
    asked: str | None,
    *,
    input_path: str | os.PathLike[str] | None,
    job_dir: str | os.PathLike[str],
) -> Format:
    """The format ``target`` is written as (``asked``: ``--format``), the target
    checked to be safe to write (before anything runs).

    Raises:
        ConfigError: the target would destroy the input or the job, or is a
            directory of other files.
    """
    fmt = target_format(target, asked)
    check_target(target, fmt, input_path=input_path, job_dir=job_dir)
    return fmt


async def _record_batches(
    rows: AsyncIterator[list[Result]],
    worker: Worker,
    *,
    with_response: bool,
    parsed: ParsedColumns | None,
) -> AsyncIterator[Any]:
    """Record batches of :data:`BATCH_ROWS` rows of the lists of records ``rows``."""
    pending: list[Result] = []
    options = {"with_response": with_response, "parsed": parsed}
    async for block in rows:
        pending += block
        while len(pending) >= BATCH_ROWS:
            head, pending = pending[:BATCH_ROWS], pending[BATCH_ROWS:]
            yield await worker.run(result_batch, head, **options)
    if pending:
        yield await worker.run(result_batch, pending, **options)


def parsed_columns(store: JobStore, layout: Layout) -> ParsedColumns | None:
    """The parsed columns of a job submitted with a schema (None without)."""
    schema = load_schema(store.path)
    return None if schema is None else ParsedColumns(schema, layout)


_LAYOUTS: dict[Format, Layout] = {
    "parquet": "columns",
    "dataset": "columns",
    "csv": "json",
    "jsonl": "struct",
}


def _join(store: JobStore, schema: Any, worker: Worker) -> Join:
    spec = read_spec(store.path)
    if spec is None:
        raise ConfigError(
            f"{store.path}: the job was not made from a table (--prompt), so "
            "there are no input rows to join"
        )
    return Join(store, spec, schema, worker)


async def table_batches(
    store: JobStore,
    rows: AsyncIterator[list[Result]],
    worker: Worker,
    *,
    with_response: bool = False,
    join_input: bool = False,
    layout: Layout = "columns",
) -> tuple[Any, AsyncIterator[Any]]:
    """The Arrow schema and record batches of the records ``rows`` (joined onto
    the job's input rows if ``join_input``); a job with a schema gains its
    parsed columns, laid out as ``layout`` (``_tables.parsed``)."""
    parsed = parsed_columns(store, layout)
    schema = result_schema(with_response=with_response, parsed=parsed)
    batches = _record_batches(rows, worker, with_response=with_response, parsed=parsed)
    if not join_input:
        return schema, batches
    join = await worker.run(_join, store, schema, worker)
    return join.schema, join.batches(batches)


async def write_table_results(
    store: JobStore,
    target: str | os.PathLike[str],
    fmt: str | None,
    *,
    with_response: bool = False,
    only: Only | None = None,
    prices: Mapping[str, Price] | None = None,
    join_input: bool = False,
) -> ResultCounts:
    """Write every request's result to ``target`` as a table; count them.

    ``fmt`` is ``--format`` (None: from the target's name). The counts, the
    cost and ``only`` are as for JSON lines (``_collect.write_results``).
    """
    resolved = check_results_target(
        target, fmt, input_path=store.manifest.input_path, job_dir=store.path
    )
    counts = ResultCounts()
    rows = counted_results(
        store, counts, with_response=with_response, only=only, prices=prices
    )
    with Worker() as worker:
        schema, batches = await table_batches(
            store,
            rows,
            worker,
            with_response=with_response,
            join_input=join_input,
            layout=_LAYOUTS[resolved],
        )
        async with open_sink(target, resolved, schema, worker, needed=None) as sink:
            async for batch in batches:
                await sink.write(batch)
    return counts


async def _every_result(
    store: JobStore, *, with_response: bool
) -> AsyncIterator[list[Result]]:
    schema = structure_for(load_schema(store.path))  # the job's own, if any
    for chunk in store.manifest.chunks:
        async for rows in result_batches(
            store, chunk, with_response=with_response, schema=schema
        ):
            yield rows


_DONE = object()


def arrow_reader(
    store: JobStore, *, with_response: bool = False, join_input: bool = False
) -> Any:
    """Every request's result as a streaming ``pyarrow.RecordBatchReader``.

    The records are read on an event loop of their own, in a worker thread,
    at most two batches ahead of the reader; closing the reader (or reading
    it to the end) stops it.
    """
    pa = need("pyarrow", "Job.to_arrow()")

    async def produce(put: Callable[[Any], bool]) -> None:
        rows = _every_result(store, with_response=with_response)
        with Worker() as worker:
            schema, batches = await table_batches(
                store, rows, worker, with_response=with_response, join_input=join_input
            )
            if not put(schema):
                return
            async for batch in batches:
                if not put(batch):
                    return

    items = _threaded(produce)
    schema = next(items)
    return pa.RecordBatchReader.from_batches(schema, items)


def _threaded(produce: Callable[[Callable[[Any], bool]], Any]) -> Iterator[Any]:
    """The items ``produce(put)`` puts, made on an event loop in a thread; an
    exception there is raised here. ``put`` returns False once the consumer
    has gone (the generator was closed)."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=2)
    gone = threading.Event()

    def put(item: Any) -> bool:
        while not gone.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            asyncio.run(produce(put))
            put(_DONE)
        except BaseException as exc:
            put(exc)

    thread = threading.Thread(target=run, name="streambatch-to-arrow", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        gone.set()
        thread.join()
