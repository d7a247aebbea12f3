"""Arrow arrays of Python values, built from buffers.

``pyarrow.array`` of a Python list imports pandas when it is installed (to ask
whether the list is a pandas object): some 40 MiB of memory for nothing here.
These build the same arrays from bytes: a validity bitmap, offsets and data.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from .deps import need

__all__ = ("integers", "strings")

_CODES = {"int64": "q", "int32": "i"}


def _validity(values: Sequence[object]) -> tuple[bytes | None, int]:
    """The validity bitmap of ``values`` (None where every value is there) and
    how many are null."""
    nulls = (
        values.count(None)
        if isinstance(values, list)
        else sum(v is None for v in values)
    )
    if not nulls:
        return None, 0
    bits = bytearray((len(values) + 7) // 8)
    for index, value in enumerate(values):
        if value is not None:
            bits[index >> 3] |= 1 << (index & 7)
    return bytes(bits), nulls


def strings(values: Sequence[str | None]) -> Any:
    """A ``string`` array of ``values`` (None is null)."""
    pa = need("pyarrow", "results as a table")
    encoded = [v.encode() if v is not None else b"" for v in values]
    offsets = array("i", accumulate(map(len, encoded), initial=0))
    validity, nulls = _validity(values)
    buffers = [
        pa.py_buffer(validity) if validity is not None else None,
        pa.py_buffer(offsets),
        pa.py_buffer(b"".join(encoded)),
    ]
    return pa.Array.from_buffers(pa.string(), len(values), buffers, null_count=nulls)


def integers(values: Sequence[int | None], kind: str = "int64") -> Any:
    """An ``int64`` (or ``int32``) array of ``values`` (None is null)."""
    pa = need("pyarrow", "results as a table")
    validity, nulls = _validity(values)
    data = array(_CODES[kind], [0 if v is None else v for v in values])
    buffers = [
        pa.py_buffer(validity) if validity is not None else None,
        pa.py_buffer(data),
    ]
    return pa.Array.from_buffers(
        getattr(pa, kind)(), len(values), buffers, null_count=nulls
    )
