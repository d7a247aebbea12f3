"""Turn a provider's output bytes into records to write, splicing in each text.

Pure: no I/O. Writing results as JSON lines does not need the text as a Python
``str``: the provider's JSON string literal (escapes kept) is copied into the
record as it is. :class:`RecordSplicer` is a :class:`ResultParser` whose records
are for encoding only: the usual line becomes a ``SplicedResult`` (its text a
``msgspec.Raw``); a line whose text must be assembled (several Anthropic text
blocks, several Responses ``output_text`` parts, a tool call's arguments), a
refusal, an error or anything unusual is decoded alone, as the parser does. The
records encode to the same JSON values as the parser's, line for line.

Strategy: a run of lines is decoded once with the provider's splice views
(``ResultCodec.splice_block``); only the lines it leaves out are decoded again,
one by one, as the parser does. A run the splice views refuse (a line that is
not JSON) is taken line by line, so that bad lines get exactly the parser's
records and every line's record is the same however the file was cut.

Each record has the ``custom_id`` and ``status`` the ledger keeps or drops it by;
:func:`encode_block` encodes a list of them into an :class:`EncodedBlock` (the
bytes, each record's end, its custom_id and status), which is what a ledger
needs to keep or drop lines without decoding them again, in any process.
"""

from __future__ import annotations

from itertools import repeat
from typing import NamedTuple, cast

import msgspec

from .._core.lines import Lines, Overlong, line_ends
from .._models import Result
from .parse import ResultParser

__all__ = ("EncodedBlock", "RecordSplicer", "encode_block")


class RecordSplicer(ResultParser):
    """Incrementally turn one output (or error) file into records to encode.

    Takes the arguments of :class:`ResultParser` but ``schema`` (a splice never
    parses the text: pass none). ``feed`` and ``close`` return the records, in
    line order; they refer to the chunks fed, so encode them before those go.
    """

    __slots__ = ()

    def _records(self, frames: list[Lines | Overlong]) -> list[Result]:
        records: list[Result] = []
        for frame in frames:
            if isinstance(frame, Lines):
                records += self._splice(frame)
            else:
                records += super()._records([frame])
        return records

    def _splice(self, frame: Lines) -> list[Result]:
        """The records of one run of lines, the usual ones spliced.

        Lines the splice leaves out are decoded one by one. Each line's record is
        the same however the lines were cut into runs: a run that is not one
        value per line, or that the splice views refuse, is taken line by line.
        """
        try:
            rows = self._codec.splice_block(frame.data)
        except msgspec.DecodeError:
            return self._each(frame)
        if len(rows) == frame.n_lines and None not in rows:
            return cast("list[Result]", rows)
        data = bytes(frame.data)
        ends = line_ends(data)
        if len(ends) < frame.n_lines:
            ends.append(len(data))  # the stream's last line, with no newline
        starts = [0, *ends[:-1]]
        # One value per line, so that rows[i] is line i's: none is blank, and
        # there are as many values as lines.
        if len(rows) != len(ends) or not all(
            map(data.startswith, repeat(b"{"), starts)
        ):
            return self._each(frame)
        first = frame.first_line
        for i, row in enumerate(rows):
            if row is None:
                line = data[starts[i] : ends[i]].rstrip(b"\n")
                rows[i] = self._line(first + i, line)
        return cast("list[Result]", rows)

    def _each(self, frame: Lines) -> list[Result]:
        """A run line by line: each spliced if it can be, else decoded."""
        records: list[Result] = []
        lines = bytes(frame.data).split(b"\n")
        for number, line in enumerate(lines, frame.first_line):
            if not line.strip():
                continue
            try:
                rows = self._codec.splice_block(line)
            except msgspec.DecodeError:
                rows = [None]
            row = rows[0] if len(rows) == 1 else None
            records.append(self._line(number, line) if row is None else row)
        return records


_ENCODER = msgspec.json.Encoder()


class EncodedBlock(NamedTuple):
    """Records encoded as JSON lines, with what a writer keeps, drops and counts
    them by.

    Record ``i`` is ``data[ends[i - 1]:ends[i]]`` (from 0 for the first), a JSON
    object and its ``\\n``; its ``custom_id``, ``status`` and ``stop_reason`` are
    ``custom_ids[i]``, ``statuses[i]`` and ``stop_reasons[i]``, its input and
    output tokens ``input_tokens[i]`` and ``output_tokens[i]``, its cached input
    tokens ``cached_tokens[i]`` (each 0 without usage),
    its error's type ``error_types[i]`` (None without an error).
    """

    custom_ids: list[str]
    statuses: list[str]
    data: bytes
    ends: list[int]
    stop_reasons: list[str | None]
    input_tokens: list[int]
    output_tokens: list[int]
    cached_tokens: list[int]
    error_types: list[str | None]

    def pick(self, indices: list[int]) -> bytes:
        """The records at ``indices`` (in that order), joined."""
        if len(indices) == len(self.ends):
            return self.data
        data, ends = self.data, self.ends
        return b"".join(data[ends[i - 1] if i else 0 : ends[i]] for i in indices)

    def taken(self, indices: list[int]) -> EncodedBlock:
        """The block of the records at ``indices`` (in that order) alone."""
        data = self.pick(indices)
        return EncodedBlock(
            [self.custom_ids[i] for i in indices],
            [self.statuses[i] for i in indices],
            data,
            line_ends(data),
            [self.stop_reasons[i] for i in indices],
            [self.input_tokens[i] for i in indices],
            [self.output_tokens[i] for i in indices],
            [self.cached_tokens[i] for i in indices],
            [self.error_types[i] for i in indices],
        )


def encode_block(records: list[Result]) -> EncodedBlock:
    """Encode records (spliced or not) into one :class:`EncodedBlock`."""
    data = _ENCODER.encode_lines(records)
    return EncodedBlock(
        [r.custom_id for r in records],
        [r.status for r in records],
        data,
        line_ends(data),  # a record holds no raw newline: JSON escapes them
        [r.stop_reason for r in records],
        [0 if (u := r.usage) is None else u.input_tokens for r in records],
        [0 if (u := r.usage) is None else u.output_tokens for r in records],
        [0 if (u := r.usage) is None else u.cached_tokens or 0 for r in records],
        [None if (e := r.error) is None else e.type for r in records],
    )
