"""A chunk's custom_ids, kept beside it so that reading results need not read the
chunk again.

The ledger needs the ids each attempt holds, in order. Reading them from the
chunk (its whole bytes, every line decoded) costs as much as a good part of the
parse; the ids alone are a tenth of that or less. The first reader builds
``CHUNK.ids`` (msgpack: the chunk's size and its ids; written beside it and
renamed, never fsynced: it is a cache) and every later read uses it. A sidecar
that does not match its chunk's size or cannot be decoded is built again; one
that cannot be written (a full disk, a read-only job) is done without.
Memory: one chunk's ids, which the ledger holds as a set anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import msgspec

__all__ = ("chunk_ids",)

log = logging.getLogger("streambatch.collect")

_SUFFIX = ".ids"


class _Sidecar(msgspec.Struct, array_like=True):
    size: int
    ids: list[str]


_DECODE = msgspec.msgpack.Decoder(_Sidecar).decode
_ENCODE = msgspec.msgpack.Encoder().encode


async def chunk_ids(
    path: Path, read: Callable[[Path], AsyncIterator[list[str]]]
) -> list[str]:
    """The custom_ids of the chunk at ``path``, in order: from its sidecar, or
    read by ``read`` (a list per block) and kept in a new sidecar.

    The sidecar is read and written in a thread that opens and closes it: a
    task cancelled meanwhile leaves no file open (the thread finishes)."""
    sidecar = path.with_name(path.name + _SUFFIX)
    size, kept = await asyncio.to_thread(_load, path, sidecar)
    if kept is not None:
        return kept
    ids: list[str] = []
    async for block in read(path):
        ids += block
    await asyncio.to_thread(_store, sidecar, _Sidecar(size, ids))
    return ids


def _load(path: Path, sidecar: Path) -> tuple[int, list[str] | None]:
    """The chunk's size, and the ids its sidecar keeps if it is the chunk's."""
    size = path.stat().st_size
    try:
        with open(sidecar, "rb") as file:
            kept = _DECODE(file.read())
    except (OSError, msgspec.DecodeError):
        return size, None  # none yet, or damaged: build it
    return size, kept.ids if kept.size == size else None


def _store(sidecar: Path, kept: _Sidecar) -> None:
    partial = sidecar.with_name(sidecar.name + ".partial")
    try:
        with open(partial, "wb") as file:
            file.write(_ENCODE(kept))
        os.replace(partial, sidecar)
    except OSError as error:
        log.debug("%s: not kept (%s)", sidecar.name, error)
        with contextlib.suppress(OSError):
            os.unlink(partial)
