"""Result records as Arrow columns: the one schema of results as a table.

Columns: custom_id, status, text, input_tokens, output_tokens, cached_tokens,
stop_reason, error_type, error_message, status_code, batch_id, attempt; then
the parsed values' columns of a job with a schema (``_tables.parsed``); then
``response`` (the raw response body, as JSON text) when it was asked for.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .._models import Result
from .arrays import integers, strings
from .deps import need
from .parsed import ParsedColumns

__all__ = ("RESULT_COLUMNS", "result_batch", "result_schema")

RESULT_COLUMNS = (
    "custom_id",
    "status",
    "text",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "stop_reason",
    "error_type",
    "error_message",
    "status_code",
    "batch_id",
    "attempt",
)
"""The columns of results as a table, in order (``response`` may follow)."""


def result_schema(
    *, with_response: bool = False, parsed: ParsedColumns | None = None
) -> Any:
    """The Arrow schema of results as a table (with ``parsed``'s columns)."""
    pa = need("pyarrow", "results as a table")
    fields = [
        pa.field("custom_id", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("cached_tokens", pa.int64()),
        pa.field("stop_reason", pa.string()),
        pa.field("error_type", pa.string()),
        pa.field("error_message", pa.string()),
        pa.field("status_code", pa.int32()),
        pa.field("batch_id", pa.string()),
        pa.field("attempt", pa.int32(), nullable=False),
    ]
    if parsed is not None:
        fields += parsed.fields()
    if with_response:
        fields.append(pa.field("response", pa.string()))
    return pa.schema(fields)


def result_batch(
    rows: list[Result],
    *,
    with_response: bool = False,
    parsed: ParsedColumns | None = None,
) -> Any:
    """The records ``rows`` as one Arrow record batch of :func:`result_schema`."""
    pa = need("pyarrow", "results as a table")
    schema = result_schema(with_response=with_response, parsed=parsed)
    usage = [r.usage for r in rows]
    error = [r.error for r in rows]
    columns: list[list[Any]] = [
        [r.custom_id for r in rows],
        [r.status for r in rows],
        [r.text for r in rows],
        [u.input_tokens if u is not None else None for u in usage],
        [u.output_tokens if u is not None else None for u in usage],
        [u.cached_tokens if u is not None else None for u in usage],
        [r.stop_reason for r in rows],
        [e.type if e is not None else None for e in error],
        [e.message if e is not None else None for e in error],
        [e.status_code if e is not None else None for e in error],
        [r.batch_id for r in rows],
        [r.attempt for r in rows],
    ]
    arrays = [
        strings(values)
        if field.type == pa.string()
        else integers(values, str(field.type))
        for values, field in zip(columns, schema, strict=False)
    ]
    if parsed is not None:
        arrays += parsed.arrays([_parsed(r) for r in rows])
    if with_response:
        arrays.append(strings([_raw_text(r.response) for r in rows]))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _parsed(row: Result) -> Any:
    """A record's parsed value, None when it has none (it errored)."""
    value = row.parsed
    return None if value is msgspec.UNSET or row.status != "succeeded" else value


def _raw_text(raw: Any) -> str | None:
    """A raw response body (``msgspec.Raw``) as text, None when there is none
    (``UNSET`` and an empty Raw are false)."""
    return bytes(raw).decode("utf-8") if raw else None
