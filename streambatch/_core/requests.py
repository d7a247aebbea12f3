"""Validate input request lines against one provider's rules.

Pure: stdlib and msgspec only; no asyncio, aiofiles or file access.

Strategy: each provider has a view struct that declares only the fields a rule needs;
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
from itertools import repeat
from operator import attrgetter
from typing import Annotated, Literal, NamedTuple, cast, get_args

import msgspec

from .._errors import ConfigError
from .lines import line_ends

__all__ = (
    "OPENAI_ENDPOINTS",
    "Group",
    "Problem",
    "Request",
    "RequestChecker",
    "Run",
    "custom_id_in",
)

_Endpoint = Literal[
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
]
OPENAI_ENDPOINTS: tuple[str, ...] = get_args(_Endpoint)
"""The batch endpoints an OpenAI (or Azure) line may name (PROVIDERS.md 2.3)."""

Group = tuple[str, str]
"""``(url, model)``: OpenAI and Azure batches take one endpoint and one model."""

_ANTHROPIC_ID = r"^[a-zA-Z0-9_-]{1,64}$"  # PROVIDERS.md 4.2, as people read it
# matched whole: msgspec searches, and Python's "$" also matches before a final "\n"
_ANTHROPIC_ID_RULE = _ANTHROPIC_ID.replace("$", r"\Z")
_ID = re.compile(rb'"custom_id"\s*:\s*"((?:[^"\\]|\\.)*)"')
_KEY = re.compile(rb'"key"\s*:\s*"((?:[^"\\]|\\.)*)"')  # Gemini's id
_BLANK = b" \t\r"


# Views hold only strings, ints and other views, never a cycle: gc=False spares the
# collector tracking (and scanning) every one, a large part of decode_lines' cost.
class _OpenAIBody(msgspec.Struct, gc=False):
    model: str
    stream: Literal[False] = False


class _OpenAILine(msgspec.Struct, gc=False):
    custom_id: Annotated[str, msgspec.Meta(min_length=1)]
    method: Literal["POST"]
    url: _Endpoint
    body: _OpenAIBody

    @property
    def group(self) -> Group:
        return (self.url, self.body.model)


class _Object(msgspec.Struct, gc=False):
    """Any JSON object; its fields are checked as JSON and skipped."""


class _AnthropicParams(msgspec.Struct, gc=False):
    model: str
    max_tokens: Annotated[int, msgspec.Meta(ge=1)]
    messages: list[_Object]
    stream: Literal[False] = False


class _AnthropicLine(msgspec.Struct, gc=False):
    custom_id: Annotated[str, msgspec.Meta(pattern=_ANTHROPIC_ID_RULE)]
    params: _AnthropicParams

    @property
    def group(self) -> None:
        return None


class _GeminiRequest(msgspec.Struct, gc=False):
    model: Annotated[str, msgspec.Meta(min_length=1)]
    contents: Annotated[list[_Object], msgspec.Meta(min_length=1)]


class _GeminiLine(msgspec.Struct, gc=False):
    """A Gemini batch file line, ``{"key", "request"}`` (PROVIDERS.md 5.2).

    The id is read from ``key`` into ``custom_id``, the name every other rule
    reads. A batch has one model, named in its URL: each line names it in
    ``request.model``, and the line's ``url`` (its group's first half, the
    chunk's endpoint) is that batch URL, ``models/{model}:batchGenerateContent``.
    """

    custom_id: Annotated[str, msgspec.Meta(min_length=1)] = msgspec.field(name="key")
    request: _GeminiRequest = msgspec.field()

    @property
    def body(self) -> _GeminiRequest:
        return self.request

    @property
    def url(self) -> str:
        model = self.request.model
        name = model if model.startswith("models/") else f"models/{model}"
        return f"{name}:batchGenerateContent"

    @property
    def group(self) -> Group:
        return (self.url, self.request.model)


_OPENAI = msgspec.json.Decoder(_OpenAILine)
_ANTHROPIC = msgspec.json.Decoder(_AnthropicLine)
_GEMINI = msgspec.json.Decoder(_GeminiLine)
_View = _OpenAILine | _AnthropicLine | _GeminiLine
_Decoder = (
    msgspec.json.Decoder[_OpenAILine]
    | msgspec.json.Decoder[_AnthropicLine]
    | msgspec.json.Decoder[_GeminiLine]
)

_OPENAI_REASONS = {
    "custom_id": "custom_id must be a non-empty string",
    "method": 'method must be "POST"',
    "url": "url must be a batch endpoint (" + ", ".join(OPENAI_ENDPOINTS) + ")",
    "body.stream": "body.stream must not be true: batches do not stream",
}
_ANTHROPIC_REASONS = {
    "custom_id": f"custom_id must match {_ANTHROPIC_ID}",
    "params.max_tokens": "params.max_tokens must be an integer of at least 1",
    "params.stream": "params.stream must not be true: batches do not stream",
}
_GEMINI_REASONS = {
    "key": "key must be a non-empty string",
    "request.contents": "request.contents must be a non-empty array",
    "request.model": "request.model must name the model, e.g. gemini-2.5-flash",
}


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
        provider: ``"openai"``, ``"azure"``, ``"anthropic"`` or ``"gemini"``.

    Raises:
        ConfigError: the provider has no input rules here.
    """

    __slots__ = ("_decoder", "_grouped", "_id", "_reasons")

    def __init__(self, provider: str) -> None:
        self._decoder: _Decoder
        self._grouped = provider in ("openai", "azure", "gemini")
        self._id = _KEY if provider == "gemini" else _ID
        if provider == "gemini":
            self._decoder, self._reasons = _GEMINI, _GEMINI_REASONS
        elif self._grouped:
            self._decoder, self._reasons = _OPENAI, _OPENAI_REASONS
        elif provider == "anthropic":
            self._decoder, self._reasons = _ANTHROPIC, _ANTHROPIC_REASONS
        else:
            raise ConfigError(f"cannot split input for provider {provider!r}")

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
            views = cast("list[_View]", self._decoder.decode_lines(data))
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
        self, views: list[_View]
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
        return Request(line_no, view.custom_id, view.group, line.rstrip(b"\r"))

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
