"""Find the lines that are not valid UTF-8, in bounded memory.

Pure: no I/O. msgspec checks the UTF-8 of the strings it decodes, not of those it
skips (a request's messages, say), nor of a ``msgspec.Raw`` span; this checks
every byte.

A run of complete lines (as a split frames them) is checked at once by
:func:`bad_lines`: with orjson (the ``fast`` extra), by :data:`WHOLE`, which
validates its whole input before it parses any of it and builds nothing (about
three times the speed of CPython's decoder on mostly non-ASCII text, and no copy
of the run); only a run that is not valid, or every run without orjson, is then
decoded a line at a time to find the bad ones.

:class:`Utf8Checker` names the bad lines of a stream cut anywhere (a file read in
blocks, once a child process found that it is not all UTF-8). Strategy: chunks
are cut at their last newline and each line is decoded on its own (an ASCII line
is skipped at once). Decoding a line at a time is about twice as fast as decoding
a whole chunk: a chunk holding one emoji is widened to four bytes a character in
all, a line only to its own end. A line longer than :data:`MAX_PIECE` is checked
in pieces, each cut before a byte that starts a character: cutting there never
splits a valid character, and never makes a bad sequence good. Memory: one
chunk plus one piece.
"""

from __future__ import annotations

from collections.abc import Callable

from .lines import HEAD_BYTES
from .requests import Problem, custom_id_in

__all__ = (
    "MAX_PIECE",
    "ORJSON_UTF8_ERROR",
    "WHOLE",
    "Utf8Checker",
    "Whole",
    "bad_lines",
    "orjson_check",
)

MAX_PIECE = 1024 * 1024
"""The most bytes of one line held back for the next chunk."""

Whole = Callable[[bytes | memoryview], bool]
"""Whether all of a run of lines is valid UTF-8."""

ORJSON_UTF8_ERROR = "str is not valid UTF-8"
"""How the message of orjson's error for input that is not UTF-8 begins."""


def orjson_check() -> Whole | None:
    """orjson's UTF-8 check, if orjson is installed and checks as this expects.

    ``orjson.loads`` validates the UTF-8 of its whole input before it parses any
    of it, and says so when it fails. Given a run of lines, it then parses the
    first line only (one value, and what follows is an error), so a view of a
    read block is checked in place. A run held as ``bytes`` may be a single line
    of many MiB (one longer than a read block): it is checked behind a ``]``,
    which fails at once, rather than parsed. The order (UTF-8 first) is checked
    here on samples whose bad byte comes after a complete value: if orjson ever
    parsed first, this returns None and lines are decoded instead.
    """
    try:
        import orjson  # optional: the ``fast`` extra
    except ImportError:
        return None
    loads, error = orjson.loads, orjson.JSONDecodeError

    def whole(data: bytes | memoryview) -> bool:
        try:
            loads(data if isinstance(data, memoryview) else b"]" + data)
        except error as exc:
            return not str(exc).startswith(ORJSON_UTF8_ERROR)
        return True

    bad = [
        b'{"a": 1}\n{"b": "\xff"}',
        b"\n\xed\xa0\x80",
        b"{}\n\xc3",
        b"1 \xf4\x90\x80\x80",
    ]
    good = [b'{"a": "caf\xc3\xa9"}\n{"b": "\xf0\x9f\x99\x82"}', b"{}"]
    samples = [*bad, *good]
    expected = [False] * len(bad) + [True] * len(good)
    if [whole(memoryview(sample)) for sample in samples] != expected:
        return None  # pragma: no cover
    if list(map(whole, samples)) != expected:
        return None  # pragma: no cover
    return whole


WHOLE: Whole | None = orjson_check()
"""The whole-run check, or None (then each line is decoded)."""


def bad_lines(
    data: bytes | memoryview, first_line: int, whole: Whole | None = WHOLE
) -> list[int]:
    """The numbers of the lines of ``data`` that are not valid UTF-8.

    Args:
        data: complete lines, separated by ``\\n``.
        first_line: the number of the first.
        whole: checks all of ``data`` at once (None: each line is decoded).
    """
    if whole is not None and whole(data):
        return []
    data = bytes(data)
    if data.isascii():
        return []
    return [
        number
        for number, line in enumerate(data.split(b"\n"), first_line)
        if not line.isascii() and not _valid(line)
    ]


class Utf8Checker:
    """Report each line that is not valid UTF-8 as a :class:`Problem`.

    Args:
        max_piece: the most bytes of one line held back for the next chunk.

    ``feed(chunk)`` returns the problems of the lines ``chunk`` ends (lines are
    numbered from 1); ``close()`` that of a last line with no newline. ``count``
    is how many were found in all.
    """

    __slots__ = ("_bad", "_head", "_line", "_max_piece", "_tail", "count")

    def __init__(self, max_piece: int = MAX_PIECE) -> None:
        self._max_piece = max_piece
        self._line = 1  # the number of the unfinished line
        self._tail = b""  # its bytes not yet checked
        self._head = b""  # its first bytes, when they were checked already
        self._bad = False  # whether its bytes checked so far are bad
        self.count = 0

    def feed(self, chunk: bytes) -> list[Problem]:
        """Check the lines ``chunk`` ends; keep its unfinished last line."""
        data = self._tail + chunk if self._tail else chunk
        last = data.rfind(b"\n")
        if last < 0:
            self._tail = self._piece(data)
            return []
        problems: list[Problem] = []
        if self._bad:  # the unfinished line's start was bad already
            problems.append(self._problem(self._line, data[:HEAD_BYTES], True))
        if not data.isascii():
            lines = data[:last].split(b"\n")
            for index in range(1 if self._bad else 0, len(lines)):
                line = lines[index]
                if not line.isascii() and not _valid(line):
                    problems.append(self._problem(self._line + index, line, index == 0))
        self._line += data.count(b"\n", 0, last + 1)
        self._head, self._bad = b"", False
        self._tail = self._piece(data[last + 1 :])
        return problems

    def close(self) -> list[Problem]:
        """End the stream; check a last line with no newline."""
        tail, self._tail = self._tail, b""
        if self._bad or not _valid(tail):
            return [self._problem(self._line, tail, True)]
        return []

    def _piece(self, tail: bytes) -> bytes:
        """Keep ``tail`` for the next chunk; check its start now if it is long."""
        if len(tail) <= self._max_piece:
            return tail
        cut = len(tail) - 1
        # back to a character's first byte: at most 3 steps in valid UTF-8
        while cut > len(tail) - 4 and 0x80 <= tail[cut] < 0xC0:
            cut -= 1
        if len(self._head) < HEAD_BYTES:
            self._head = (self._head + tail[:cut])[:HEAD_BYTES]
        self._bad = self._bad or not _valid(tail[:cut])
        return tail[cut:]

    def _problem(self, line_no: int, line: bytes, first: bool) -> Problem:
        """The problem of a bad line (``first``: the one begun in an earlier chunk)."""
        self.count += 1
        head = self._head + line[:HEAD_BYTES] if first else line[:HEAD_BYTES]
        return Problem(line_no, custom_id_in(head[:HEAD_BYTES]), "not valid UTF-8")


def _valid(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True
