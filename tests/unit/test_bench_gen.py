"""The benchmark data generator writes the documented line shapes (PROVIDERS.md 2.6, 4.4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import _gen
from streambatch._providers.parse import ResultParser

from .test_bench_gen_gemini import _check_gemini

SIZE = 2_000_000  # about 1,100 lines: enough for a 2% error rate to show
ERROR_RATE = 0.02


def _lines(path: Path) -> list[dict[str, Any]]:
    with open(path, "rb") as file:
        return [json.loads(line) for line in file]


def _check_openai(line: dict[str, Any]) -> bool:
    """Assert the shape of one OpenAI line; return whether it is an error line."""
    assert set(line) == {"id", "custom_id", "response", "error"}
    assert line["id"].startswith("batch_req_")
    response = line["response"]
    if response is None:
        assert line["error"]["code"] == "batch_expired"
        assert isinstance(line["error"]["message"], str)
        return True
    assert line["error"] is None
    assert set(response) == {"status_code", "request_id", "body"}
    body = response["body"]
    if response["status_code"] != 200:
        assert 400 <= response["status_code"] < 600
        assert set(body["error"]) == {"message", "type", "param", "code"}
        return True
    assert body["object"] == "chat.completion"
    assert set(body) == {
        "id", "object", "created", "model", "choices", "usage",
        "service_tier", "system_fingerprint",
    }  # fmt: skip
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["refusal"] is None
    assert choice["message"]["annotations"] == []
    assert 50 <= len(choice["message"]["content"]) <= 2000
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert set(usage["prompt_tokens_details"]) == {"cached_tokens", "audio_tokens"}
    assert len(usage["completion_tokens_details"]) == 4
    return False


def _check_anthropic(line: dict[str, Any]) -> bool:
    """Assert the shape of one Anthropic line; return whether it is an error line."""
    assert set(line) == {"custom_id", "result"}
    result = line["result"]
    if result["type"] in ("expired", "canceled"):
        assert result == {"type": result["type"]}
        return True
    if result["type"] == "errored":
        envelope = result["error"]
        assert envelope["type"] == "error"
        assert set(envelope["error"]) == {"type", "message"}  # the double nesting
        return True
    assert result["type"] == "succeeded"
    message = result["message"]
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    assert message["stop_sequence"] is None
    assert all(block["type"] == "text" for block in message["content"])
    text = "".join(block["text"] for block in message["content"])
    assert 50 <= len(text) <= 2000
    assert {"input_tokens", "output_tokens", "cache_read_input_tokens"} <= set(
        message["usage"]
    )
    return False


@pytest.mark.parametrize("provider", _gen.PROVIDERS)
def test_generated_lines_have_the_documented_shape(
    tmp_path: Path, provider: str
) -> None:
    path = tmp_path / "out.jsonl"
    stats = _gen.write_file(path, provider, SIZE, seed=7, error_rate=ERROR_RATE)

    lines = _lines(path)
    check = {"openai": _check_openai, "gemini": _check_gemini}.get(
        provider, _check_anthropic
    )
    errors = sum(check(line) for line in lines)

    assert stats.bytes == path.stat().st_size >= SIZE
    assert stats.lines == len(lines)
    assert stats.errors == errors
    assert 0.005 < errors / len(lines) < 0.05
    assert len({line.get("custom_id", line.get("key")) for line in lines}) == len(lines)
    raw = path.read_bytes()  # texts hold escaped newlines and quotes, and raw UTF-8
    assert b"\\n" in raw and b'\\"' in raw and "🙂".encode() in raw


@pytest.mark.parametrize("shape", _gen.SHAPES)
def test_streambatch_reads_every_generated_record(tmp_path: Path, shape: str) -> None:
    path = tmp_path / "out.jsonl"
    stats = _gen.write_file(path, shape, SIZE, seed=7, error_rate=ERROR_RATE)

    parser = ResultParser("openai" if shape == "responses" else shape)
    records = []
    with open(path, "rb") as file:
        while chunk := file.read(65_536):
            records += parser.feed(chunk)
    records += parser.close()

    assert len(records) == stats.lines
    failed = sum(record.status != "succeeded" for record in records)
    assert failed == stats.errors
    assert all(r.text for r in records if r.status == "succeeded")


def test_generation_is_deterministic_and_cached(tmp_path: Path) -> None:
    first, made = _gen.ensure_file(tmp_path, "openai", 100_000, seed=3)
    again, cached = _gen.ensure_file(tmp_path, "openai", 100_000, seed=3)
    other = tmp_path / "other.jsonl"
    _gen.write_file(other, "openai", 100_000, seed=3)

    assert made is not None and cached is None and again == first
    assert first.read_bytes() == other.read_bytes()


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("20MB", 20 * 10**6),
        ("1GB", 10**9),
        ("1.5gb", 1_500_000_000),
        ("500KB", 500_000),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert _gen.parse_size(text) == size
