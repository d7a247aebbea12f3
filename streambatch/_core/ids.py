"""Fixed-size records of custom_ids, for finding duplicates in bounded memory.

Pure: stdlib only; no asyncio, aiofiles or file access.

Strategy: every request becomes a 24-byte record (fingerprint of its custom_id, line
number, where its line was written). Records are spread over :data:`BUCKETS`
buckets by the fingerprint's low byte, so that each bucket can be checked alone
after the pass: memory is one bucket, about 1/256 of the records, never the ids.
Records that share a fingerprint are only candidates: the caller reads their
custom_ids back and compares them, so a fingerprint collision is never reported
as a duplicate.

Records are made in bulk, per :class:`Ids` batch: hashing and packing are ``map``
calls over the batch; only appending each record to its bucket is a Python loop.

The fingerprint is Python's ``hash()`` of the string: 64 bits, already computed
for most strings, and stable within one process, which is all a split needs
(buckets never outlive the process that wrote them).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import add
from typing import NamedTuple

__all__ = (
    "BUCKETS",
    "RECORD",
    "Ids",
    "Placed",
    "bucket_batches",
    "bucket_records",
    "candidates",
)

BUCKETS = 256
"""How many buckets the records are spread over."""

RECORD = struct.Struct("<qQQ")
"""One record: fingerprint, line number, location (see :func:`location`)."""

_CHUNK_SHIFT = 40  # a chunk holds < 2**40 bytes; the chunk index sits above that

Placed = tuple[int, int, int]
"""``(line_no, chunk_index, offset)``: a request's line and where it was written."""


class Ids(NamedTuple):
    """Requests placed in one chunk, in bulk.

    Request ``i`` has ``custom_ids[i]``, is line ``line_nos[i]`` of the input and
    was written at ``offsets[i] + delta`` in chunk ``chunk``.
    """

    custom_ids: list[str]
    line_nos: Sequence[int]
    chunk: int
    offsets: Sequence[int]
    delta: int = 0


def bucket_batches(batches: Iterable[Ids], buckets: list[bytearray]) -> int:
    """Append the records of placed requests to their buckets.

    Args:
        batches: the placed requests.
        buckets: :data:`BUCKETS` buffers; each record goes to its bucket's.

    Returns:
        How many bytes were appended in all.
    """
    count = 0
    for custom_ids, line_nos, chunk, offsets, delta in batches:
        prints = list(map(hash, custom_ids))
        wheres = map(add, offsets, repeat((chunk << _CHUNK_SHIFT) + delta))
        records = map(RECORD.pack, prints, line_nos, wheres)
        for fingerprint, record in zip(
            prints, records, strict=True
        ):  # the one per-request step
            buckets[fingerprint & (BUCKETS - 1)] += record
        count += len(prints)
    return count * RECORD.size


def bucket_records(
    ids: Iterable[tuple[str, int, int, int]], buckets: list[bytearray]
) -> int:
    """Append the records of ``(custom_id, line_no, chunk_index, offset)`` tuples."""
    batches = (Ids([cid], (line,), chunk, (at,)) for cid, line, chunk, at in ids)
    return bucket_batches(batches, buckets)


def candidates(bucket: bytes | bytearray) -> list[list[Placed]]:
    """Find the records of one bucket that share a fingerprint.

    Returns:
        One list per shared fingerprint, of ``(line_no, chunk_index, offset)``
        sorted by line number; empty when every fingerprint is unique.
    """
    fields = memoryview(bucket).cast("B").cast("q")
    fingerprints = fields[0::3].tolist()
    if len(set(fingerprints)) == len(fingerprints):
        return []
    by_print: dict[int, list[Placed]] = {}
    for i, fingerprint in enumerate(fingerprints):
        line_no, where = fields[3 * i + 1], fields[3 * i + 2]
        mask = (1 << _CHUNK_SHIFT) - 1
        placed = (line_no, where >> _CHUNK_SHIFT, where & mask)
        by_print.setdefault(fingerprint, []).append(placed)
    return [sorted(group) for group in by_print.values() if len(group) > 1]
