"""Every record carries the provider's stop reason, normalised (docs/parsing.md).

Pure, no I/O: the record path and the splicing write path read the same lines.
"""

from __future__ import annotations

import json
import pathlib

import msgspec
import pytest

from streambatch._providers.codec import SplicedResult
from streambatch._providers.parse import ResultParser
from streambatch._providers.splice import RecordSplicer

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures"


def stops(provider: str, data: bytes) -> dict[str, str | None]:
    """custom_id -> stop_reason on both paths, checked equal as JSON."""
    parser = ResultParser(provider)
    splicer = RecordSplicer(provider)
    records = parser.feed(data) + parser.close()
    spliced = splicer.feed(data) + splicer.close()
    encode = msgspec.json.encode
    assert [json.loads(encode(r)) for r in spliced] == [
        json.loads(encode(r)) for r in records
    ]
    return {r.custom_id: r.stop_reason for r in records}


def chat(custom_id: str, finish: str | None, content: str = '"hi"') -> str:
    reason = json.dumps(finish)
    return json.dumps(
        {
            "custom_id": custom_id,
            "response": {
                "status_code": 200,
                "body": {
                    "choices": [
                        {
                            "message": {"content": json.loads(content)},
                            "finish_reason": json.loads(reason),
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 2},
                },
            },
        }
    )


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("stop", "end"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "content_filter"),
        (None, None),
        ("a_new_reason", None),
    ],
)
def test_openai_chat_finish_reasons(finish: str | None, expected: str | None) -> None:
    data = (chat("c", finish) + "\n").encode()
    assert stops("openai", data) == {"c": expected}


def test_a_cut_off_answer_is_a_success_with_max_tokens_and_is_spliced() -> None:
    data = (chat("c", "length") + "\n").encode()
    (record,) = RecordSplicer("openai").feed(data)
    assert isinstance(record, SplicedResult)
    assert (record.status, record.stop_reason, record.error) == (
        "succeeded",
        "max_tokens",
        None,
    )


def responses(custom_id: str, **fields: object) -> str:
    item = {"type": "message", "content": [{"type": "output_text", "text": "x"}]}
    body: dict[str, object] = {
        "output": [item],
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    body.update(fields)
    return json.dumps(
        {"custom_id": custom_id, "response": {"status_code": 200, "body": body}}
    )


def test_openai_responses_status_and_incomplete_details() -> None:
    call = {"type": "function_call", "arguments": "{}"}
    lines = [
        responses("done", status="completed"),
        responses(
            "cut",
            status="incomplete",
            incomplete_details={"reason": "max_output_tokens"},
        ),
        responses(
            "filtered",
            status="incomplete",
            incomplete_details={"reason": "content_filter"},
        ),
        responses("call", status="completed", output=[call]),
        responses("none"),
    ]
    data = "\n".join(lines).encode()
    assert stops("openai", data) == {
        "done": "end",
        "cut": "max_tokens",
        "filtered": "content_filter",
        "call": "tool_use",
        "none": None,
    }


def test_openai_fixtures() -> None:
    found = stops("openai", (FIXTURES / "openai_output.jsonl").read_bytes())
    assert found["chat-1"] == "end"
    assert found["chat-tool"] == "tool_use"
    assert found["chat-refusal"] == "refusal"
    assert found["emb-1"] is None  # embeddings: no stop reason
    errors = stops("openai", (FIXTURES / "openai_errors.jsonl").read_bytes())
    assert set(errors.values()) == {None}  # failed requests stopped nowhere


def anthropic(custom_id: str, stop: str | None) -> str:
    message = {
        "content": [{"type": "text", "text": "partial"}],
        "stop_reason": stop,
        "usage": {"input_tokens": 1, "output_tokens": 2},
    }
    result = {"type": "succeeded", "message": message}
    return json.dumps({"custom_id": custom_id, "result": result})


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("end_turn", "end"),
        ("max_tokens", "max_tokens"),
        ("model_context_window_exceeded", "max_tokens"),
        ("stop_sequence", "stop_sequence"),
        ("tool_use", "tool_use"),
        ("pause_turn", "tool_use"),
        ("refusal", "refusal"),
        (None, None),
        ("a_new_reason", None),
    ],
)
def test_anthropic_stop_reasons(stop: str | None, expected: str | None) -> None:
    assert stops("anthropic", (anthropic("a", stop) + "\n").encode()) == {"a": expected}


def test_anthropic_fixtures_and_a_refusal_stays_errored() -> None:
    data = (FIXTURES / "anthropic_results.jsonl").read_bytes()
    found = stops("anthropic", data)
    assert found["a-1"] == "end"
    assert found["a-tool"] == "tool_use"
    assert found["a-refusal"] == "refusal"
    assert found["a-err"] is found["a-can"] is found["a-exp"] is None
    parser = ResultParser("anthropic")
    refusal = {r.custom_id: r for r in parser.feed(data)}["a-refusal"]
    assert refusal.status == "errored"


def test_gemini_finish_reasons() -> None:
    found = stops("gemini", (FIXTURES / "gemini_responses.jsonl").read_bytes())
    assert found["request_1"] == "end"
    assert found["max-tokens"] == "max_tokens"
    assert found["tool"] == "tool_use"  # STOP with a functionCall
    assert found["safety"] == "content_filter"
    assert found["prompt-blocked"] == "content_filter"
    assert found["malformed-call"] is None
    assert found["quota"] is None


def test_the_record_json_has_stop_reason_after_usage() -> None:
    parser = ResultParser("openai")
    (record,) = parser.feed((chat("c", "length") + "\n").encode())
    keys = list(json.loads(msgspec.json.encode(record)))
    assert keys[keys.index("usage") + 1] == "stop_reason"
