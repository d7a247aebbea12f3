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
one by one. A run the splice views refuse (a line that is not JSON) takes the
parser's path whole, so bad lines get exactly the parser's records.

Each record has the ``custom_id`` and ``status`` the ledger keeps or drops it by;
``msgspec.json.Encoder().encode_lines(records)`` gives its bytes.
"""

from __future__ import annotations

from itertools import repeat
from typing import cast

import msgspec

from .._models import Result
from .lines import Lines, Overlong, line_ends
from .parse import ResultParser

__all__ = ("RecordSplicer",)


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

        Lines the splice leaves out are decoded one by one; a run it refuses, or
        whose lines cannot be told apart, takes the parser's path whole.
        """
        try:
            rows = self._codec.splice_block(frame.data)
        except msgspec.DecodeError:
            return super()._records([frame])
        if None not in rows:
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
            return super()._records([frame])
        first = frame.first_line
        for i, row in enumerate(rows):
            if row is None:
                line = data[starts[i] : ends[i]].rstrip(b"\n")
                rows[i] = self._line(first + i, line)
        return cast("list[Result]", rows)
