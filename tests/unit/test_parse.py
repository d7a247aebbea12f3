"""ResultParser: bad lines become errored records naming the line; nothing is lost."""

from __future__ import annotations

import pathlib

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from streambatch import ConfigError, Result
from streambatch._providers.parse import ResultParser

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures"


def parse(
    chunks: list[bytes], provider: str = "openai", **options: object
) -> list[Result]:
    parser = ResultParser(provider, **options)  # type: ignore[arg-type]
    return [r for c in chunks for r in parser.feed(c)] + parser.close()


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 600), st.sampled_from(["openai_output.jsonl", "openai_errors.jsonl"])
)
def test_any_chunk_size_gives_the_same_records(size: int, name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    assert parse(chunked(data, size)) == parse([data])


def test_a_malformed_line_is_an_errored_record_and_the_stream_goes_on() -> None:
    good = (FIXTURES / "openai_output.jsonl").read_bytes().splitlines(keepends=True)
    bad = b'{"id": "batch_req_x", "custom_id": "broken-7", "response": {"status_co\n'
    data = b"".join([*good[:2], bad, b"\n", *good[2:]])
    records = parse(chunked(data, 100))
    assert len(records) == len(good) + 1
    broken = records[2]
    assert broken.custom_id == "broken-7"
    assert broken.status == "errored"
    assert broken.error is not None
    assert broken.error.type == "malformed_output"
    assert "line 3" in broken.error.message
    assert [r.custom_id for r in records[3:]] == [
        msgspec.json.decode(g)["custom_id"] for g in good[2:]
    ]


def test_a_line_of_the_wrong_shape_is_an_errored_record() -> None:
    records = parse(
        [b'{"custom_id": "c", "response": {"status_code": "200"}}\n[1,2]\n']
    )
    assert [(r.custom_id, r.status) for r in records] == [
        ("c", "errored"),
        ("", "errored"),
    ]
    assert records[1].error is not None
    assert "line 2" in records[1].error.message


def test_an_overlong_line_is_an_errored_record_naming_its_custom_id() -> None:
    long_line = b'{"custom_id": "big", "response": {"status_code": 200, "body": {"x": "'
    long_line += b"y" * 5000 + b'"}}}\n'
    small = b'{"custom_id": "small", "response": null, "error": {"code": "batch_expired"}}\n'
    records = parse(chunked(small + long_line + small, 333), max_line_bytes=1000)
    assert [(r.custom_id, r.status) for r in records] == [
        ("small", "expired"),
        ("big", "errored"),
        ("small", "expired"),
    ]
    assert records[1].error is not None
    assert "line 2" in records[1].error.message


def test_last_line_without_newline_and_blank_lines() -> None:
    data = b'\n\r\n{"custom_id": "a", "result": {"type": "expired"}}\n\n   \n'
    data += b'{"custom_id": "b", "result": {"type": "canceled"}}'
    records = parse(chunked(data, 5), provider="anthropic")
    assert [(r.custom_id, r.status) for r in records] == [
        ("a", "expired"),
        ("b", "canceled"),
    ]


class Person(msgspec.Struct):
    name: str
    age: int


def test_schema_decodes_text_and_a_mismatch_is_errored_not_raised() -> None:
    def line(cid: str, text: str) -> bytes:
        message = {"content": [{"type": "text", "text": text}], "usage": None}
        result = {"type": "succeeded", "message": message}
        return msgspec.json.encode({"custom_id": cid, "result": result}) + b"\n"

    data = line("ok", '{"name": "Ada", "age": 36}') + line("bad", '{"name": "Bob"}')
    ok, bad = parse([data], provider="anthropic", schema=Person)
    assert ok.status == "succeeded"
    assert ok.parsed == Person(name="Ada", age=36)
    assert bad.status == "errored"
    assert bad.error is not None
    assert bad.error.type == "schema_mismatch"
    assert bad.text == '{"name": "Bob"}'
    assert bad.parsed is msgspec.UNSET


def test_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nope"):
        ResultParser("nope")


def test_stamps_batch_id_and_attempt() -> None:
    data = (FIXTURES / "openai_errors.jsonl").read_bytes()
    records = parse([data], batch_id="batch_9", attempt=3)
    assert {(r.batch_id, r.attempt) for r in records} == {("batch_9", 3)}
