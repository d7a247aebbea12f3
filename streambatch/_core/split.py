"""Turn framed input lines into chunk writes, id records and problems.

Pure: stdlib and msgspec only; no asyncio, aiofiles or file access. The edge
(``_io/split.py``) reads the bytes, performs the writes and checks the id records
for duplicates; this module decides everything else.

Strategy: each run of lines is checked at once (:class:`RequestChecker`). The usual
run (all good, no blank line, one group) comes back as a :class:`Run` and is placed
whole: a :class:`Chunker` takes as many of its lines as the group's chunk holds, at
once, and the run's bytes are written as they are (sliced only where a chunk ends);
the id records are built in bulk. Any other run is placed line by line, and the
lines of one run that go to the same chunk are joined into one write, exactly the
bytes a whole run would give. Bad lines are counted, and the first
``max_problems`` kept; good lines keep being placed even after a problem, so that
every problem in the input (duplicates included) can be reported in one go.

Every byte of a run is also checked to be UTF-8, which msgspec does not do for the
fields it skips (``utf8.py``): the run at once, and line by line only if it is not
valid. A bad line is named by the custom_id its check read; a line whose check
already failed is reported once, for that.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from operator import sub
from typing import Protocol

from .._errors import InvalidRequestLine
from .ids import Ids
from .lines import Lines, Overlong
from .pack import Chunker, ChunkLimits, Packer
from .requests import (
    Group,
    LineRules,
    Problem,
    Request,
    RequestChecker,
    Run,
    custom_id_in,
)
from .utf8 import WHOLE, bad_lines

__all__ = ("Chunk", "LineTranslator", "Splitter", "Step")

_BLANK = b" \t\r"


class LineTranslator(Protocol):
    """Turns lines of another shape into the provider's native lines (the OpenAI
    translation of ``_providers/translate.py``, given by the caller)."""

    def applies(self, first_line: bytes) -> bool:
        """Whether an input whose first non-blank line is this is translated."""
        ...

    def __call__(self, line: bytes) -> bytes:
        """The native line; raises InvalidRequestLine when it cannot be made."""
        ...


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
        ids: the custom_id, line number and place of each placed request.
    """

    opened: list[int] = field(default_factory=list)
    writes: list[tuple[int, bytes]] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    ids: list[Ids] = field(default_factory=list)


class Splitter:
    """Check and place framed input lines.

    Args:
        rules: the provider's line rules.
        limits: the caps of every chunk.
        max_problems: how many problems to keep (all are counted).
        translator: if given, and it applies to the input's first non-blank line,
            every line is translated before it is checked and placed (a line
            that cannot be is a problem).
        check_utf8: whether to check that every byte is UTF-8 (False: the caller
            checks it some other way).
    """

    __slots__ = (
        "_check_utf8",
        "_checker",
        "_chunker",
        "_fits",
        "_kept",
        "_max_problems",
        "_open_chunks",
        "_translating",
        "_translator",
        "chunks",
        "n_problems",
        "n_requests",
    )

    def __init__(
        self,
        rules: LineRules,
        limits: ChunkLimits,
        max_problems: int = 50,
        translator: LineTranslator | None = None,
        *,
        check_utf8: bool = True,
    ) -> None:
        self._translator = translator
        self._translating = False  # decided on the first non-blank line
        self._checker = RequestChecker(rules)
        self._check_utf8 = check_utf8
        self._chunker: Chunker[Group | None] = Chunker(limits)
        self._fits = Packer(limits).fits
        self._max_problems = max_problems
        self._open_chunks: dict[Group | None, int] = {}  # group -> its open chunk
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
                continue
            given = frame  # its bytes are the input's, checked for UTF-8
            if self._translator is not None:
                frame = self._translated(frame, self._translator)
            checked = self._checker.check(frame.data, frame.first_line)
            if self._check_utf8:
                bad = bad_lines(given.data, given.first_line, WHOLE)
                if bad:
                    self._report_utf8(bad, checked)
            if isinstance(checked, Run):
                self._place_run(checked, step)
            else:
                self._place(checked, step)
        return step

    def _translated(self, frame: Lines, translator: LineTranslator) -> Lines:
        """The frame with each line translated; a line that cannot be is reported
        and left blank, so that every line keeps its number."""
        lines = bytes(frame.data).split(b"\n")
        out: list[bytes] = []
        for number, line in enumerate(lines, frame.first_line):
            if not line.strip(_BLANK):
                out.append(b"")
                continue
            if not self._translating:
                if not translator.applies(line):
                    self._translator = None  # a native input: checked as it is
                    return frame
                self._translating = True
            try:
                out.append(translator(line.rstrip(b"\r")))
            except InvalidRequestLine as exc:
                found = (
                    exc.custom_id if exc.custom_id is not None else custom_id_in(line)
                )
                self.report(Problem(number, found, exc.reason))
                out.append(b"")
        return Lines(b"\n".join(out), frame.first_line, frame.n_lines)

    def _report_utf8(
        self, bad: list[int], checked: Run | list[Request | Problem]
    ) -> None:
        """Report the lines ``bad`` of a run as not UTF-8, unless already bad."""
        if isinstance(checked, Run):
            ids = {
                checked.first_line + i: cid for i, cid in enumerate(checked.custom_ids)
            }
        else:
            ids = {
                item.line_no: item.custom_id
                for item in checked
                if isinstance(item, Request)
            }
        for line_no in bad:
            if line_no in ids:  # else its check failed, and says why
                self.report(Problem(line_no, ids[line_no], "not valid UTF-8"))

    def report(self, problem: Problem) -> None:
        """Count a problem; keep it if it is among the ``max_problems`` first lines."""
        self.n_problems += 1
        entry = (-problem.line_no, self.n_problems, problem)
        if len(self._kept) < self._max_problems:
            heapq.heappush(self._kept, entry)
        elif self._kept and entry > self._kept[0]:
            heapq.heapreplace(self._kept, entry)

    def report_found(self, count: int, problems: list[Problem]) -> None:
        """Count ``count`` problems found elsewhere, ``problems`` the first of them.

        A line that already has a kept problem is not reported twice.
        """
        known = {problem.line_no for _, _, problem in self._kept}
        for problem in problems:
            if problem.line_no not in known:
                self.report(problem)
        self.n_problems += count - len(problems)  # found beyond the first ones

    @property
    def problems(self) -> list[Problem]:
        """The kept problems, by line number (then in the order found)."""
        return [p for _, _, p in sorted(self._kept, key=lambda e: (-e[0], e[1]))]

    def _place_run(self, run: Run, step: Step) -> None:
        """Place a run whole; line by line if it mixes groups or a line is too big."""
        data, ends = run.data, run.ends
        if run.groups is not None or not self._fits_each(ends):
            self._place(list(run.requests()), step)
            return
        start = 0
        while start < len(ends):
            index, opened, stop = self._chunker.add_run(run.group, ends, start)
            if opened:
                self._open(index, run.group, run.first_line + start, step)
            chunk = self.chunks[index]
            base = ends[start - 1] if start else 0
            whole = start == 0 and stop == len(ends)
            step.writes.append((index, data if whole else data[base : ends[stop - 1]]))
            lines = range(run.first_line + start, run.first_line + stop)
            offsets = [base, *ends[start : stop - 1]]
            ids = run.custom_ids if whole else run.custom_ids[start:stop]
            step.ids.append(Ids(ids, lines, index, offsets, chunk.n_bytes - base))
            chunk.n_bytes += ends[stop - 1] - base
            chunk.n_requests += stop - start
            start = stop
        self.n_requests += len(ends)

    def _fits_each(self, ends: list[int]) -> bool:
        """Whether every line of a run fits a chunk (all at once, mostly)."""
        if self._fits(ends[-1]):
            return True
        return self._fits(max(map(sub, ends, [0, *ends[:-1]])))

    def _place(self, items: list[Request | Problem], step: Step) -> None:
        """Place checked lines one by one; report the problems among them."""
        placed: dict[int, tuple[list[str], list[int], list[int], list[bytes]]] = {}
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
            entry = placed.get(chunk.index)
            if entry is None:
                entry = placed[chunk.index] = ([], [], [], [])
            entry[0].append(item.custom_id)
            entry[1].append(item.line_no)
            entry[2].append(chunk.n_bytes)
            entry[3].append(item.line)
            chunk.n_bytes += size
            chunk.n_requests += 1
        for index, (custom_ids, line_nos, offsets, lines) in placed.items():
            step.ids.append(Ids(custom_ids, line_nos, index, offsets))
            self.n_requests += len(lines)
            lines.append(b"")  # so that the join ends with a newline
            step.writes.append((index, b"\n".join(lines)))

    def _chunk_for(self, item: Request, size: int, step: Step) -> Chunk:
        index, opened = self._chunker.add(item.group, size)
        if opened:
            self._open(index, item.group, item.line_no, step)
        return self.chunks[index]

    def _open(self, index: int, group: Group | None, line_no: int, step: Step) -> None:
        """Record that chunk ``index`` opened, closing the group's previous one."""
        previous = self._open_chunks.get(group)
        if previous is not None:
            step.closed.append(previous)
        self._open_chunks[group] = index
        self.chunks.append(Chunk(index, group, line_no))
        step.opened.append(index)
