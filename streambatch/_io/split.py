"""Split a job's input into chunk files, validating every request on the way.

The edge around :class:`streambatch._core.split.Splitter`: it reads the input (a
JSONL file, or requests from Python), hashes it, writes the chunk files and checks
custom_ids for duplicates across the whole input. Memory is bounded by one read
block, one line and the duplicate check's buffer, whatever the input size.

Every byte is checked: the fields a provider's rules name are decoded, and the
whole line is checked to be UTF-8, by the splitter (a run at once with orjson,
the ``fast`` extra) or, for a large file, by a child process on a second core
(``utf8.py``). All or nothing: if any line is bad, every chunk file is removed
and :class:`InvalidInput` lists the problems. Nothing is ever uploaded from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from .._core.lines import DEFAULT_MAX_LINE_BYTES, LineFramer, Lines, Overlong
from .._core.pack import limits_for
from .._core.requests import Group, InputRules, Problem
from .._core.split import LineTranslator, Splitter, Step
from .._errors import ConfigError, InputError, InvalidInput
from .ids import IdSpool, read_custom_id
from .utf8 import Utf8Check

__all__ = ("ChunkPlan", "Rewrite", "SplitPlan", "split_input", "split_requests")

Rewrite = Callable[
    [list[Lines | Overlong]], tuple[list[Lines | Overlong], list[Problem]]
]
"""Rewrites each line before it is checked, line for line (``--schema`` adds the
structured-output field: ``_core.structured.SchemaInjector.rewrite``), and
returns the problems it found."""

_BOM = b"\xef\xbb\xbf"
_ENCODE_BYTES = 1024 * 1024  # requests from Python are checked in runs this large
_READ_BYTES = 1024 * 1024  # per read; the next read is under way meanwhile


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """One chunk file.

    Attributes:
        index: 0-based; the file is ``chunk-{index:05d}.jsonl``.
        path: the chunk file.
        n_requests: its lines.
        n_bytes: its size (each line plus ``\\n``).
        group: ``(url, model)`` for OpenAI and Azure; None for Anthropic.
        first_line: the input line number of its first request.
    """

    index: int
    path: str
    n_requests: int
    n_bytes: int
    group: Group | None
    first_line: int


@dataclass(frozen=True, slots=True)
class SplitPlan:
    """The outcome of a split: the input's identity and its chunks, in index order."""

    input_sha256: str
    input_bytes: int
    n_requests: int
    chunks: list[ChunkPlan]


async def split_input(
    path: str | os.PathLike[str],
    provider: InputRules,
    out_dir: str | os.PathLike[str],
    *,
    max_requests: int | None = None,
    max_bytes: int | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_problems: int = 50,
    translator: LineTranslator | None = None,
    rewrite: Rewrite | None = None,
) -> SplitPlan:
    """Split a JSONL input file into chunk files under the provider's limits.

    Args:
        path: the input, one request per line in the provider's native form.
        provider: the provider's rules (``streambatch._providers.input_rules``).
        out_dir: where to write ``chunk-00000.jsonl`` ... (created if missing).
        max_requests: fewer requests per chunk than the provider allows.
        max_bytes: fewer bytes per chunk than the provider allows.
        max_line_bytes: the longest line accepted.
        max_problems: how many bad lines to list (all are counted).
        translator: translates the input first, if it applies to its first line
            (an OpenAI chat-completions input for another provider).
        rewrite: rewrites the lines before they are checked or translated (the
            input's sha256 is still that of the file).

    Returns:
        The plan: the input's sha256 and size, and each chunk.

    Raises:
        ConfigError: unknown provider, an override above the provider's limit, or
            ``out_dir`` already holds chunk files.
        InvalidInput: some lines are bad (every chunk file is removed).
        InputError: the input holds no request, or too many (url, model) groups.
        OSError: the input cannot be read or the chunks written.

    Lines may end in ``\\r\\n``; chunks always use ``\\n``. A leading UTF-8 BOM is
    dropped; blank lines are skipped but keep their line numbers.
    """
    # The splitter checks each run's UTF-8 as it goes, unless a child process
    # checks the whole file (a large one) on another core meanwhile.
    utf8 = Utf8Check(os.fspath(path), max_problems)
    in_split = not utf8.in_child
    job = _Job(
        provider,
        out_dir,
        max_requests,
        max_bytes,
        max_problems,
        in_split,
        translator,
        rewrite,
    )
    framer = LineFramer(max_line_bytes)
    # The input is opened on the loop (a local open is instant): a task cancelled
    # while a thread opened it would leave it open. Reads go to a thread.
    with open(path, "rb") as file:  # noqa: ASYNC230  # see above
        async with job, utf8:
            block = await asyncio.to_thread(file.read, _READ_BYTES)
            text = block.removeprefix(_BOM)
            while block:
                # read ahead; on an error, closing the file waits for this read
                reading = asyncio.ensure_future(
                    asyncio.to_thread(file.read, _READ_BYTES)
                )
                await job.feed(framer.feed(text), block)
                block = text = await reading
            await job.feed(framer.close())
            job.splitter.report_found(*await utf8.result())
            return await job.finish(os.fspath(path))


async def split_requests(
    requests: Iterable[Any] | AsyncIterable[Any],
    provider: InputRules,
    out_dir: str | os.PathLike[str],
    *,
    max_requests: int | None = None,
    max_bytes: int | None = None,
    max_problems: int = 50,
    translator: LineTranslator | None = None,
    rewrite: Rewrite | None = None,
) -> SplitPlan:
    """Split requests given in Python (dicts or msgspec structs) into chunk files.

    Args:
        requests: a sync or async iterable of request objects in the provider's
            native line shape; each is encoded with msgspec.
        provider: as for :func:`split_input`.
        out_dir: as for :func:`split_input`.
        max_requests: as for :func:`split_input`.
        max_bytes: as for :func:`split_input`.
        max_problems: as for :func:`split_input`.
        translator: as for :func:`split_input`.
        rewrite: as for :func:`split_input`.

    Returns:
        The plan; ``input_sha256`` and ``input_bytes`` describe the encoded lines.

    Raises:
        As :func:`split_input`; problems are numbered by request (1-based).
    """
    # msgspec encodes valid UTF-8 only (a lone surrogate cannot be encoded)
    job = _Job(
        provider,
        out_dir,
        max_requests,
        max_bytes,
        max_problems,
        False,
        translator,
        rewrite,
    )
    lines = _Encoder(job)
    async with job:
        if isinstance(requests, AsyncIterable):
            async for request in requests:
                await lines.add(request)
        else:
            for request in requests:
                await lines.add(request)
        await lines.flush()
        return await job.finish("<requests>")


class _Encoder:
    """Encode requests into runs of lines and feed them to a job."""

    def __init__(self, job: _Job) -> None:
        self._job = job
        self._encoder = msgspec.json.Encoder()
        self._buffer = bytearray()
        self._first = 1
        self._count = 0

    async def add(self, request: Any) -> None:
        number = self._first + self._count
        try:
            self._encoder.encode_into(request, self._buffer, len(self._buffer))
        except (TypeError, ValueError) as exc:
            del self._buffer[self._buffer.rfind(b"\n") + 1 :]
            await self.flush()
            self._first += 1
            self._job.splitter.report(Problem(number, None, f"cannot encode: {exc}"))
            return
        self._buffer += b"\n"
        self._count += 1
        if len(self._buffer) >= _ENCODE_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._count:
            data = bytes(self._buffer)
            await self._job.feed([Lines(data, self._first, self._count)], data)
        self._buffer.clear()
        self._first += self._count
        self._count = 0


class _Job:
    """The chunk files and the duplicate check of one split; removes all on error.

    Strategy: checking a block holds the GIL, hashing and writing do not; so while
    block N is checked in the event loop's thread, block N - 1 is hashed and
    written in a worker thread (one at a time, so in order). On two cores this
    takes about a third off the time of doing both in turn.
    """

    def __init__(
        self,
        provider: InputRules,
        out_dir: str | os.PathLike[str],
        max_requests: int | None,
        max_bytes: int | None,
        max_problems: int,
        check_utf8: bool,
        translator: LineTranslator | None = None,
        rewrite: Rewrite | None = None,
    ) -> None:
        self._rewrite = rewrite
        limits = limits_for(provider.limits, max_requests, max_bytes, provider.name)
        self.splitter = Splitter(
            provider.lines,
            limits,
            max_problems,
            translator,
            check_utf8=check_utf8,
        )
        self._keyed = provider.lines.keyed  # ids in "key", not "custom_id"
        self._dir = os.fspath(out_dir)
        os.makedirs(self._dir, exist_ok=True)
        if any(_is_chunk(name) for name in os.listdir(self._dir)):
            raise ConfigError(f"{self._dir} already holds chunk files")
        self._sha = hashlib.sha256()
        self._size = 0
        self._files: dict[int, Any] = {}
        self._ids = IdSpool(self._dir)
        self._pending: asyncio.Future[None] | None = None

    async def __aenter__(self) -> _Job:
        return self

    async def __aexit__(self, exc_type: object, *rest: object) -> None:
        with contextlib.suppress(Exception):
            await self._drain()  # never close a file a worker is writing to
        for file in self._files.values():
            with contextlib.suppress(OSError):  # a full disk: still close them all
                file.close()
        self._ids.__exit__()
        if exc_type is not None:
            for index in range(len(self.splitter.chunks)):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.path(index))

    def path(self, index: int) -> str:
        return os.path.join(self._dir, f"chunk-{index:05d}.jsonl")

    async def feed(self, frames: list[Lines | Overlong], raw: bytes = b"") -> None:
        """Check ``frames``; hash ``raw`` (the input bytes they came from)."""
        if self._rewrite is not None:
            frames = self._rewritten(frames)
        step = self.splitter.feed(frames)
        self._ids.add_batches(step.ids)
        await self._drain()
        work = asyncio.to_thread(self._apply, raw, step)
        self._pending = asyncio.ensure_future(work)

    def _rewritten(self, frames: list[Lines | Overlong]) -> list[Lines | Overlong]:
        """The frames as ``rewrite`` makes them; its problems are reported."""
        assert self._rewrite is not None
        frames, problems = self._rewrite(frames)
        for problem in problems:
            self.splitter.report(problem)
        return frames

    async def _drain(self) -> None:
        # Shielded: a cancelled split must not stop waiting for a worker that
        # goes on writing (and opening chunk files) in its thread.
        if self._pending is not None:
            await asyncio.shield(self._pending)
            self._pending = None

    def _apply(self, raw: bytes, step: Step) -> None:
        """Hash and write one step's bytes (in a worker thread)."""
        self._sha.update(raw)
        self._size += len(raw)
        for index in step.opened:
            self._files[index] = open(self.path(index), "wb")  # noqa: SIM115
        for index, data in step.writes:
            self._files[index].write(data)
        for index in step.closed:
            self._files.pop(index).close()

    async def finish(self, name: str) -> SplitPlan:
        """Check duplicates, then raise for any problem or return the plan."""
        await self._drain()
        for file in self._files.values():
            file.close()
        self._files.clear()
        splitter = self.splitter
        for custom_id, line_no, first in self._ids.duplicates(self._read_id):
            reason = f"duplicate custom_id (first on line {first})"
            splitter.report(Problem(line_no, custom_id, reason))
        if splitter.n_problems:
            problems = splitter.problems
            raise InvalidInput(problems, total=splitter.n_problems, path=name)
        if not splitter.n_requests:
            raise InputError("the input holds no request", path=name)
        return SplitPlan(
            self._sha.hexdigest(), self._size, splitter.n_requests, self._plans()
        )

    def _read_id(self, chunk: int, offset: int) -> str:
        return read_custom_id(self.path(chunk), offset, key=self._keyed)

    def _plans(self) -> list[ChunkPlan]:
        return [
            ChunkPlan(
                c.index,
                self.path(c.index),
                c.n_requests,
                c.n_bytes,
                c.group,
                c.first_line,
            )
            for c in self.splitter.chunks
        ]


def _is_chunk(name: str) -> bool:
    return name.startswith("chunk-") and name.endswith(".jsonl")
