"""The OpenAI Files and Batches APIs over raw HTTP: shapes, errors, validation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from streambatch.testing import (
    Emulator,
    EmulatorConfig,
    Limits,
    ManualClock,
    Timings,
    expected_text,
    open_emulator,
)

from ._support import chat_line, create_batch, jsonl, lines_of, upload, wait_openai


async def test_missing_and_wrong_keys_get_the_real_401(emulator: Emulator) -> None:
    async with (
        aiohttp.ClientSession() as bare,
        bare.get(f"{emulator.url}/v1/batches") as response,
    ):
        assert response.status == 401
        body = await response.json()
    assert body["error"]["type"] == "invalid_request_error"
    assert "didn't provide an API key" in body["error"]["message"]
    async with open_emulator(api_key="sk-secret-1") as guarded:
        headers = {"Authorization": "Bearer sk-other-2"}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(f"{guarded.url}/v1/batches") as response,
        ):
            assert response.status == 401
            text = await response.text()
        assert json.loads(text)["error"]["code"] == "invalid_api_key"
        assert "sk-other-2" not in text and "sk-secret-1" not in text


async def test_unknown_ids_and_routes_get_404_envelopes(
    emulator: Emulator, openai_http: aiohttp.ClientSession
) -> None:
    for path in ("/v1/files/file-nope", "/v1/batches/batch_nope", "/v1/nothing"):
        async with openai_http.get(emulator.url + path) as response:
            assert response.status == 404
            body = await response.json()
        assert set(body["error"]) == {"message", "type", "param", "code"}


async def test_bad_uploads_get_400(
    emulator: Emulator, openai_http: aiohttp.ClientSession
) -> None:
    bad_name = await upload(openai_http, emulator.url, b"{}\n", name="in.txt")
    assert bad_name.status == 400
    form = aiohttp.FormData()
    form.add_field("file", b"{}\n", filename="in.jsonl")
    async with openai_http.post(f"{emulator.url}/v1/files", data=form) as response:
        assert response.status == 400
        assert "purpose" in (await response.json())["error"]["message"]
    async with openai_http.post(f"{emulator.url}/v1/files", json={}) as response:
        assert response.status == 400


async def test_too_large_upload_is_rejected() -> None:
    async with (
        open_emulator(limits=Limits(openai_max_file_bytes=1000)) as emulator,
        aiohttp.ClientSession(headers={"Authorization": "Bearer k"}) as session,
    ):
        response = await upload(session, emulator.url, b"x" * 5000)
        assert response.status == 400
        assert emulator.records.files() == []


async def test_bad_create_requests_get_400_or_404(
    emulator: Emulator, openai_http: aiohttp.ClientSession
) -> None:
    url = f"{emulator.url}/v1/batches"
    file_id = (await create_batch(openai_http, emulator.url, jsonl([chat_line(0)])))[
        "input_file_id"
    ]
    cases: list[tuple[Any, int]] = [
        ({"endpoint": "/v1/chat/completions", "completion_window": "24h"}, 400),
        (
            {"input_file_id": file_id, "endpoint": "/v1/x", "completion_window": "24h"},
            400,
        ),
        (
            {
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "1h",
            },
            400,
        ),
        (
            {
                "input_file_id": "file-missing",
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            404,
        ),
    ]
    for body, status in cases:
        async with openai_http.post(url, json=body) as response:
            assert response.status == status, body
            assert "error" in await response.json()
    async with openai_http.post(url, data=b"not json") as response:
        assert response.status == 400


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'{"custom_id": "r-1"\n', "invalid_json_line"),
        (jsonl([chat_line(1), chat_line(1)]), "duplicate_custom_id"),
        (jsonl([chat_line(1), chat_line(2, model="gpt-4o")]), "model_mismatch"),
        (
            jsonl([chat_line(1), {**chat_line(2), "url": "/v1/embeddings"}]),
            "url_mismatch",
        ),
        (b"\n", "empty_batch"),
    ],
)
async def test_invalid_inputs_fail_the_batch_with_line_errors(
    emulator: Emulator, openai_http: aiohttp.ClientSession, data: bytes, code: str
) -> None:
    created = await create_batch(openai_http, emulator.url, data)
    batch = await wait_openai(openai_http, emulator.url, created["id"])
    assert batch["status"] == "failed"
    assert batch["failed_at"] is not None and batch["output_file_id"] is None
    assert [e["code"] for e in batch["errors"]["data"]] == [code]
    if code not in ("empty_batch",):
        assert batch["errors"]["data"][0]["line"] in (1, 2)


async def test_too_many_lines_or_bytes_fail_the_batch() -> None:
    limits = Limits(openai_max_requests=3, openai_max_batch_bytes=10_000)
    async with (
        open_emulator(limits=limits) as emulator,
        aiohttp.ClientSession(headers={"Authorization": "Bearer k"}) as session,
    ):
        many = await create_batch(
            session, emulator.url, jsonl([chat_line(i) for i in range(4)])
        )
        big = await create_batch(
            session, emulator.url, jsonl([chat_line(0, pad="x" * 20_000)])
        )
        ended = [await wait_openai(session, emulator.url, b["id"]) for b in (many, big)]
    codes = [b["errors"]["data"][0]["code"] for b in ended]
    assert codes == ["too_many_tasks", "file_too_large"]


def _endpoint_line(i: int, endpoint: str) -> dict[str, Any]:
    bodies: dict[str, dict[str, Any]] = {
        "/v1/embeddings": {"model": "text-embedding-3-small", "input": ["a", f"b{i}"]},
        "/v1/moderations": {"model": "omni-moderation-latest", "input": f"text {i}"},
        "/v1/responses": {"model": "gpt-4o-mini", "input": f"question {i}"},
        "/v1/completions": {"model": "gpt-3.5-turbo-instruct", "prompt": f"p {i}"},
    }
    return {
        "custom_id": f"e-{i}",
        "method": "POST",
        "url": endpoint,
        "body": bodies[endpoint],
    }


@pytest.mark.parametrize(
    "endpoint",
    ["/v1/embeddings", "/v1/moderations", "/v1/responses", "/v1/completions"],
)
async def test_every_endpoint_has_its_real_body_shape(
    emulator: Emulator, openai_http: aiohttp.ClientSession, endpoint: str
) -> None:
    lines = [_endpoint_line(i, endpoint) for i in range(3)]
    created = await create_batch(openai_http, emulator.url, jsonl(lines), endpoint)
    batch = await wait_openai(openai_http, emulator.url, created["id"])
    url = f"{emulator.url}/v1/files/{batch['output_file_id']}/content"
    records = await lines_of(openai_http, url)
    by_id = {line["custom_id"]: line["body"] for line in lines}
    for record in records:
        body = record["response"]["body"]
        request = by_id[record["custom_id"]]
        if endpoint == "/v1/embeddings":
            assert body["object"] == "list" and len(body["data"]) == 2
            assert len(body["data"][0]["embedding"]) == 8
        elif endpoint == "/v1/moderations":
            assert body["results"][0]["flagged"] is False
        elif endpoint == "/v1/responses":
            assert body["object"] == "response"
            content = body["output"][0]["content"][0]
            assert content["type"] == "output_text"
            assert content["text"] == expected_text("openai", request)
        else:
            assert body["object"] == "text_completion"
            assert body["choices"][0]["text"] == expected_text("openai", request)


async def test_max_tokens_truncates_with_length(
    emulator: Emulator, openai_http: aiohttp.ClientSession
) -> None:
    line = chat_line(0, max_tokens=3)
    created = await create_batch(openai_http, emulator.url, jsonl([line]))
    batch = await wait_openai(openai_http, emulator.url, created["id"])
    url = f"{emulator.url}/v1/files/{batch['output_file_id']}/content"
    [record] = await lines_of(openai_http, url)
    choice = record["response"]["body"]["choices"][0]
    assert choice["finish_reason"] == "length"
    assert len(choice["message"]["content"].split()) == 3
    assert record["response"]["body"]["usage"]["completion_tokens"] == 3


async def test_progress_counts_advance_on_a_slow_clock(
    manual_clock: ManualClock,
) -> None:
    timings = Timings(validating=0.0, in_progress=100.0)
    async with (
        open_emulator(EmulatorConfig(timings=timings, clock=manual_clock)) as emulator,
        aiohttp.ClientSession(headers={"Authorization": "Bearer k"}) as session,
    ):
        lines = jsonl([chat_line(i) for i in range(100)])
        created = await create_batch(session, emulator.url, lines)
        seen = []
        while True:
            async with session.get(f"{emulator.url}/v1/batches/{created['id']}") as r:
                batch = await r.json()
            seen.append((batch["status"], batch["request_counts"]["completed"]))
            if batch["status"] == "completed":
                break
            if batch["status"] == "in_progress":
                manual_clock.advance(10.0)
            else:  # validation and the result files are work on a thread, not time
                await asyncio.sleep(0.005)
    partial = [n for status, n in seen if status == "in_progress"]
    assert any(0 < n < 100 for n in partial), seen
    assert partial == sorted(partial)
    assert batch["in_progress_at"] <= batch["finalizing_at"] <= batch["completed_at"]


async def test_content_supports_range_and_etag(
    emulator: Emulator, openai_http: aiohttp.ClientSession
) -> None:
    created = await create_batch(
        openai_http, emulator.url, jsonl([chat_line(i) for i in range(9)])
    )
    batch = await wait_openai(openai_http, emulator.url, created["id"])
    url = f"{emulator.url}/v1/files/{batch['output_file_id']}/content"
    async with openai_http.get(url) as response:
        whole = await response.read()
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.content_length == len(whole)
        etag = response.headers["ETag"]
    async with openai_http.get(url, headers={"Range": "bytes=50-"}) as response:
        assert response.status == 206 and response.headers["ETag"] == etag
        assert await response.read() == whole[50:]
    async with openai_http.get(
        url, headers={"Range": "bytes=50-", "If-Range": '"stale"'}
    ) as response:
        assert response.status == 200 and await response.read() == whole
