"""A line the emulator cannot decode (bad UTF-8, a raw control character, deep
inside a field it does not otherwise read) fails that line's batch as the real
API does: never a batch left hanging in finalizing."""

from __future__ import annotations

import json

import aiohttp
import pytest

from streambatch.testing import Emulator

from ._support import anthropic_request, chat_line, create_batch, jsonl, wait_openai

BAD = [b"\xff\xfe", b"\xc3", b"\x01"]


def _spoiled(text: bytes, bad: bytes) -> bytes:
    """``text`` with the prompt's "q 2" / "hello 2" given ``bad`` bytes."""
    return text.replace(b" 2", b" " + bad, 1)


@pytest.mark.parametrize("bad", BAD)
async def test_openai_a_line_with_bad_bytes_fails_the_batch_naming_it(
    emulator: Emulator, openai_http: aiohttp.ClientSession, bad: bytes
) -> None:
    lines = jsonl([chat_line(1), chat_line(2), chat_line(3)]).splitlines(True)
    lines[1] = _spoiled(lines[1], bad)
    created = await create_batch(openai_http, emulator.url, b"".join(lines))
    batch = await wait_openai(openai_http, emulator.url, created["id"])
    assert batch["status"] == "failed"
    assert [(e["code"], e["line"]) for e in batch["errors"]["data"]] == [
        ("invalid_json_line", 2)
    ]


@pytest.mark.parametrize("bad", BAD)
async def test_anthropic_a_request_with_bad_bytes_is_refused_at_create(
    emulator: Emulator, anthropic_http: aiohttp.ClientSession, bad: bytes
) -> None:
    body = json.dumps({"requests": [anthropic_request(i) for i in (1, 2, 3)]})
    data = _spoiled(body.encode(), bad)
    async with anthropic_http.post(
        f"{emulator.url}/v1/messages/batches",
        data=data,
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert "JSON" in error["message"]
    assert emulator.records.batches("anthropic") == []
