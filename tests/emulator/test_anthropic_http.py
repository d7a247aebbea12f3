"""The Anthropic Message Batches API over raw HTTP: validation, counts, Range."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from streambatch.testing import (
    Emulator,
    EmulatorConfig,
    Limits,
    ManualClock,
    Timings,
    open_emulator,
)

from ._support import ANTHROPIC_HEADERS, anthropic_request, wait_anthropic


async def _create(
    session: aiohttp.ClientSession, url: str, body: Any
) -> tuple[int, dict[str, Any]]:
    async with session.post(f"{url}/v1/messages/batches", json=body) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("requests", "needle"),
    [
        ([], "at least 1"),
        ([{**anthropic_request(0), "custom_id": "bad id!"}], "pattern"),
        ([{**anthropic_request(0), "custom_id": "x" * 65}], "pattern"),
        ([anthropic_request(0), anthropic_request(0)], "duplicate"),
        ([{"custom_id": "a", "params": "text"}], "object"),
        ([{"custom_id": "a"}], "params"),
    ],
)
async def test_invalid_creates_get_400(
    emulator: Emulator,
    anthropic_http: aiohttp.ClientSession,
    requests: list[Any],
    needle: str,
) -> None:
    status, body = await _create(anthropic_http, emulator.url, {"requests": requests})
    assert status == 400
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert needle in body["error"]["message"]


async def test_limits_give_413_and_400() -> None:
    limits = Limits(anthropic_max_body_bytes=5_000, anthropic_max_requests=2)
    async with (
        open_emulator(limits=limits) as emulator,
        aiohttp.ClientSession(headers=ANTHROPIC_HEADERS) as session,
    ):
        big = {"requests": [anthropic_request(0, system="x" * 6_000)]}
        status, body = await _create(session, emulator.url, big)
        assert status == 413 and body["error"]["type"] == "request_too_large"
        many = {"requests": [anthropic_request(i) for i in range(3)]}
        status, body = await _create(session, emulator.url, many)
        assert status == 400 and "at most 2" in body["error"]["message"]


async def test_headers_are_checked(emulator: Emulator) -> None:
    url = f"{emulator.url}/v1/messages/batches"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"anthropic-version": "2023-06-01"}) as r:
            assert r.status == 401
            assert (await r.json())["error"]["type"] == "authentication_error"
        async with session.get(url, headers={"x-api-key": "k"}) as r:
            assert r.status == 400
            assert "anthropic-version" in (await r.json())["error"]["message"]
        missing = f"{url}/msgbatch_nope"
        async with session.get(missing, headers=ANTHROPIC_HEADERS) as r:
            assert r.status == 404
            assert (await r.json())["error"]["type"] == "not_found_error"


async def test_counts_stay_zero_until_the_batch_ends(
    manual_clock: ManualClock,
) -> None:
    timings = Timings(in_progress=600.0)
    async with (
        open_emulator(EmulatorConfig(timings=timings, clock=manual_clock)) as emulator,
        aiohttp.ClientSession(headers=ANTHROPIC_HEADERS) as session,
    ):
        body = {"requests": [anthropic_request(i) for i in range(30)]}
        status, created = await _create(session, emulator.url, body)
        assert status == 200
        manual_clock.advance(300.0)  # half-way
        async with session.get(
            f"{emulator.url}/v1/messages/batches/{created['id']}"
        ) as r:
            middle = await r.json()
        manual_clock.advance(300.0)
        ended = await wait_anthropic(session, emulator.url, created["id"])
    assert middle["processing_status"] == "in_progress"
    assert middle["request_counts"] == {
        "processing": 30,
        "succeeded": 0,
        "errored": 0,
        "canceled": 0,
        "expired": 0,
    }
    assert middle["results_url"] is None
    assert ended["request_counts"]["succeeded"] == 30
    assert ended["ended_at"].endswith("Z")


async def test_results_honour_range_and_the_refusal_fault(
    emulator: Emulator, anthropic_http: aiohttp.ClientSession
) -> None:
    body = {"requests": [anthropic_request(i) for i in range(20)]}
    _, created = await _create(anthropic_http, emulator.url, body)
    batch = await wait_anthropic(anthropic_http, emulator.url, created["id"])
    async with anthropic_http.get(batch["results_url"]) as response:
        whole = await response.read()
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.headers["Content-Type"] == "application/x-jsonl"
        etag = response.headers["ETag"]
    headers = {"Range": "bytes=100-", "If-Range": etag}
    async with anthropic_http.get(batch["results_url"], headers=headers) as response:
        assert response.status == 206
        assert (
            response.headers["Content-Range"]
            == f"bytes 100-{len(whole) - 1}/{len(whole)}"
        )
        assert await response.read() == whole[100:]
    async with anthropic_http.get(
        batch["results_url"], headers={"Range": f"bytes={len(whole)}-"}
    ) as response:
        assert response.status == 416
    emulator.faults.refuse_range = True
    async with anthropic_http.get(
        batch["results_url"], headers={"Range": "bytes=100-"}
    ) as response:
        assert response.status == 200 and "Accept-Ranges" not in response.headers
        assert response.content_length == len(whole)
        assert await response.read() == whole
