"""Read result files and HTTP bodies in large chunks and parse them into records.

The edge around :class:`ResultParser`: the only awaits are chunk reads. Files are
read in blocks of ``chunk_bytes`` (1 MiB by default: one thread hop per block, not
per line).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from ._core.lines import DEFAULT_MAX_LINE_BYTES
from ._io.reader import CHUNK_BYTES, file_chunks
from ._models import Result
from ._providers.parse import ResultParser

__all__ = ("open_results", "parse_chunks", "read_results")


async def parse_chunks(
    chunks: AsyncIterable[bytes], parser: ResultParser
) -> AsyncGenerator[Result, None]:
    """Yield the records of a byte stream, in file order, as they complete."""
    async for chunk in chunks:
        for record in parser.feed(chunk):
            yield record
    for record in parser.close():
        yield record


@asynccontextmanager
async def open_results(
    source: str | os.PathLike[str] | AsyncIterable[bytes],
    *,
    provider: str,
    schema: Any = None,
    with_response: bool = False,
    batch_id: str | None = None,
    attempt: int = 1,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    chunk_bytes: int = CHUNK_BYTES,
) -> AsyncIterator[AsyncIterator[Result]]:
    """Open a provider's output or error file (or byte stream) as records.

    Args:
        source: a path, or an async iterable of byte chunks cut anywhere (an
            ``aiohttp`` response's ``content.iter_chunked(n)``, for one).
        provider: ``"openai"``, ``"azure"`` or ``"anthropic"``.
        schema: decode each succeeded text into this type (``Result.parsed``).
        with_response: keep each raw response body in ``Result.response``.
        batch_id: stamped on every record.
        attempt: stamped on every record.
        max_line_bytes: the longest line accepted; a longer one becomes an errored
            record and is skipped without being held in memory.
        chunk_bytes: how much of a file is read at a time.

    Returns:
        An async context manager yielding an async iterator of records, in the
        order of the lines. Leaving the block closes the file, even after
        ``break`` or a cancellation.

    Raises:
        ConfigError: the provider is not known.
        OSError: the file cannot be read.

    A bad line never stops the stream: it becomes an ``errored`` record of type
    ``malformed_output`` naming the line number. Memory is bounded by one chunk
    plus the longest line.
    """
    own: AsyncGenerator[bytes, None] | None = None
    name = "output"
    if isinstance(source, str | os.PathLike):
        own = file_chunks(source, chunk_bytes)
        chunks: AsyncIterable[bytes] = own
        name = os.fspath(source)
    else:
        chunks = source
    parser = ResultParser(
        provider,
        schema=schema,
        with_response=with_response,
        batch_id=batch_id,
        attempt=attempt,
        max_line_bytes=max_line_bytes,
        source=name,
    )
    records = parse_chunks(chunks, parser)
    try:
        yield records
    finally:
        await records.aclose()
        if own is not None:
            await own.aclose()


def read_results(
    path: str | os.PathLike[str],
    *,
    provider: str,
    schema: Any = None,
    with_response: bool = False,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[Result]:
    """Parse a provider's output or error file, synchronously, in bounded memory.

    The same records as :func:`open_results`, with no event loop. The file is
    closed when the iterator is exhausted or closed.
    """
    parser = ResultParser(
        provider,
        schema=schema,
        with_response=with_response,
        max_line_bytes=max_line_bytes,
        source=os.fspath(path),
    )
    with open(path, "rb") as file:
        while chunk := file.read(chunk_bytes):
            yield from parser.feed(chunk)
    yield from parser.close()
