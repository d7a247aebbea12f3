"""Gemini batch response lines decode to the right records (pure, no I/O)."""

from __future__ import annotations

import pathlib

import msgspec
import pytest

from streambatch import Result, ResultError, Usage, read_results
from streambatch._providers.gemini import http_status
from streambatch._providers.parse import ResultParser

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures"


def records(name: str, **options: object) -> dict[str, Result]:
    parser = ResultParser("gemini", batch_id="batches/b1", **options)  # type: ignore[arg-type]
    found = parser.feed((FIXTURES / name).read_bytes()) + parser.close()
    assert len({r.custom_id for r in found}) == len(found)
    return {r.custom_id: r for r in found}


def test_text_response_with_thinking_tokens_counted_as_output() -> None:
    r = records("gemini_responses.jsonl")["request_1"]
    assert r == Result(
        custom_id="request_1",
        status="succeeded",
        text='Photosynthesis turns light into "sugar"\u2028 café 🎉',
        usage=Usage(input_tokens=8, output_tokens=11 + 829),
        stop_reason="end",
        batch_id="batches/b1",
        attempt=1,
    )


def test_thought_parts_are_left_out_and_text_parts_joined() -> None:
    r = records("gemini_responses.jsonl")["thinking"]
    assert (r.status, r.text) == ("succeeded", "Part one. Part two.")
    assert r.usage == Usage(input_tokens=20, output_tokens=106, cached_tokens=12)


def test_max_tokens_is_a_success_with_the_partial_text() -> None:
    r = records("gemini_responses.jsonl")["max-tokens"]
    assert (r.status, r.text, r.error) == ("succeeded", "Once upon a", None)


def test_function_call_text_is_its_args_as_json() -> None:
    r = records("gemini_responses.jsonl")["tool"]
    assert r.status == "succeeded"
    assert msgspec.json.decode(r.text or "") == {"city": "Paris"}


def test_safety_finish_reason_is_a_refusal_with_usage_kept() -> None:
    r = records("gemini_responses.jsonl")["safety"]
    assert r.status == "errored"
    assert r.error == ResultError(
        type="refusal", message="the response was blocked (finishReason SAFETY)"
    )
    assert r.usage == Usage(input_tokens=12, output_tokens=0)


def test_blocked_prompt_without_candidates_is_a_refusal() -> None:
    r = records("gemini_responses.jsonl")["prompt-blocked"]
    assert r.status == "errored"
    assert r.error is not None
    assert r.error.type == "refusal"
    assert "PROHIBITED_CONTENT" in r.error.message
    assert r.usage == Usage(input_tokens=9, output_tokens=0)


def test_other_finish_reasons_are_errored_under_their_name() -> None:
    r = records("gemini_responses.jsonl")["malformed-call"]
    assert r.status == "errored"
    assert r.error is not None
    assert r.error.type == "malformed_function_call"


@pytest.mark.parametrize(
    ("key", "kind", "code"),
    [
        ("bad-request", "INVALID_ARGUMENT", 400),
        ("quota", "RESOURCE_EXHAUSTED", 429),
        ("http-coded", "INTERNAL", 500),
    ],
)
def test_error_lines_are_errored_with_an_http_status(
    key: str, kind: str, code: int
) -> None:
    r = records("gemini_responses.jsonl")[key]
    assert r.status == "errored"
    assert r.error is not None
    assert (r.error.type, r.error.status_code) == (kind, code)
    assert r.error.message


def test_inline_responses_are_keyed_by_metadata_key() -> None:
    found = records("gemini_inlined.jsonl")
    assert found["inline-1"].text == "Hi there!"
    assert found["inline-2"].status == "errored"
    assert found["inline-2"].error == ResultError(
        type="INTERNAL", message="Internal error encountered.", status_code=500
    )


def test_a_line_without_a_key_is_malformed_never_matched_by_position() -> None:
    parser = ResultParser("gemini")
    line = b'{"response": {"candidates": [{"content": {"parts": [{"text": "x"}]}}]}}\n'
    [r] = parser.feed(line) + parser.close()
    assert (r.custom_id, r.status) == ("", "errored")
    assert r.error is not None
    assert r.error.type == "malformed_output"


def test_a_bad_line_in_a_block_spoils_only_itself() -> None:
    good = (FIXTURES / "gemini_responses.jsonl").read_bytes()
    parser = ResultParser("gemini")
    found = parser.feed(good + b'{"key": "k", "response": 5}\n' + good[:300])
    found += parser.close()
    statuses = [r.status for r in found if r.custom_id == "k"]
    assert statuses == ["errored"]
    assert sum(r.custom_id == "request_1" for r in found) == 2


def test_with_response_keeps_the_raw_response_or_error() -> None:
    found = records("gemini_responses.jsonl", with_response=True)
    body = msgspec.json.decode(bytes(found["request_1"].response))  # type: ignore[arg-type]
    assert body["modelVersion"] == "gemini-2.5-flash"
    error = msgspec.json.decode(bytes(found["quota"].response))  # type: ignore[arg-type]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert (
        found["request_1"].text == records("gemini_responses.jsonl")["request_1"].text
    )


def test_read_results_accepts_the_gemini_provider() -> None:
    found = list(read_results(FIXTURES / "gemini_responses.jsonl", provider="gemini"))
    assert len(found) == 10


def test_http_status_maps_grpc_codes_and_keeps_http_ones() -> None:
    assert [http_status(c) for c in (None, 4, 14, 16, 404)] == [
        None,
        504,
        503,
        401,
        404,
    ]
