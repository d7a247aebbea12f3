"""The parsed values of a structured job as Arrow columns, shaped for a format.

A job submitted with a JSON Schema (``--schema``, ``schema=``) gains columns
after the fixed ones (``_tables.columns``), built per record batch:

- ``columns`` (Parquet files, datasets, ``Job.to_arrow()``): one typed column
  per property of a top-level object schema, named ``parsed_<property>``
  (no fixed column starts with ``parsed_``); nested objects are structs,
  arrays lists, enums their type (see ``_arrow_types``). A schema that is not
  an object with properties gives one typed ``parsed`` column.
- ``struct`` (joined JSON lines): one ``parsed`` column holding the whole value,
  so a line carries a ``parsed`` object as unjoined JSON lines do.
- ``json`` (CSV, which has no nested types): one ``parsed`` column holding the
  value's JSON text.

Every such column is nullable: a record that errored (a schema mismatch
included) has nulls there, and so does an absent optional property, and a
value that matched its schema but that Arrow's types cannot hold (an integer
beyond 64 bits).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from .arrays import strings
from .deps import need

__all__ = ("PREFIX", "Layout", "ParsedColumns")

Layout = Literal["columns", "struct", "json"]
"""How the parsed values are laid out (see the module docstring)."""

PREFIX = "parsed_"
"""What a property's column is named by (``parsed_city``)."""


class ParsedColumns:
    """The parsed columns of one job's schema, laid out as ``layout``."""

    def __init__(self, schema: Mapping[str, Any], layout: Layout) -> None:
        need("pyarrow", "typed columns of structured outputs")
        from .. import _arrow_types  # pyarrow is there (checked just above)

        self._types = _arrow_types
        self._schema = schema
        self._layout = layout
        self._per_property = layout == "columns" and self._is_object()

    def _is_object(self) -> bool:
        pa = need("pyarrow", "typed columns of structured outputs")
        return bool(pa.types.is_struct(self._types.arrow_type(self._schema)))

    def fields(self) -> list[Any]:
        """The Arrow fields of the parsed columns, in order."""
        pa = need("pyarrow", "typed columns of structured outputs")
        if self._layout == "json":
            return [pa.field("parsed", pa.string())]
        if not self._per_property:
            return [pa.field("parsed", self._types.arrow_type(self._schema))]
        return [
            f.with_name(PREFIX + f.name)
            for f in self._types.parsed_fields(self._schema)
        ]

    def arrays(self, values: list[Any]) -> list[Any]:
        """The parsed columns of a block of records' parsed values (None for a
        record without one), in the order of :meth:`fields`."""
        if self._layout == "json":
            return [strings([_json_text(v) for v in values])]
        try:
            return self._typed(values)
        except (ValueError, TypeError, OverflowError):  # pyarrow's, as below
            return self._typed([v if self._fits(v) else None for v in values])

    def _typed(self, values: list[Any]) -> list[Any]:
        if self._per_property:
            return self._types.parsed_columns(values, self._schema)
        return [self._types.parsed_array(values, self._schema)]

    def _fits(self, value: Any) -> bool:
        """Whether Arrow's types hold ``value`` (a value can match its schema
        and not fit: an integer beyond 64 bits); one that does not is null in
        the typed columns, its answer still in ``text``."""
        try:
            self._typed([value])
        except (ValueError, TypeError, OverflowError):  # ArrowInvalid is a ValueError
            return False
        return True


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    return msgspec.json.encode(value).decode()
