"""Turn framed input lines into chunk writes, id records and problems.

Pure: stdlib and msgspec only; no asyncio, aiofiles or file access. The edge
(``_io/split.py``) reads the bytes, performs the writes and checks the id records
for duplicates; this module decides everything else.

Strategy: each run of lines is checked at once (:class:`RequestChecker`), each good
line is placed by a :class:`Chunker`, and the lines of one run that go to the same
chunk are joined into one write. Bad lines are counted, and the first
``max_problems`` kept; good lines keep being placed even after a problem, so that
every problem in the input (duplicates included) can be reported in one go.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from .lines import Lines, Overlong
from .pack import Chunker, ChunkLimits, Packer
from .requests import Group, Problem, Request, RequestChecker, custom_id_in

__all__ = ("Chunk", "Splitter", "Step")


@dataclass(slots=True)
class Chunk:
    """What was put in one chunk so far."""

    index: int
    group: Group | None
    first_line: int
    n_requests: int = 0
    n_bytes: int = 0


@dataclass(slots=True)
class Step:
    """What the edge must do after one :meth:`Splitter.feed`.

    Attributes:
        opened: chunks to create, in index order, before writing.
        writes: ``(chunk_index, data)`` to append, in order.
        closed: chunks that will get no more lines.
        ids: ``(custom_id, line_no, chunk_index, offset)`` of each placed request.
    """

    opened: list[int] = field(default_factory=list)
    writes: list[tuple[int, bytes]] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    ids: list[tuple[str, int, int, int]] = field(default_factory=list)


class Splitter:
    """Check and place framed input lines.

    Args:
        provider: ``"openai"``, ``"azure"`` or ``"anthropic"``.
        limits: the caps of every chunk.
        max_problems: how many problems to keep (all are counted).

    Raises:
        ConfigError: the provider is not known.
    """

    __slots__ = (
        "_checker",
        "_chunker",
        "_fits",
        "_kept",
        "_max_problems",
        "_open",
        "chunks",
        "n_problems",
        "n_requests",
    )

    def __init__(
        self, provider: str, limits: ChunkLimits, max_problems: int = 50
    ) -> None:
        self._checker = RequestChecker(provider)
        self._chunker: Chunker[Group | None] = Chunker(limits)
        self._fits = Packer(limits).fits
        self._max_problems = max_problems
        self._open: dict[Group | None, int] = {}  # group -> its open chunk
        self.chunks: list[Chunk] = []
        # a max-heap by line number (negated), so the latest kept line goes first
        self._kept: list[tuple[int, int, Problem]] = []
        self.n_problems = 0
        self.n_requests = 0

    def feed(self, frames: list[Lines | Overlong]) -> Step:
        """Check and place the lines of ``frames``; return what to write.

        Raises:
            InputError: the input mixes more groups than may be open at once.
        """
        step = Step()
        for frame in frames:
            if isinstance(frame, Overlong):
                reason = f"line of {frame.size:,} bytes is longer than the limit"
                self.report(Problem(frame.line, custom_id_in(frame.head), reason))
            else:
                self._place(self._checker.check_run(frame.data, frame.first_line), step)
        return step

    def report(self, problem: Problem) -> None:
        """Count a problem; keep it if it is among the ``max_problems`` first lines."""
        self.n_problems += 1
        entry = (-problem.line_no, self.n_problems, problem)
        if len(self._kept) < self._max_problems:
            heapq.heappush(self._kept, entry)
        elif self._kept and entry > self._kept[0]:
            heapq.heapreplace(self._kept, entry)

    @property
    def problems(self) -> list[Problem]:
        """The kept problems, by line number (then in the order found)."""
        return [p for _, _, p in sorted(self._kept, key=lambda e: (-e[0], e[1]))]

    def _place(self, items: list[Request | Problem], step: Step) -> None:
        runs: dict[int, list[bytes]] = {}
        for item in items:
            if isinstance(item, Problem):
                self.report(item)
                continue
            size = len(item.line) + 1
            if not self._fits(size):
                reason = f"request of {size:,} bytes is larger than a whole batch"
                self.report(Problem(item.line_no, item.custom_id, reason))
                continue
            chunk = self._chunk_for(item, size, step)
            step.ids.append((item.custom_id, item.line_no, chunk.index, chunk.n_bytes))
            chunk.n_bytes += size
            chunk.n_requests += 1
            run = runs.get(chunk.index)
            if run is None:
                runs[chunk.index] = run = []
            run.append(item.line)
        self.n_requests += sum(len(run) for run in runs.values())
        for index, run in runs.items():
            run.append(b"")  # so that the join ends with a newline
            step.writes.append((index, b"\n".join(run)))

    def _chunk_for(self, item: Request, size: int, step: Step) -> Chunk:
        index, opened = self._chunker.add(item.group, size)
        if opened:
            previous = self._open.get(item.group)
            if previous is not None:
                step.closed.append(previous)
            self._open[item.group] = index
            self.chunks.append(Chunk(index, item.group, item.line_no))
            step.opened.append(index)
        return self.chunks[index]
