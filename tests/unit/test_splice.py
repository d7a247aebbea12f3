"""The splicing write path gives records equal, as JSON values, to the record path's.

Pure, no I/O: both paths read the same bytes, cut the same way, and each record
each encodes is compared with ``json.loads``.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from streambatch._providers import codec
from streambatch._providers.codec import SplicedResult
from streambatch._providers.parse import ResultParser
from streambatch._providers.splice import RecordSplicer

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures"
_ENCODER = msgspec.json.Encoder()


def encoded(parser: ResultParser, data: bytes, cuts: list[int]) -> list[bytes]:
    """The records of ``data`` fed in pieces cut at ``cuts``, encoded, a line each."""
    out = bytearray()
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        out += _ENCODER.encode_lines(parser.feed(data[start:cut]))
        start = cut
    out += _ENCODER.encode_lines(parser.close())
    return bytes(out).splitlines()


def both(
    provider: str, data: bytes, cuts: list[int] | None = None, **options: Any
) -> tuple[list[bytes], list[bytes]]:
    """(record path, splice path) encoded records of the same bytes."""
    options = {"batch_id": "batch_1", "attempt": 2, **options}
    record = encoded(ResultParser(provider, **options), data, cuts or [])
    spliced = encoded(RecordSplicer(provider, **options), data, cuts or [])
    return record, spliced


def assert_equal(provider: str, data: bytes, cuts: list[int] | None = None) -> None:
    for with_response in (False, True):
        record, spliced = both(provider, data, cuts, with_response=with_response)
        assert [json.loads(line) for line in spliced] == [
            json.loads(line) for line in record
        ]


FILES = [
    ("openai_output.jsonl", "openai"),
    ("openai_errors.jsonl", "openai"),
    ("anthropic_results.jsonl", "anthropic"),
]


@pytest.mark.parametrize(("name", "provider"), FILES)
def test_every_fixture_gives_equal_records(name: str, provider: str) -> None:
    data = (FIXTURES / name).read_bytes()
    assert_equal(provider, data)
    # cut at every byte: each line's record is still the same
    for cut in range(1, len(data), 97):
        assert_equal(provider, data, [cut])


def test_the_usual_lines_are_spliced_the_rest_decoded() -> None:
    data = (FIXTURES / "openai_output.jsonl").read_bytes()
    rows = RecordSplicer("openai").feed(data)
    spliced = {r.custom_id for r in rows if isinstance(r, SplicedResult)}
    assert "chat-1" in spliced  # one choice with content
    assert "resp-1" not in spliced  # two output_text parts: joined, so decoded
    assert "chat-tool" not in spliced  # the arguments of a tool call
    assert "chat-refusal" not in spliced


def test_the_field_list_is_results_own() -> None:
    from streambatch import Result

    assert SplicedResult.__struct_fields__ == Result.__struct_fields__


def test_bad_utf8_in_a_text_is_refused_as_by_the_record_path() -> None:
    line = (
        b'{"custom_id": "a", "response": {"status_code": 200, "body": {"choices": '
        b'[{"message": {"content": "caf\xc3"}}]}}}\n'
    )
    record, spliced = both("openai", line + line.replace(b'"a"', b'"b"'))
    assert record == spliced
    assert [json.loads(r)["error"]["type"] for r in spliced] == ["malformed_output"] * 2


_ONE_TEXT = {
    "openai": b'{"custom_id": "%s", "response": {"status_code": 200, "body": '
    b'{"choices": [{"message": {"content": "%s"}, "finish_reason": "stop"}]}}}\n',
    "anthropic": b'{"custom_id": "%s", "result": {"type": "succeeded", "message": '
    b'{"content": [{"type": "text", "text": "%s"}], "stop_reason": "end_turn", '
    b'"usage": {"input_tokens": 3, "output_tokens": 2}}}}\n',
}


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("orjson_check", [True, False])
def test_bad_utf8_in_one_text_costs_only_its_line(
    provider: str, orjson_check: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A block that is not all UTF-8 has each text checked on its own (as every
    # block is without orjson): the bad line is refused as the record path
    # refuses it, and its neighbours are still spliced.
    if not orjson_check:
        monkeypatch.setattr(codec, "WHOLE", None)
    line = _ONE_TEXT[provider]
    data = (
        line % (b"before", "café ".encode() + rb"\ud83d\ude42 ok")
        + line % (b"bad", b"lone \xed\xa0\x80 surrogate")
        + line % (b"after", "中文 fine 🙂".encode())
    )
    assert_equal(provider, data)
    rows = RecordSplicer(provider).feed(data)
    assert [type(r) is SplicedResult for r in rows] == [True, False, True]
    assert rows[1].error is not None
    assert rows[1].error.type == "malformed_output"


def test_a_line_that_is_not_json_costs_only_itself() -> None:
    good = (FIXTURES / "openai_output.jsonl").read_bytes()
    data = (
        good
        + b'{"custom_id": "broken", "response": {\n'
        + good.replace(b'"chat-', b'"x-')
    )
    assert_equal("openai", data)
    rows = RecordSplicer("openai").feed(data)
    spliced = {r.custom_id for r in rows if isinstance(r, SplicedResult)}
    assert {"chat-1", "x-1"} <= spliced  # its neighbours are still spliced
    broken = [r for r in rows if r.custom_id == "broken"]
    assert broken[0].error is not None
    assert broken[0].error.type == "malformed_output"


CACHED = [
    (
        "openai",
        '{"custom_id": "c", "response": {"status_code": 200, "body": {"choices": '
        '[{"message": {"content": "hi"}, "finish_reason": "stop"}], "usage": '
        '{"prompt_tokens": 2000, "completion_tokens": 3, "prompt_tokens_details": '
        '{"cached_tokens": 1024, "audio_tokens": 0}}}}}',
        {"input_tokens": 2000, "output_tokens": 3, "cached_tokens": 1024},
    ),
    (
        "openai",
        '{"custom_id": "r", "response": {"status_code": 200, "body": {"status": '
        '"completed", "output": [{"type": "message", "content": [{"type": '
        '"output_text", "text": "hi"}]}], "usage": {"input_tokens": 1500, '
        '"input_tokens_details": {"cached_tokens": 640}, "output_tokens": 4}}}}',
        {"input_tokens": 1500, "output_tokens": 4, "cached_tokens": 640},
    ),
    (
        "anthropic",
        '{"custom_id": "a", "result": {"type": "succeeded", "message": {"content": '
        '[{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "usage": '
        '{"input_tokens": 10, "cache_creation_input_tokens": 20, '
        '"cache_read_input_tokens": 1200, "output_tokens": 5}}}}',
        # ours counts the cache's tokens in the input, as OpenAI's does
        {"input_tokens": 1230, "output_tokens": 5, "cached_tokens": 1200},
    ),
    (
        "openai",
        '{"custom_id": "n", "response": {"status_code": 200, "body": {"choices": '
        '[{"message": {"content": "hi"}}], "usage": {"prompt_tokens": 9, '
        '"completion_tokens": 1}}}}',
        {"input_tokens": 9, "output_tokens": 1},  # no count: left out
    ),
]


@pytest.mark.parametrize(("provider", "line", "usage"), CACHED)
def test_cached_input_tokens_are_in_both_paths_usage(
    provider: str, line: str, usage: dict[str, int]
) -> None:
    data = (line + "\n").encode()
    for with_response in (False, True):
        record, spliced = both(provider, data, with_response=with_response)
        assert [json.loads(r)["usage"] for r in record] == [usage]
        assert [json.loads(r)["usage"] for r in spliced] == [usage]
    (row,) = ResultParser(provider).feed(data)
    assert row.usage is not None
    assert row.usage.cached_tokens == usage.get("cached_tokens")


# -- a generated corpus --------------------------------------------------------

_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f"}
_SHORT |= {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@st.composite
def literals(draw: st.DrawFn) -> str:
    """A JSON string literal of a random text, each character written one of the
    ways JSON allows: itself, a short escape, a ``\\u`` escape (upper or lower
    case hex, a surrogate pair beyond the BMP)."""
    text = draw(st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
    out = ['"']
    for char in text:
        ways = []
        if char >= " " and char not in '"\\':
            ways.append(char)
        if char in _SHORT:
            ways.append(_SHORT[char])
        code = ord(char)
        if code < 0x10000:
            ways.append(f"\\u{code:04x}")
            ways.append(f"\\u{code:04X}")
        else:
            high, low = divmod(code - 0x10000, 0x400)
            ways.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
        out.append(draw(st.sampled_from(ways)))
    out.append('"')
    return "".join(out)


def _usage(**names: object) -> str:
    return json.dumps(names)


def _cached(draw: st.DrawFn, key: str) -> dict[str, object]:
    """Usage's cached-input count under ``key``, in the shapes it comes in:
    absent, a count (0 too), null, or an object without it."""
    return draw(
        st.sampled_from(
            [{}, {key: {"cached_tokens": draw(st.integers(0, 9))}},
             {key: {"cached_tokens": None}}, {key: {"audio_tokens": 0}}, {key: None}]
        )
    )  # fmt: skip


def _openai(custom_id: str, status: int, body: str) -> str:
    return (
        f'{{"id": "batch_req_1", "custom_id": {custom_id}, "response": '
        f'{{"status_code": {status}, "request_id": "r", "body": {body}}}, "error": null}}'
    )


def openai_lines(draw: st.DrawFn, custom_id: str) -> str:
    text = draw(literals())
    usage = _usage(
        prompt_tokens=draw(st.integers(0, 9)),
        completion_tokens=3,
        **_cached(draw, "prompt_tokens_details"),
    )
    kind = draw(
        st.sampled_from(["chat", "tool", "refusal", "responses", "two", "error"])
    )
    finish = draw(
        st.sampled_from(
            ["", ', "finish_reason": "stop"', ', "finish_reason": "length"',
             ', "finish_reason": "content_filter"', ', "finish_reason": null',
             ', "finish_reason": "other"']
        )
    )  # fmt: skip
    if kind == "chat":
        message = f'{{"role": "assistant", "content": {text}, "refusal": null}}'
        body = (
            f'{{"choices": [{{"index": 0, "message": {message}{finish}}}], '
            f'"usage": {usage}}}'
        )
    elif kind == "tool":
        call = f'{{"function": {{"name": "f", "arguments": {text}}}}}'
        message = f'{{"content": null, "tool_calls": [{call}]}}'
        body = f'{{"choices": [{{"message": {message}}}], "usage": {usage}}}'
    elif kind == "refusal":
        body = f'{{"choices": [{{"message": {{"content": null, "refusal": {text}}}}}]}}'
    elif kind in ("responses", "two"):
        parts = [f'{{"type": "output_text", "text": {text}}}']
        if kind == "two":
            parts.append(f'{{"type": "output_text", "text": {draw(literals())}}}')
        item = f'{{"type": "message", "content": [{", ".join(parts)}]}}'
        usage = _usage(
            input_tokens=4, output_tokens=5, **_cached(draw, "input_tokens_details")
        )
        status = draw(
            st.sampled_from(
                ["", '"status": "completed", ', '"status": "in_progress", ',
                 '"status": "incomplete", "incomplete_details": '
                 '{"reason": "max_output_tokens"}, ']
            )
        )  # fmt: skip
        body = (
            f'{{{status}"output": [{{"type": "reasoning"}}, {item}], "usage": {usage}}}'
        )
    else:
        error = f'{{"message": {text}, "type": "server_error"}}'
        return _openai(custom_id, 500, f'{{"error": {error}}}')
    return _openai(custom_id, 200, body)


def anthropic_lines(draw: st.DrawFn, custom_id: str) -> str:
    text = draw(literals())
    kind = draw(
        st.sampled_from(["one", "two", "tool", "refusal", "errored", "expired"])
    )
    cache: dict[str, int | None] = draw(
        st.sampled_from(
            [{}, {"cache_read_input_tokens": draw(st.integers(0, 9))},
             {"cache_read_input_tokens": None, "cache_creation_input_tokens": None},
             {"cache_read_input_tokens": 2, "cache_creation_input_tokens": 5}]
        )
    )  # fmt: skip
    usage = _usage(input_tokens=3, output_tokens=draw(st.integers(0, 9)), **cache)
    blocks = [f'{{"type": "text", "text": {text}}}']
    if kind == "two":
        blocks.append(f'{{"type": "text", "text": {draw(literals())}}}')
    elif kind == "tool":
        blocks = [
            f'{{"type": "tool_use", "id": "t", "name": "f", "input": {{"q": {text}}}}}'
        ]
    if kind == "errored":
        error = (
            f'{{"type": "error", "error": {{"type": "api_error", "message": {text}}}}}'
        )
        result = f'{{"type": "errored", "error": {error}}}'
    elif kind == "expired":
        result = '{"type": "expired"}'
    else:
        stop = (
            '"refusal"'
            if kind == "refusal"
            else draw(
                st.sampled_from(
                    ['"end_turn"', '"max_tokens"', '"stop_sequence"', "null",
                     '"pause_turn"', '"tool_use"', '"something_new"']
                )
            )
        )  # fmt: skip
        message = f'{{"content": [{", ".join(blocks)}], "stop_reason": {stop}, "usage": {usage}}}'
        result = f'{{"type": "succeeded", "message": {message}}}'
    return f'{{"custom_id": {custom_id}, "result": {result}}}'


@st.composite
def files(draw: st.DrawFn, provider: str) -> tuple[bytes, list[int]]:
    count = draw(st.integers(1, 8))
    make = openai_lines if provider == "openai" else anthropic_lines
    lines = [make(draw, json.dumps(f"id-{i}")) for i in range(count)]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, count)), "")  # a blank line
    if draw(st.booleans()):  # a line that is not JSON
        lines.insert(draw(st.integers(0, count)), '{"custom_id": "bad", "x": \\q}')
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    data = ending.join(lines).encode() + draw(st.sampled_from([b"", b"\n"]))
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=4))
    return data, cuts


@settings(max_examples=150, deadline=None)
@given(files("openai"))
def test_generated_openai_lines_give_equal_records(
    case: tuple[bytes, list[int]],
) -> None:
    assert_equal("openai", *case)


@settings(max_examples=150, deadline=None)
@given(files("anthropic"))
def test_generated_anthropic_lines_give_equal_records(
    case: tuple[bytes, list[int]],
) -> None:
    assert_equal("anthropic", *case)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_long_lines_and_nul_escapes(provider: str) -> None:
    text = json.dumps('\u0000 \U0001f600 é \\ " \n' * 50_000, ensure_ascii=False)
    if provider == "openai":
        line = _openai(
            '"long"', 200, f'{{"choices": [{{"message": {{"content": {text}}}}}]}}'
        )
    else:
        message = f'{{"content": [{{"type": "text", "text": {text}}}]}}'
        line = f'{{"custom_id": "long", "result": {{"type": "succeeded", "message": {message}}}}}'
    data = (line + "\n").encode() * 3
    assert_equal(provider, data, [len(data) // 3 + 5, len(data) // 2])
    spliced = both(provider, data)[1]
    assert json.loads(spliced[0])["text"].startswith("\u0000 \U0001f600")
