"""Validate input request lines against one provider's rules.

Pure: stdlib and msgspec only; no asyncio, aiofiles or file access.

Strategy: each provider has a view struct that declares only the fields a rule needs
(in its :class:`LineRules`, which the provider's description holds);
msgspec checks the whole line is JSON and skips (without materialising) everything
else, such as the messages of a body. A run of lines is decoded with one
``decode_lines`` call, the fast path; only if that fails is the run decoded line by
line, to find and describe each bad line. Rules that msgspec can state (types,
``Literal`` values, the Anthropic custom_id pattern, ``max_tokens >= 1``, no
``stream: true``) are checked inside that call, in C.

When the whole run decodes and every line starts with ``{`` (so none is blank, and
one value per line is one view per line), :meth:`RequestChecker.check` returns it
as one :class:`Run`: the bytes a chunk gets (``\\r\\n`` made ``\\n``), where each
line ends (found with ``find``, no line copied) and the custom_ids, taken in bulk.
Otherwise (a bad line, a blank line) the run is decoded line by line: each good
line becomes a :class:`Request` (its custom_id, its group and its bytes without
the line ending); a bad one a :class:`Problem` naming the line number, the
custom_id when it is readable, and a reason written for people.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import repeat
from operator import attrgetter
from typing import Any, NamedTuple

import msgspec

from .lines import line_ends
from .pack import ChunkLimits

__all__ = (
    "AnyObject",
    "Group",
    "InputRules",
    "LineRules",
    "Problem",
    "Request",
    "RequestChecker",
    "Run",
    "custom_id_in",
)

Group = tuple[str, str]
"""``(url, model)``: a batch of a grouped provider takes one endpoint and one model."""

_ID = re.compile(rb'"custom_id"\s*:\s*"((?:[^"\\]|\\.)*)"')
_KEY = re.compile(rb'"key"\s*:\s*"((?:[^"\\]|\\.)*)"')  # Gemini's id
_BLANK = b" \t\r"


class AnyObject(msgspec.Struct, gc=False):
    """Any JSON object; its fields are checked as JSON and skipped (for views)."""


class LineRules(NamedTuple):
    """One provider's rules for an input line. The type is here; each provider's
    values are in its description (``streambatch._providers``).

    Attributes:
        decoder: decodes a line into a view: a struct holding only the fields a
            rule needs, with a ``custom_id`` (and, if ``grouped``, a ``url`` and
            a ``body.model``) attribute. msgspec states the rules it can (types,
            ``Literal`` values, patterns), checked in C.
        reasons: a validation error's path (``params.max_tokens``) -> the rule,
            written for people.
        grouped: a batch takes one ``(url, model)`` group (OpenAI, Azure, Gemini,
            Mistral); the lines are grouped so.
        keyed: the line's id is its ``key`` (Gemini), not its ``custom_id``.
    """

    decoder: msgspec.json.Decoder[Any]
    reasons: Mapping[str, str]
    grouped: bool
    keyed: bool = False


class InputRules(NamedTuple):
    """What the split needs of one provider: its name, chunk limits and line rules."""

    name: str
    limits: ChunkLimits
    lines: LineRules


class Request(NamedTuple):
    """One valid request line.

    ``line`` is the line's bytes without its line ending (a trailing ``\\r`` is
    removed); ``group`` is ``(url, model)`` for OpenAI and Azure, else None.
    """

    line_no: int
    custom_id: str
    group: Group | None
    line: bytes


class Problem(NamedTuple):
    """One bad line: its number, its custom_id if readable, and why it is bad."""

    line_no: int
    custom_id: str | None
    reason: str


def custom_id_in(head: bytes, pattern: re.Pattern[bytes] = _ID) -> str | None:
    """Find a ``"custom_id"`` string (or what ``pattern`` finds) in the first bytes
    of a line, if there is one."""
    found = pattern.search(head, 0, 4096)
    if found is None:
        return None
    try:
        value = msgspec.json.decode(b'"' + found.group(1) + b'"')
    except msgspec.DecodeError:
        return found.group(1).decode("utf-8", "replace")
    return value if isinstance(value, str) else None


class Run(NamedTuple):
    """A run of good lines, none of them blank, checked at once.

    Attributes:
        first_line: the number of its first line.
        data: its lines, each ending with ``\\n``: the bytes a chunk gets.
        ends: the offset in ``data`` just past each line's ``\\n``.
        custom_ids: each line's custom_id.
        groups, group: each line's group; or None, and the group of every line.
    """

    first_line: int
    data: bytes
    ends: list[int]
    custom_ids: list[str]
    groups: list[Group | None] | None
    group: Group | None

    def requests(self) -> list[Request]:
        """The run as one :class:`Request` per line."""
        lines = self.data.split(b"\n")[:-1]
        groups = self.groups or repeat(self.group)
        numbered = range(self.first_line, self.first_line + len(lines))
        items = zip(numbered, self.custom_ids, groups, lines, strict=False)
        return [Request(*item) for item in items]


_CUSTOM_ID = attrgetter("custom_id")
_URL = attrgetter("url")
_MODEL = attrgetter("body.model")


class RequestChecker:
    """Check request lines against one provider's rules.

    Args:
        rules: the provider's line rules (its description's ``lines``).
    """

    __slots__ = ("_decoder", "_grouped", "_id", "_reasons")

    def __init__(self, rules: LineRules) -> None:
        self._decoder = rules.decoder
        self._grouped = rules.grouped
        self._id = _KEY if rules.keyed else _ID
        self._reasons = rules.reasons

    def check_run(
        self, data: bytes | memoryview, first_line: int
    ) -> list[Request | Problem]:
        """Check a run of ``\\n``-separated lines numbered from ``first_line``.

        Returns:
            One :class:`Request` or :class:`Problem` per non-blank line, in order.
            Blank lines (only spaces, tabs or ``\\r``) are skipped but counted.
        """
        checked = self.check(data, first_line)
        return list(checked.requests()) if isinstance(checked, Run) else checked

    def check(
        self, data: bytes | memoryview, first_line: int
    ) -> Run | list[Request | Problem]:
        """As :meth:`check_run`, but a run of good lines, none blank, comes whole.

        Returns:
            A :class:`Run`, or what :meth:`check_run` returns (bad or blank lines).
        """
        data = bytes(data)  # one copy; a memoryview's ``in`` and ``find`` are slow
        try:
            views: list[Any] = self._decoder.decode_lines(data)
        except msgspec.DecodeError:
            return self._one_by_one(data, first_line)
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").rstrip(b"\r")
        if data and not data.endswith(b"\n"):
            data += b"\n"  # the stream's last line; a chunk ends it with one
        ends = line_ends(data)
        starts = [0, *ends[:-1]]  # where each line starts: "{" if it is not blank
        if len(views) == len(ends) and all(map(data.startswith, repeat(b"{"), starts)):
            return Run(first_line, data, ends, *self._ids_and_groups(views))
        return self._one_by_one(data, first_line)  # blank lines, or two on one

    def _ids_and_groups(
        self, views: list[Any]
    ) -> tuple[list[str], list[Group | None] | None, Group | None]:
        """The views' custom_ids, and their groups (None and one group if all same)."""
        custom_ids = list(map(_CUSTOM_ID, views))
        if not self._grouped:
            return custom_ids, None, None
        urls: list[str] = list(map(_URL, views))
        models: list[str] = list(map(_MODEL, views))
        count = len(views)
        if urls.count(urls[0]) == count and models.count(models[0]) == count:
            return custom_ids, None, (urls[0], models[0])
        return custom_ids, list(zip(urls, models, strict=True)), None

    def check_line(self, line: bytes, line_no: int) -> Request | Problem:
        """Check one non-blank line (without its ``\\n``)."""
        try:
            view = self._decoder.decode(line)
        except msgspec.ValidationError as exc:
            found = custom_id_in(line, self._id)
            return Problem(line_no, found, self._reason(str(exc)))
        except msgspec.DecodeError as exc:
            reason = f"not valid JSON ({exc})"
            return Problem(line_no, custom_id_in(line, self._id), reason)
        group = (view.url, view.body.model) if self._grouped else None
        return Request(line_no, view.custom_id, group, line.rstrip(b"\r"))

    def _one_by_one(self, data: bytes, first_line: int) -> list[Request | Problem]:
        return [
            self.check_line(line, number)
            for number, line in enumerate(data.split(b"\n"), first_line)
            if line.strip(_BLANK)
        ]

    def _reason(self, message: str) -> str:
        """Turn a msgspec validation message into a sentence about the rule."""
        what, _, where = message.partition(" - at `$")
        path = where.rstrip("`").lstrip(".")
        reason = self._reasons.get(path)
        if reason is not None:
            value = what.removeprefix("Invalid enum value ")
            return f"{reason}, not {value}" if value[:1] == "'" else reason
        if what.startswith("Object missing required field `"):
            field = what.removeprefix("Object missing required field `").rstrip("`")
            return f"missing field {path}.{field}" if path else f"missing field {field}"
        if not where:
            return "line is not a JSON object" if "`object`" in what else what
        return f"{path}: {what[:1].lower()}{what[1:]}"
