"""Every documented result line shape decodes to the right record (pure, no I/O)."""

from __future__ import annotations

import pathlib

import msgspec
import pytest

from streambatch import Result, ResultError, Usage
from streambatch._providers.parse import ResultParser

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures"


def records(name: str, provider: str, **options: object) -> dict[str, Result]:
    parser = ResultParser(provider, batch_id="batch_1", **options)  # type: ignore[arg-type]
    found = parser.feed((FIXTURES / name).read_bytes()) + parser.close()
    assert len({r.custom_id for r in found}) == len(found)
    return {r.custom_id: r for r in found}


def test_openai_chat_completion() -> None:
    r = records("openai_output.jsonl", "openai")["chat-1"]
    assert r == Result(
        custom_id="chat-1",
        status="succeeded",
        text='Hello "world"\n\u2028 café 🎉',
        usage=Usage(input_tokens=20, output_tokens=9, cached_tokens=0),
        stop_reason="end",
        batch_id="batch_1",
        attempt=1,
    )


def test_openai_tool_call_text_is_the_arguments() -> None:
    r = records("openai_output.jsonl", "openai")["chat-tool"]
    assert r.status == "succeeded"
    assert r.text == '{"city": "Paris"}'


def test_openai_refusal_is_errored_and_keeps_usage() -> None:
    r = records("openai_output.jsonl", "openai")["chat-refusal"]
    assert r.status == "errored"
    assert r.error == ResultError(
        type="refusal", message="I can't help with that.", status_code=200
    )
    assert r.usage == Usage(input_tokens=15, output_tokens=7)


def test_openai_responses_api_joins_output_text() -> None:
    r = records("openai_output.jsonl", "openai")["resp-1"]
    assert r.text == "Part one. Part two."
    assert r.usage == Usage(input_tokens=36, output_tokens=87, cached_tokens=0)


def test_openai_embeddings_have_no_text_and_zero_output_tokens() -> None:
    r = records("openai_output.jsonl", "openai")["emb-1"]
    assert (r.status, r.text, r.usage) == (
        "succeeded",
        None,
        Usage(input_tokens=8, output_tokens=0),
    )


def test_openai_completions_and_moderations() -> None:
    found = records("openai_output.jsonl", "openai")
    assert found["cmpl-1"].text == "\n\nThis is indeed a test"
    assert found["mod-1"].status == "succeeded"
    assert found["mod-1"].text is None
    assert found["mod-1"].usage is None


def test_openai_error_file_lines() -> None:
    found = records("openai_errors.jsonl", "openai")
    assert found["bad-1"].status == "errored"
    assert found["bad-1"].error == ResultError(
        type="invalid_request_error",
        message="Invalid 'max_tokens': integer below minimum value.",
        status_code=400,
    )
    assert found["exp-1"].status == "expired"
    assert found["exp-1"].error is not None
    assert found["exp-1"].error.type == "batch_expired"
    assert found["exp-1"].error.status_code is None
    assert found["zero-1"].status == "errored"
    assert found["zero-1"].error is not None
    assert (found["zero-1"].error.type, found["zero-1"].error.status_code) == (
        "empty_response",
        0,
    )
    assert found["srv-1"].error is not None
    assert (found["srv-1"].error.type, found["srv-1"].error.status_code) == (
        "server_error",
        500,
    )
    assert found["can-1"].status == "canceled"


def test_openai_status_zero_with_an_empty_string_body() -> None:
    line = (
        b'{"id": "x", "custom_id": "z", "response": {"status_code": 0, "body": ""}}\n'
    )
    parser = ResultParser("openai")
    (r,) = parser.feed(line)
    assert r.status == "errored"
    assert r.error == ResultError(
        type="empty_response", message="status 0 with no error body", status_code=0
    )


def test_anthropic_result_types() -> None:
    found = records("anthropic_results.jsonl", "anthropic")
    assert found["a-1"].text == 'Hello there \u2028 "friend"'
    assert found["a-1"].usage == Usage(
        input_tokens=10, output_tokens=5, cached_tokens=0
    )
    assert found["a-tool"].usage == Usage(input_tokens=30, output_tokens=20)  # none
    assert found["a-tool"].status == "succeeded"
    assert msgspec.json.decode(found["a-tool"].text or "") == {"name": "Ada", "age": 36}
    assert found["a-refusal"].status == "errored"
    assert found["a-refusal"].error is not None
    assert found["a-refusal"].error.type == "refusal"
    assert found["a-err"].error == ResultError(
        type="invalid_request_error", message="max_tokens: Field required"
    )
    assert found["a-can"].status == "canceled"
    assert found["a-exp"].status == "expired"
    assert {r.batch_id for r in found.values()} == {"batch_1"}


@pytest.mark.parametrize(
    ("name", "provider", "field"),
    [
        ("openai_output.jsonl", "openai", "body"),
        ("anthropic_results.jsonl", "anthropic", "message"),
    ],
)
def test_with_response_keeps_the_raw_body_unchanged(
    name: str, provider: str, field: str
) -> None:
    found = records(name, provider, with_response=True)
    first = (FIXTURES / name).read_bytes().split(b"\n")[0]
    wire = msgspec.json.decode(first)
    expected = (wire["response"] if provider == "openai" else wire["result"])[field]
    record = found[wire["custom_id"]]
    assert isinstance(record.response, msgspec.Raw)
    assert msgspec.json.decode(record.response) == expected
    encoded = msgspec.json.decode(msgspec.json.encode(record))
    assert encoded["response"] == expected


def test_response_is_left_out_of_json_unless_asked_for() -> None:
    found = records("openai_output.jsonl", "openai")
    encoded = msgspec.json.decode(msgspec.json.encode(found["chat-1"]))
    assert list(encoded) == [
        "custom_id",
        "status",
        "text",
        "usage",
        "stop_reason",
        "error",
        "batch_id",
        "attempt",
    ]
    assert encoded["usage"] == {
        "input_tokens": 20,
        "output_tokens": 9,
        "cached_tokens": 0,
    }


def test_error_records_of_expired_lines_with_response_have_no_response() -> None:
    found = records("openai_errors.jsonl", "openai", with_response=True)
    assert found["exp-1"].response is msgspec.UNSET
    assert found["bad-1"].status == "errored"
