"""Every line that is not valid UTF-8 is found, however the stream is cut (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from streambatch._core.requests import Problem
from streambatch._core.utf8 import Utf8Checker

BAD = [
    b"\xc3(",  # a first byte, then no continuation
    b"\xff\xfe",  # never in UTF-8
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xc0\xaf",  # an over-long form
    b"\x80",  # a continuation alone
]


def found(data: bytes, cuts: list[int], max_piece: int = 1 << 20) -> list[Problem]:
    checker = Utf8Checker(max_piece)
    problems: list[Problem] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        problems += checker.feed(data[start:cut])
        start = cut
    problems += checker.close()
    assert checker.count == len(problems)
    return problems


def line(n: int, extra: bytes = b"") -> bytes:
    return b'{"custom_id": "r%d", "messages": "caf\xc3\xa9 \xf0\x9f\x98\x80 %s"}' % (
        n,
        extra,
    )


@pytest.mark.parametrize("bad", BAD)
def test_a_bad_sequence_anywhere_names_its_line_and_custom_id(bad: bytes) -> None:
    data = b"\n".join([line(1), line(2, bad), line(3), b"", line(5, bad)])
    expected = [
        Problem(2, "r2", "not valid UTF-8"),
        Problem(5, "r5", "not valid UTF-8"),
    ]
    assert found(data, []) == expected
    for cut in range(len(data)):
        assert found(data, [cut]) == expected
        assert found(data, [cut, cut + 3], max_piece=5) == expected


def test_a_character_cut_by_the_end_of_the_stream_is_bad() -> None:
    assert found(line(1) + b"\n" + line(2, b"\xf0\x9f"), []) == [
        Problem(2, "r2", "not valid UTF-8")
    ]
    assert found(line(1) + b"\n\xf0\x9f\x98\x80\n", [len(line(1)) + 3]) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.text(max_size=30), st.sampled_from([b"", *BAD]))),
    st.lists(st.integers(0, 2000), max_size=4),
    st.integers(4, 64),
)
def test_it_agrees_with_decoding_each_line(
    texts: list[tuple[str, bytes]], cuts: list[int], max_piece: int
) -> None:
    lines = [t.replace("\n", " ").encode() + bad for t, bad in texts]
    data = b"\n".join(lines)
    bad_lines = []
    for number, one in enumerate(lines, 1):
        try:
            one.decode()
        except UnicodeDecodeError:
            bad_lines.append(number)
    cuts = [c for c in cuts if c <= len(data)]
    assert [p.line_no for p in found(data, cuts, max_piece)] == bad_lines
