"""The child's scan says whether a file is all UTF-8, however its blocks fall."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from streambatch._core.utf8 import ORJSON_UTF8_ERROR
from streambatch._io import utf8_scan

BAD = [b"\xc3(", b"\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80", b"\xf0\x9f\x98"]
MODES = pytest.mark.parametrize(
    "error", [ORJSON_UTF8_ERROR, None], ids=["orjson", "decode"]
)


@MODES
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    texts=st.lists(st.tuples(st.text(max_size=40), st.sampled_from([b"", b"", *BAD]))),
    block=st.integers(1, 64),
)
def test_it_agrees_with_decoding_the_file(
    tmp_path: pathlib.Path,
    error: str | None,
    texts: list[tuple[str, bytes]],
    block: int,
) -> None:
    data = b"\n".join(t.encode() + bad for t, bad in texts)
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    try:
        data.decode()
    except UnicodeDecodeError:
        valid = False
    else:
        valid = True
    assert utf8_scan.scan(str(path), error, block) == valid


@MODES
@pytest.mark.parametrize("bad", BAD)
def test_a_bad_sequence_in_a_line_longer_than_a_block_is_found(
    tmp_path: pathlib.Path, error: str | None, bad: bytes
) -> None:
    path = tmp_path / "in.jsonl"
    good = "é🙂x".encode() * 100
    for at in (0, 1, 2, 3, 150, len(good)):
        path.write_bytes(b"{}\n" + good[:at] + bad + good[at:] + b"\n{}")
        assert not utf8_scan.scan(str(path), error, block=16)
    path.write_bytes(b"{}\n" + good + b"\n" + good)
    assert utf8_scan.scan(str(path), error, block=16)


def test_as_a_script_it_prints_ok_or_bad(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "in.jsonl"
    for data, said in [(b'{"a": "\xc3\xa9"}\n', "ok"), (b'{"a": "\xc3"}\n', "bad")]:
        path.write_bytes(data)
        for extra in ([ORJSON_UTF8_ERROR], []):
            argv = [sys.executable, utf8_scan.__file__, str(path), *extra]
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            assert done.stdout.strip() == said
