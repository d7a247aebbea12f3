"""Write Arrow record batches of results as Parquet, CSV, JSON lines, or a
Parquet dataset directory, in bounded memory.

A file goes through ``_io.output`` like a JSONL results file (stdout, a FIFO
written through, else written beside the target and renamed when whole): the
pyarrow writer writes into a spool that is emptied to the target after every
batch, so memory holds one row group's encoded bytes. A dataset is a directory
of ``part-NNNNN.parquet`` files (each up to :data:`ROWS_PER_FILE` rows, in row
groups of the batches written) that DuckDB, Spark, polars, Ray and
``pyarrow.dataset`` read as one table; it is written beside the target
(``.NAME.partial``) and put in its place when whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import msgspec

from .._errors import ConfigError
from .._io.disk import fsync_dir
from .._io.output import STDOUT, Output, check_output, open_output
from .deps import need
from .worker import Worker

__all__ = (
    "ROWS_PER_FILE",
    "Format",
    "Sink",
    "check_target",
    "open_sink",
    "target_format",
)

Format = Literal["jsonl", "parquet", "csv", "dataset"]
"""What a results target is written as."""

ROWS_PER_FILE = 1_000_000
"""The most rows in one file of a dataset."""

_PART = "part-{:05d}.parquet"
_EXTENSIONS: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
}


def target_format(target: str | os.PathLike[str], asked: str | None) -> Format:
    """What ``target`` is to be written as: ``asked`` (``--format``), else by its
    name: a name ending in ``/`` is a Parquet dataset, ``.parquet`` a Parquet
    file, ``.csv`` CSV, anything else JSON lines. ``--format parquet`` on an
    existing directory is a dataset too."""
    name = os.fspath(target)
    is_dir = name != STDOUT and (name.endswith(("/", os.sep)) or Path(name).is_dir())
    if asked == "parquet" and is_dir:
        return "dataset"
    if asked is not None:
        return asked  # type: ignore[return-value]  # the parser's choices
    if name.endswith(("/", os.sep)):
        return "dataset"
    return _EXTENSIONS.get(Path(name).suffix.lower(), "jsonl")


def check_target(
    target: str | os.PathLike[str],
    fmt: Format,
    *,
    input_path: str | os.PathLike[str] | None,
    job_dir: str | os.PathLike[str],
) -> None:
    """Refuse a results target that would destroy what the job needs (see
    ``_io.output.check_output``); a dataset must not hold the input or the
    job, and an existing directory must be empty or a dataset of ours.

    Raises:
        ConfigError: the target cannot be used; nothing was done.
    """
    if fmt != "dataset":
        if Path(os.fspath(target)).is_dir() and os.fspath(target) != STDOUT:
            raise ConfigError(
                f"results file {os.fspath(target)}: is a directory (end it with / "
                "for a Parquet dataset)"
            )
        check_output(target, input_path=input_path, job_dir=job_dir)
        return
    shown = os.fspath(target)
    real = Path(os.path.realpath(target))
    if not real.parent.is_dir():
        raise ConfigError(f"results dataset {shown}: no directory {real.parent}")
    job = Path(os.path.realpath(job_dir))
    for kept, what in ((job, "the job directory"), (input_path, "the job's input")):
        if not kept:
            continue
        path = Path(os.path.realpath(kept))
        if path == real or real in path.parents or path in real.parents:
            raise ConfigError(f"results dataset {shown}: holds or is inside {what}")
    if real.is_dir() and any(not _ours(p.name) for p in real.iterdir()):
        raise ConfigError(
            f"results dataset {shown}: the directory holds other files than a "
            "results dataset's (part-*.parquet); use an empty or new directory"
        )
    if real.exists() and not real.is_dir():
        raise ConfigError(f"results dataset {shown}: is not a directory")


def _ours(name: str) -> bool:
    return name.startswith("part-") and name.endswith(".parquet")


class Sink:
    """Where record batches go: :meth:`write` each, then the block ends."""

    async def write(self, batch: Any) -> None:
        """Write one record batch (a Parquet row group)."""
        raise NotImplementedError


class _Spool:
    """A file-like object pyarrow writes into; its bytes are taken out after
    every batch (pyarrow only writes and asks the position)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class _ArrowSink(Sink):
    """Parquet or CSV through a pyarrow writer, emptied to ``out`` per batch."""

    def __init__(self, out: Output, fmt: Format, worker: Worker) -> None:
        self._worker = worker
        self._out = out
        self._format = fmt
        self._spool = _Spool()
        self._writer: Any = None

    async def write(self, batch: Any) -> None:
        if self._writer is None:
            self._writer = self._open(batch.schema)
        await self._worker.run(self._writer.write_batch, batch)
        await self._out.write(self._spool.take())

    def _open(self, schema: Any) -> Any:
        pa = need("pyarrow", "results as a table")
        file = pa.PythonFile(self._spool, mode="w")
        if self._format == "csv":
            csv = need("pyarrow.csv", "results as CSV")
            return csv.CSVWriter(file, schema)
        pq = need("pyarrow.parquet", "results as Parquet")
        return pq.ParquetWriter(file, schema, compression="zstd")

    async def close(self, schema: Any) -> None:
        if self._writer is None:  # no record: still a file with the columns
            self._writer = self._open(schema)
        await self._worker.run(self._writer.close)
        await self._out.write(self._spool.take())


def _default(value: Any) -> str:
    return str(value)


class _JsonSink(Sink):
    """Flat JSON lines of record batches (results joined onto their rows)."""

    def __init__(self, out: Output) -> None:
        self._out = out
        self._encoder = msgspec.json.Encoder(enc_hook=_default)

    async def write(self, batch: Any) -> None:
        await self._out.write(self._encoder.encode_lines(batch.to_pylist()))


class _DatasetSink(Sink):
    """``part-NNNNN.parquet`` files in a staging directory."""

    def __init__(self, folder: Path, worker: Worker) -> None:
        self._worker = worker
        self._folder = folder
        self._pq = need("pyarrow.parquet", "a results dataset")
        self._writer: Any = None
        self._rows = 0
        self._files = 0

    async def write(self, batch: Any) -> None:
        if self._writer is None or self._rows + batch.num_rows > ROWS_PER_FILE:
            await self._finish()
            path = self._folder / _PART.format(self._files)
            self._writer = self._pq.ParquetWriter(
                path, batch.schema, compression="zstd"
            )
            self._files += 1
            self._rows = 0
        await self._worker.run(self._writer.write_batch, batch)
        self._rows += batch.num_rows

    async def _finish(self) -> None:
        if self._writer is not None:
            await self._worker.run(self._writer.close)
            self._writer = None

    async def close(self, schema: Any) -> None:
        if self._writer is None and not self._files:  # no record: one empty part
            path = self._folder / _PART.format(0)
            self._writer = self._pq.ParquetWriter(path, schema, compression="zstd")
        await self._finish()


@contextlib.asynccontextmanager
async def open_sink(
    target: str | os.PathLike[str],
    fmt: Format,
    schema: Any,
    worker: Worker,
    *,
    needed: int | None,
) -> AsyncIterator[Sink]:
    """A sink writing ``fmt`` to ``target`` for the block; ``schema`` is the
    columns' when no batch was written (an empty table still has them).

    The target appears whole or not at all (see the module docstring).
    """
    if fmt == "dataset":
        async with _dataset(_real(target), schema, worker) as dataset:
            yield dataset
        return
    async with open_output(target, needed=needed) as out:
        if fmt == "jsonl":
            yield _JsonSink(out)
            return
        sink = _ArrowSink(out, fmt, worker)
        yield sink
        await sink.close(schema)


@contextlib.asynccontextmanager
async def _dataset(
    final: Path, schema: Any, worker: Worker
) -> AsyncIterator[_DatasetSink]:
    staging = final.with_name(f".{final.name}.partial")
    old = final.with_name(f".{final.name}.old")
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir()
    try:
        sink = _DatasetSink(staging, worker)
        yield sink
        await sink.close(schema)
        await worker.run(_put_in_place, staging, final, old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def _real(target: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(target))


def _put_in_place(staging: Path, final: Path, old: Path) -> None:
    """Flush the staged dataset to the disk and rename it over ``final`` (an
    earlier one is moved aside first, and removed after)."""
    for part in staging.iterdir():
        fd = os.open(part, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    fsync_dir(final.parent)
