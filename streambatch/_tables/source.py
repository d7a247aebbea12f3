"""Open a table, from a file or from Python, as batches of rows, in bounded memory.

Files: Parquet (``.parquet``, ``.pq``, or a directory of them: a dataset), CSV
(``.csv``) and JSON lines of rows (``.jsonl``, ``.ndjson``, ``.json``). From
Python: a pyarrow ``Table``, ``RecordBatch``, ``RecordBatchReader`` or
``Dataset``, a pandas or polars ``DataFrame``, or an iterable of dicts.

Parquet and CSV are read through pyarrow (the ``parquet`` extra), record batch by
record batch; JSON lines with msgspec, a block at a time. Nothing is read whole.
Iteration is synchronous: the caller runs each step in a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec

from .._core.lines import LineFramer, Lines, Overlong
from .._errors import ConfigError, InputError
from .deps import need

__all__ = ("BATCH_ROWS", "Table", "arrow_file", "open_table", "table_format")

BATCH_ROWS = 16_384
"""Rows per batch read (and rendered) at a time."""

_READ_BYTES = 1 << 20
_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def table_format(path: str | os.PathLike[str]) -> str:
    """``parquet``, ``csv`` or ``jsonl``, from a table file's name (a directory
    is a Parquet dataset).

    Raises:
        ConfigError: the name says none of them.
    """
    if Path(path).is_dir():
        return "parquet"
    found = _FORMATS.get(Path(path).suffix.lower())
    if found is None:
        known = ", ".join(sorted(_FORMATS))
        raise ConfigError(
            f"table {os.fspath(path)}: cannot tell its format from its name "
            f"(known: {known})"
        )
    return found


class Table:
    """An open table: its name, its columns (None when only the rows tell, as
    for JSON lines) and its rows, a batch at a time.

    Attributes:
        name: the file, or what was given from Python, for messages.
        path: the file's absolute path, or None for rows from Python.
        columns: the column names, in order, when known before reading.
    """

    def __init__(
        self,
        name: str,
        path: str | None,
        columns: list[str] | None,
        rows: Iterator[list[dict[str, Any]]],
    ) -> None:
        self.name = name
        self.path = path
        self.columns = columns
        self._rows = rows

    def next_rows(self) -> list[dict[str, Any]] | None:
        """The next batch of rows, or None at the end (blocking: run it in a thread).

        Raises:
            InputError: the file cannot be read as a table.
        """
        try:
            return next(self._rows, None)
        except (InputError, ConfigError):
            raise
        except Exception as exc:  # pyarrow's ArrowInvalid, a bad CSV row, ...
            raise InputError(f"cannot read the table: {exc}", path=self.name) from exc


def open_table(source: Any, *, batch_rows: int = BATCH_ROWS) -> Table:
    """Open ``source`` (see the module docstring) to read its rows.

    Raises:
        ConfigError: a format whose library is not installed, or a source that
            is not a table.
        InputError: the file is not a table of its format.
    """
    if isinstance(source, str | os.PathLike):
        return _open_file(os.fspath(source), batch_rows)
    module = type(source).__module__.split(".")[0]
    if module == "pyarrow":
        return _arrow_object(source, batch_rows)
    if module == "pandas" and hasattr(source, "iloc"):
        pa = need("pyarrow", "a pandas DataFrame as a table")
        columns = [str(c) for c in source.columns]
        frames = (
            source.iloc[i : i + batch_rows] for i in range(0, len(source), batch_rows)
        )
        rows = (
            pa.RecordBatch.from_pandas(f, preserve_index=False).to_pylist()
            for f in frames
        )
        return Table("<pandas DataFrame>", None, columns, rows)
    if module == "polars" and hasattr(source, "iter_slices"):
        slices = (s.to_dicts() for s in source.iter_slices(batch_rows))
        return Table("<polars DataFrame>", None, list(source.columns), slices)
    if isinstance(source, Iterable) and not isinstance(source, bytes | dict):
        return _dicts(iter(source), batch_rows)
    raise ConfigError(
        f"not a table: {type(source).__name__} (give a file, a pyarrow Table, "
        "Dataset or RecordBatchReader, a pandas or polars DataFrame, or dicts)"
    )


def _open_file(path: str, batch_rows: int) -> Table:
    absolute = str(Path(path).absolute())
    if table_format(path) == "jsonl":
        rows = _json_lines(path, batch_rows)
        first = next(rows, None)
        columns = list(first[0]) if first else []
        return Table(path, absolute, columns, _chain(first, rows))
    schema, batches = arrow_file(path, batch_rows)
    return Table(path, absolute, list(schema.names), (b.to_pylist() for b in batches))


def arrow_file(path: str, batch_rows: int = BATCH_ROWS) -> tuple[Any, Iterator[Any]]:
    """The Arrow schema and record batches of a table file (JSON lines take
    their column types from the first batch of rows; a column with no value
    there is text).

    Raises:
        ConfigError: pyarrow is not installed.
        InputError: the file is not a table of its format.
    """
    kind = table_format(path)
    try:
        if kind == "jsonl":
            return _arrow_json_lines(path, batch_rows)
        if kind == "parquet" and not Path(path).is_dir():
            pq = need("pyarrow.parquet", "reading a Parquet table")
            # not pre-buffered: pyarrow would hold every column chunk it reads
            parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
            batches = parquet.iter_batches(batch_size=batch_rows, use_threads=False)
            return parquet.schema_arrow, batches
        if kind == "parquet":
            ds = need("pyarrow.dataset", "reading a Parquet dataset")
            dataset = ds.dataset(path, format="parquet")
            batches = dataset.to_batches(
                batch_size=batch_rows, batch_readahead=1, fragment_readahead=1
            )
            return dataset.schema, batches
        csv = need("pyarrow.csv", "reading a CSV table")
        reader = csv.open_csv(path, read_options=csv.ReadOptions(use_threads=False))
        return reader.schema, iter(reader)
    except ConfigError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read the table: {exc}", path=path) from exc
    except Exception as exc:  # pyarrow: not a Parquet file, an empty CSV, ...
        raise InputError(f"not a {kind} table: {exc}", path=path) from exc


def _arrow_json_lines(path: str, batch_rows: int) -> tuple[Any, Iterator[Any]]:
    pa = need("pyarrow", "reading JSON lines as Arrow")
    rows = _json_lines(path, batch_rows)
    first = next(rows, None) or []
    inferred = pa.RecordBatch.from_pylist(first).schema
    schema = pa.schema(
        [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in inferred]
    )

    def batches() -> Iterator[Any]:
        for batch in _chain(first or None, rows):
            yield pa.RecordBatch.from_pylist(batch, schema=schema)

    return schema, batches()


def _arrow_object(source: Any, batch_rows: int) -> Table:
    pa = need("pyarrow", "a pyarrow table")
    name = f"<pyarrow {type(source).__name__}>"
    if isinstance(source, pa.Table):
        batches: Iterator[Any] = iter(source.to_batches(max_chunksize=batch_rows))
    elif isinstance(source, pa.RecordBatch):
        batches = iter([source])
    elif isinstance(source, pa.RecordBatchReader):
        batches = iter(source)
    elif hasattr(source, "to_batches") and hasattr(source, "schema"):  # a Dataset
        batches = iter(source.to_batches(batch_size=batch_rows))
    else:
        raise ConfigError(f"not a table: {name}")
    rows = (b.to_pylist() for b in batches)
    return Table(name, None, list(source.schema.names), rows)


def _dicts(items: Iterator[Any], batch_rows: int) -> Table:
    def batches() -> Iterator[list[dict[str, Any]]]:
        number = 0
        while batch := list(islice(items, batch_rows)):
            for offset, row in enumerate(batch):
                if not isinstance(row, dict):
                    raise InputError(
                        f"row {number + offset + 1} is a {type(row).__name__}, "
                        "not a dict of column values",
                        path="<rows>",
                    )
            number += len(batch)
            yield batch

    rows = batches()
    first = next(rows, None)
    columns = [str(c) for c in first[0]] if first else []
    return Table("<rows>", None, columns, _chain(first, rows))


def _chain(
    first: list[dict[str, Any]] | None, rest: Iterator[list[dict[str, Any]]]
) -> Iterator[list[dict[str, Any]]]:
    if first is not None:
        yield first
        yield from rest


_ROW = msgspec.json.Decoder(dict[str, Any])


def _json_lines(path: str, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
    """The rows of a JSON-lines table, ``batch_rows`` (or so) at a time."""
    framer = LineFramer()
    batch: list[dict[str, Any]] = []
    with open(path, "rb") as file:
        while True:
            block = file.read(_READ_BYTES)
            frames = framer.feed(block) if block else framer.close()
            for frame in frames:
                batch += _decode_rows(frame, path)
            if len(batch) >= batch_rows or (not block and batch):
                yield batch
                batch = []
            if not block:
                return


def _decode_rows(frame: Lines | Overlong, path: str) -> list[dict[str, Any]]:
    if isinstance(frame, Overlong):
        raise InputError("line too long for a row", path=path, line_no=frame.line)
    try:
        return _ROW.decode_lines(frame.data)
    except msgspec.DecodeError:
        pass
    rows = []  # find the bad line, to name it
    for number, line in enumerate(bytes(frame.data).split(b"\n"), frame.first_line):
        if not line.strip():
            continue
        try:
            rows.append(_ROW.decode(line))
        except msgspec.DecodeError as exc:
            raise InputError(
                f"not a JSON object of column values: {exc}", path=path, line_no=number
            ) from None
    return rows
