"""Decide where upload chunks end, given line sizes and a provider's limits.

Pure: stdlib only; no asyncio, aiofiles or file access.

Every chunk obeys a request count and a byte budget. Bytes are counted the way the
provider counts them: for a JSONL file, each line plus its ``\\n``; for
Anthropic, the JSON body ``{"requests":[`` + lines joined by commas + ``]}``,
which is also one byte per line plus a fixed frame. Each provider's values are in
its description (``streambatch._providers``), not here. A :class:`Packer` cuts one
stream greedily; a :class:`Chunker` keeps one packer per group (OpenAI's one
endpoint and one model per batch) and numbers the chunks in the order they open.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Generic, NamedTuple, TypeVar

from .._errors import ConfigError, InputError

__all__ = ("MAX_GROUPS", "ChunkLimits", "Chunker", "Packer", "limits_for")

K = TypeVar("K")

MAX_GROUPS = 32
"""How many groups (url, model) may be open at once, each with its own chunk file."""


class ChunkLimits(NamedTuple):
    """How much one chunk may hold.

    Attributes:
        max_requests: the most requests (lines) in one chunk.
        max_bytes: the most bytes the provider counts for one chunk: ``frame_bytes``
            plus, per line, its length and one separator byte.
        frame_bytes: the fixed bytes around the lines (0 for a JSONL file).
    """

    max_requests: int
    max_bytes: int
    frame_bytes: int = 0


def limits_for(
    limits: ChunkLimits,
    max_requests: int | None = None,
    max_bytes: int | None = None,
    provider: str = "the provider",
) -> ChunkLimits:
    """Return a provider's limits, lowered by the user's overrides.

    Args:
        limits: the provider's limits (its description's ``limits``).
        max_requests: a lower request cap, or None for the provider's.
        max_bytes: a lower byte cap (counted as in :class:`ChunkLimits`), or None.
        provider: the provider's name, for messages.

    Raises:
        ConfigError: an override is not positive, is higher than the provider's
            limit, or leaves no room for a request.
    """
    for name, value, cap in (
        ("max_requests", max_requests, limits.max_requests),
        ("max_bytes", max_bytes, limits.max_bytes),
    ):
        if value is not None and not 0 < value <= cap:
            raise ConfigError(f"{name} must be between 1 and {cap:,} for {provider}")
    byte_cap = limits.max_bytes if max_bytes is None else max_bytes
    if byte_cap <= limits.frame_bytes + 1:
        raise ConfigError(f"max_bytes {byte_cap} leaves no room for a request")
    return ChunkLimits(
        limits.max_requests if max_requests is None else max_requests,
        byte_cap,
        limits.frame_bytes,
    )


class Packer:
    """Cut one stream of lines into chunks greedily. Pure: sizes in, decisions out.

    Args:
        limits: the caps every chunk obeys.
    """

    __slots__ = ("_budget", "_bytes", "_count", "_max_requests")

    def __init__(self, limits: ChunkLimits) -> None:
        self._budget = limits.max_bytes - limits.frame_bytes
        self._max_requests = limits.max_requests
        self._bytes = 0
        self._count = 0

    def fits(self, nbytes: int) -> bool:
        """Whether a line costing ``nbytes`` (separator included) fits any chunk."""
        return nbytes <= self._budget

    def add(self, nbytes: int) -> bool:
        """Account for one line costing ``nbytes``; return True if it opens a chunk.

        Raises:
            ValueError: the line alone is larger than a chunk (check :meth:`fits`).
        """
        if nbytes > self._budget:
            raise ValueError(f"a line of {nbytes} bytes fits no chunk")
        full = self._count == self._max_requests or self._bytes + nbytes > self._budget
        opens = self._count == 0 or full
        if full:
            self._bytes = self._count = 0
        self._bytes += nbytes
        self._count += 1
        return opens

    def add_run(self, ends: list[int], start: int) -> tuple[int, bool]:
        """Account for lines ``start:`` of a run, as many as the next chunk takes.

        ``ends[i]`` is what lines ``0`` to ``i`` of the run cost together, so line
        ``i`` costs ``ends[i] - ends[i - 1]``; every line must fit (see :meth:`fits`).
        Returns ``(stop, opens)``: lines ``start:stop`` go to one chunk, opened by
        them if ``opens``. The chunks are those of :meth:`add` line by line.
        """
        base = ends[start - 1] if start else 0
        first = ends[start] - base
        full = self._count == self._max_requests or self._bytes + first > self._budget
        opens = self._count == 0 or full
        if full:
            self._bytes = self._count = 0
        last = min(len(ends), start + self._max_requests - self._count)
        stop = bisect_right(ends, base + self._budget - self._bytes, start, last)
        self._bytes += ends[stop - 1] - base
        self._count += stop - start
        return stop, opens


class Chunker(Generic[K]):
    """Assign lines to chunks: one open chunk per group, numbered as they open.

    Args:
        limits: the caps every chunk obeys.
        max_groups: the most groups allowed; one more raises InputError.

    ``add(group, nbytes)`` returns ``(index, opened)``: the chunk the line goes to,
    and whether that chunk was opened by it. When a group's chunk is full, the
    next line of the group opens a new chunk; the old one gets no more lines.
    """

    __slots__ = ("_groups", "_limits", "_max_groups", "count")

    def __init__(self, limits: ChunkLimits, max_groups: int = MAX_GROUPS) -> None:
        self._limits = limits
        self._max_groups = max_groups
        self._groups: dict[K, tuple[Packer, int]] = {}
        self.count = 0  # chunks opened so far

    def add(self, group: K, nbytes: int) -> tuple[int, bool]:
        """Place one line of ``group`` costing ``nbytes``; see the class docstring.

        Raises:
            InputError: a new group would exceed ``max_groups``.
            ValueError: the line alone is larger than a chunk.
        """
        packer, index = self._entry(group)
        if packer.add(nbytes):
            return self._opened(group, packer), True
        return index, False

    def add_run(self, group: K, ends: list[int], start: int) -> tuple[int, bool, int]:
        """Place lines ``start:`` of a run of ``group``, as many as one chunk takes.

        ``ends`` is as for :meth:`Packer.add_run`. Returns ``(index, opened, stop)``:
        lines ``start:stop`` go to chunk ``index``, opened by them if ``opened``.

        Raises:
            InputError: a new group would exceed ``max_groups``.
        """
        packer, index = self._entry(group)
        stop, opens = packer.add_run(ends, start)
        if opens:
            return self._opened(group, packer), True, stop
        return index, False, stop

    def _opened(self, group: K, packer: Packer) -> int:
        """Number the chunk ``group`` just opened."""
        index = self.count
        self.count += 1
        self._groups[group] = (packer, index)
        return index

    def _entry(self, group: K) -> tuple[Packer, int]:
        """The packer of ``group`` and the index of its open chunk (-1: none yet)."""
        entry = self._groups.get(group)
        if entry is None:
            if len(self._groups) == self._max_groups:
                raise InputError(
                    f"more than {self._max_groups} distinct (url, model) pairs; "
                    "each needs its own batch: split the input by model first"
                )
            entry = self._groups[group] = (Packer(self._limits), -1)
        return entry
