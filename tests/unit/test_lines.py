"""LineFramer: any chunking gives the same lines, numbers and over-long reports."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from streambatch._core.lines import LineFramer, Lines, Overlong, count_lines


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def frame_all(chunks: list[bytes], limit: int) -> list[tuple[int, bytes | int]]:
    """(line number, line bytes) for kept lines, (line number, size) for over-long."""
    framer = LineFramer(limit)
    frames = [f for chunk in chunks for f in framer.feed(chunk)] + framer.close()
    out: list[tuple[int, bytes | int]] = []
    for frame in frames:
        if isinstance(frame, Overlong):
            out.append((frame.line, frame.size))
            continue
        assert isinstance(frame, Lines)
        pieces = bytes(frame.data).split(b"\n")
        if pieces[-1] == b"":
            pieces.pop()
        assert len(pieces) == frame.n_lines
        out += list(enumerate(pieces, frame.first_line))
    return out


def expected(lines: list[bytes], limit: int) -> list[tuple[int, bytes | int]]:
    return [
        (n, line if len(line) <= limit else len(line))
        for n, line in enumerate(lines, 1)
    ]


line = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b""))


@given(
    st.lists(line, max_size=20),
    st.lists(st.integers(0, 2000), max_size=30),
    st.booleans(),
    st.integers(1, 60),
)
def test_any_chunking_gives_the_same_lines(
    lines: list[bytes], cuts: list[int], trailing_newline: bool, limit: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    if lines and not trailing_newline and lines[-1] == b"":
        lines = lines[:-1]  # "a\n" + "" is one line, not two
    assert frame_all(split_at(data, cuts), limit) == expected(lines, limit)
    assert frame_all([data], limit) == expected(lines, limit)


@given(st.integers(5, 64), st.lists(st.integers(0, 200), max_size=10))
def test_a_long_line_is_reported_whatever_the_chunking(
    limit: int, cuts: list[int]
) -> None:
    data = b"ok\n" + b"x" * (limit + 1) + b"\nafter\n"
    got = frame_all(split_at(data, cuts), limit)
    assert got == [(1, b"ok"), (2, limit + 1), (3, b"after")]


def test_crlf_and_unicode_separators_stay_inside_lines() -> None:
    data = '{"a": "x\u2028y\u0085z"}\r\n{"b": 1}\r\n'.encode()
    got = frame_all(split_at(data, [1, 9, 10, 11, 22]), 100)
    assert got == [(1, '{"a": "x\u2028y\u0085z"}\r'.encode()), (2, b'{"b": 1}\r')]


def test_an_overlong_line_keeps_only_its_head_in_memory() -> None:
    framer = LineFramer(10)
    assert framer.feed(b"0123456789abc") == []
    for _ in range(1000):
        assert framer.feed(b"y" * 1000) == []
    assert framer._pending == []  # skipping: nothing of the line is held
    (frame,) = framer.feed(b"\n")
    assert frame == Overlong(1, 1_000_013, b"0123456789abc")


def test_a_line_cut_in_utf8_sequence_is_rejoined() -> None:
    text = "é日🎉".encode()
    got = frame_all([text[:1], text[1:4], text[4:] + b"\n"], 100)
    assert got == [(1, text)]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LineFramer(0)


@given(
    st.lists(st.integers(0, 700)),
    st.integers(0, 50),
    st.integers(0, 50),
)
def test_count_lines_counts_as_bytes_count(
    sizes: list[int], cut_start: int, cut_end: int
) -> None:
    # short and long lines mixed, so that both ways of counting are taken
    data = b"".join(b"x" * size + b"\n" for size in sizes)
    start, end = min(cut_start, len(data)), max(0, len(data) - cut_end)
    assert count_lines(data, start, end) == data.count(b"\n", start, end)
    many = b"\n" * 500 + data  # the first lines short, then long ones
    assert count_lines(many, 0, len(many)) == many.count(b"\n")
    long = b"y" * 300 + b"\n"
    spaced = long * 70 + b"\n" * 200  # long lines first, then short ones
    assert count_lines(spaced, 0, len(spaced)) == 270
