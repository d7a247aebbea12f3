"""Join results onto the input rows they answer, in bounded memory, in row order.

Strategy: a hash-partitioned join that spills to disk, then a merge back into
row order. Nothing holds a whole table, nor a dict of every custom_id.

1. Results, as they stream out of the ledger, go to one of B bucket files
   (Arrow IPC, in the job directory), by a hash of their custom_id.
2. The input rows are read again, a record batch at a time (the table file, or
   the job's own copy of rows given from Python), each beside its custom_id
   read from the rendered requests (line N is row N, so ids are never
   re-derived) and its row number; they go to the same B buckets by the same
   hash, in row order.
3. Each bucket's results are loaded (a dict over one bucket's custom_ids) and
   its rows joined to them, and the joined rows go to a run file, still in row
   order.
4. The B runs are merged by row number, a window of rows at a time: each run
   gives the rows of the window (a prefix of what it has left), and the
   window is sorted.

B is about one bucket per :data:`BUCKET_ROWS` requests, so memory holds one
bucket, one window and a small batch per run, whatever the table's size.
Input columns named like result columns are renamed ``input_<name>``. A row
whose result was left out (``--only``) is left out.
"""

from __future__ import annotations

import shutil
import zlib
from bisect import bisect_left
from collections import deque
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from .._collect import read_ids
from .._core.tables import TableSpec
from .._errors import JobError
from .._io.jobdir import sha256_file
from .._io.store import JobStore
from .arrays import integers, strings
from .deps import need
from .jobtable import TABLE_DIR
from .source import arrow_file
from .worker import Worker

__all__ = ("BUCKET_ROWS", "Join")

BUCKET_ROWS = 32_768
"""About how many rows one bucket of the join holds."""
MAX_BUCKETS = 512
WINDOW_ROWS = 16_384
"""Rows per record batch of the joined output."""
_RUN_BATCH = 2_048  # rows per batch of a run file: what the merge holds per run
_ROW = "__streambatch_row"


def _bucket_of(custom_ids: list[str], buckets: int) -> list[int]:
    return [zlib.crc32(c.encode()) % buckets for c in custom_ids]


class Join:
    """The join of one job's results onto its table's rows.

    Args:
        store: the job (the join's spill files go in its directory).
        spec: the job's table spec.
        result_schema: the results' Arrow schema.
        worker: the thread the Arrow work runs on.

    Raises:
        JobError: the table file changed since the job was made.
        ConfigError: pyarrow is not installed.
    """

    def __init__(
        self, store: JobStore, spec: TableSpec, result_schema: Any, worker: Worker
    ) -> None:
        self._worker = worker
        self._pa = need("pyarrow", "--join-input")
        self._ipc = need("pyarrow.ipc", "--join-input")
        self._store = store
        self._spec = spec
        self._source = spec.source or str(store.path / spec.rows)
        self._work = store.path / TABLE_DIR / "join"
        n_requests = store.manifest.n_requests
        self._buckets = max(1, min(MAX_BUCKETS, -(-n_requests // BUCKET_ROWS)))
        self._result_schema = result_schema
        input_schema, _ = arrow_file(self._source)
        taken = set(result_schema.names)
        self._input_names = list(input_schema.names)
        renamed = [
            f.with_name(f"input_{f.name}") if f.name in taken else f
            for f in input_schema
        ]
        pa = self._pa
        self._keyed_schema = pa.schema(
            [pa.field("custom_id", pa.string()), pa.field(_ROW, pa.int64()), *renamed]
        )
        self._run_schema = pa.schema(
            [*result_schema, pa.field(_ROW, pa.int64()), *renamed]
        )
        self.schema = pa.schema([*result_schema, *renamed])

    async def batches(self, results: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """The joined record batches, in row order, of the result batches
        ``results`` (read to the end before the first joined batch)."""
        digest = self._spec.source_sha256
        if digest and await sha256_file(self._source) != digest:
            raise JobError(
                f"{self._source} has changed since the job was made from it: "
                "its rows cannot be joined to the results"
            )
        shutil.rmtree(self._work, ignore_errors=True)
        self._work.mkdir(parents=True)
        try:
            writers = self._writers("results", self._result_schema)
            try:
                async for batch in results:
                    await self._worker.run(self._spread, batch, writers)
            finally:
                _close(writers)
            await self._spread_rows()
            for bucket in range(self._buckets):
                await self._worker.run(self._join_bucket, bucket)
            merge = self._merge()
            while (batch := await self._worker.run(next, merge, None)) is not None:
                yield batch
        finally:
            shutil.rmtree(self._work, ignore_errors=True)

    def _path(self, kind: str, bucket: int) -> Path:
        return self._work / f"{kind}-{bucket:04d}.arrow"

    def _writers(self, kind: str, schema: Any) -> list[Any]:
        return [
            self._ipc.new_stream(str(self._path(kind, b)), schema)
            for b in range(self._buckets)
        ]

    def _spread(self, batch: Any, writers: list[Any]) -> None:
        """Write each row of ``batch`` to its custom_id's bucket."""
        ids = batch.column("custom_id").to_pylist()
        groups: list[list[int]] = [[] for _ in writers]
        for index, bucket in enumerate(_bucket_of(ids, len(writers))):
            groups[bucket].append(index)
        for writer, rows in zip(writers, groups, strict=True):
            if rows:
                writer.write_batch(batch.take(integers(rows)))

    async def _spread_rows(self) -> None:
        """Read the input rows with their custom_ids and spread them."""
        _, rows = arrow_file(self._source)
        ids: deque[str] = deque()
        # the job's input is the rendered requests: line N is row N
        id_blocks = read_ids(self._store.manifest.input_path)
        writers = self._writers("rows", self._keyed_schema)
        first = 0
        try:
            while (batch := await self._worker.run(next, rows, None)) is not None:
                while len(ids) < batch.num_rows:
                    block = await anext(id_blocks, None)
                    if block is None:
                        raise JobError(
                            f"{self._source} has more rows than the job's requests"
                        )
                    ids.extend(block)
                keys = [ids.popleft() for _ in range(batch.num_rows)]
                keyed = self._keyed(batch, keys, first)
                await self._worker.run(self._spread, keyed, writers)
                first += batch.num_rows
        finally:
            _close(writers)
            await id_blocks.aclose()  # type: ignore[attr-defined]  # a generator

    def _keyed(self, batch: Any, keys: list[str], first: int) -> Any:
        pa = self._pa
        numbers = integers(range(first, first + batch.num_rows))
        columns = [batch.column(name) for name in self._input_names]
        return pa.RecordBatch.from_arrays(
            [strings(keys), numbers, *columns], schema=self._keyed_schema
        )

    def _join_bucket(self, bucket: int) -> None:
        """Join one bucket's rows to its results into a run file, in row order."""
        pa = self._pa
        results = self._read("results", bucket)
        rows = self._read("rows", bucket)
        position = {c: i for i, c in enumerate(results.column("custom_id").to_pylist())}
        found = [position.get(c) for c in rows.column("custom_id").to_pylist()]
        kept = [i for i, at in enumerate(found) if at is not None]
        if len(kept) != len(found):
            rows = rows.take(integers(kept))
            found = [found[i] for i in kept]
        answers = results.take(integers(found))
        joined = pa.Table.from_arrays(
            [*answers.columns, *rows.columns[1:]], schema=self._run_schema
        )
        with self._ipc.new_stream(
            str(self._path("run", bucket)), self._run_schema
        ) as out:
            for batch in joined.to_batches(max_chunksize=_RUN_BATCH):
                out.write_batch(batch)
        for kind in ("results", "rows"):
            self._path(kind, bucket).unlink()

    def _read(self, kind: str, bucket: int) -> Any:
        with (
            self._pa.OSFile(str(self._path(kind, bucket))) as file,
            self._ipc.open_stream(file) as reader,
        ):
            return reader.read_all()

    def _merge(self) -> Iterator[Any]:
        """The joined rows of every run, in row order, a window at a time."""
        pa = self._pa
        runs = [_Run(pa, self._ipc, self._path("run", b)) for b in range(self._buckets)]
        try:
            limit = 0
            while runs:
                limit += WINDOW_ROWS
                pieces = [piece for run in runs for piece in run.below(limit)]
                runs = [run for run in runs if not run.done]
                if not pieces:
                    continue
                window = pa.Table.from_batches(pieces, schema=self._run_schema)
                window = window.sort_by(_ROW).drop_columns([_ROW])
                yield from window.to_batches(max_chunksize=WINDOW_ROWS)
        finally:
            for run in runs:
                run.close()


class _Run:
    """One bucket's joined rows, read in order, a small batch at a time."""

    def __init__(self, pa: Any, ipc: Any, path: Path) -> None:
        # read, not memory-mapped: mapped pages would count as the process's
        self._file = pa.OSFile(str(path))
        self._reader = ipc.open_stream(self._file)
        self._batch: Any = None
        self._numbers: list[int] = []
        self._at = 0
        self.done = False

    def below(self, limit: int) -> list[Any]:
        """The run's next rows numbered below ``limit``."""
        pieces = []
        while not self.done:
            if self._at >= len(self._numbers):
                try:
                    self._batch = self._reader.read_next_batch()
                except StopIteration:
                    self.close()
                    break
                self._numbers = self._batch.column(_ROW).to_pylist()
                self._at = 0
                continue
            end = bisect_left(self._numbers, limit, self._at)
            if end > self._at:
                pieces.append(self._batch.slice(self._at, end - self._at))
                self._at = end
            if end < len(self._numbers):
                break
        return pieces

    def close(self) -> None:
        if not self.done:
            self.done = True
            self._reader.close()
            self._file.close()


def _close(writers: list[Any]) -> None:
    for writer in writers:
        writer.close()
