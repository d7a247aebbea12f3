"""The custom_ids of an adopted batch known by its results only, written as its
chunk file once the results are downloaded.

The ledger reads a chunk's custom_ids from its chunk file (``_collect``). An
Anthropic batch adopted without its requests has no such file to start from
(``ChunkRecord.ids_only``: an empty file), so its ids are taken from the results
themselves: every result's custom_id, ``{"custom_id": ...}`` a line, in the
order of the files, with the model the results name (``params.model`` for
Anthropic, ``body.model`` for OpenAI: what the cost is priced by; a failed
result names none, and is given the first one a result names). A request the provider gave no result for is then unknown,
and cannot come out as ``missing``. The file is written beside and renamed, so
it is whole or empty; streaming, one block of lines in memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import BinaryIO

import msgspec

from ._core.lines import LineFramer, Lines, Overlong
from ._io.reader import file_chunks
from ._io.store import JobStore

__all__ = ("write_adopted_ids",)

log = logging.getLogger("streambatch.adopt")

_ENCODER = msgspec.json.Encoder()


class _Model(msgspec.Struct):
    model: str = ""


class _Outcome(msgspec.Struct):
    message: _Model | None = None  # Anthropic's


class _Response(msgspec.Struct):
    body: _Model | None = None  # OpenAI's


class _Result(msgspec.Struct):
    custom_id: str = ""
    result: _Outcome | None = None
    response: _Response | None = None

    @property
    def model(self) -> str:
        if self.result is not None and self.result.message is not None:
            return self.result.message.model
        if self.response is not None and self.response.body is not None:
            return self.response.body.model
        return ""


_RESULT = msgspec.json.Decoder(_Result)


async def write_adopted_ids(store: JobStore) -> int:
    """Write the chunk file of every ids-only chunk whose results are on disk
    and whose file is still empty; return how many ids were written."""
    written = 0
    for chunk in store.manifest.chunks:
        record = chunk.batches[0]
        path = store.dir.chunk_path(chunk.path)
        if not (chunk.ids_only and record.downloaded) or path.stat().st_size:
            continue
        temp = path.with_name(path.name + ".tmp")
        # Small writes to a local file; created readable by the owner only.
        with open(  # noqa: ASYNC230
            temp, "wb", opener=lambda p, f: os.open(p, f, 0o600)
        ) as out:
            key = "params" if store.manifest.provider == "anthropic" else "body"
            sources = [store.dir.checked_download(record, k) for k in record.downloads]
            model = await _first_model(sources)
            for source in sources:
                framer = LineFramer()
                async for block in file_chunks(source):
                    written += _copy_ids(framer.feed(block), out, key, model)
                written += _copy_ids(framer.close(), out, key, model)
        os.replace(temp, path)
        log.info("batch %s: %d custom_ids from its results", record.batch_id, written)
    return written


def _results(frames: list[Lines | Overlong]) -> list[_Result]:
    found = []
    for frame in frames:
        if not isinstance(frame, Lines):
            continue
        for line in bytes(frame.data).split(b"\n"):
            if not line.strip():
                continue
            try:
                found.append(_RESULT.decode(line))
            except msgspec.DecodeError:
                continue  # the ledger reports it (unreadable output) on reading
    return found


async def _first_model(sources: list[Path]) -> str:
    """The first model a result of the files names ("" if none does)."""
    for source in sources:
        framer = LineFramer()
        async with contextlib.aclosing(file_chunks(source)) as blocks:
            async for block in blocks:
                for result in _results(framer.feed(block)):
                    if result.model:
                        return result.model
    return ""


def _copy_ids(
    frames: list[Lines | Overlong], out: BinaryIO, key: str, model: str
) -> int:
    """Write a line per result of the frames: its custom_id, and its model
    (or ``model``) under ``key``."""
    lines: list[dict[str, object]] = []
    for result in _results(frames):
        if result.custom_id:
            entry: dict[str, object] = {"custom_id": result.custom_id}
            if result.model or model:
                entry[key] = {"model": result.model or model}
            lines.append(entry)
    if lines:
        out.write(_ENCODER.encode_lines(lines))
    return len(lines)
