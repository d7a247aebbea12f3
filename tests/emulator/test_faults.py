"""Every fault, driven from Python: item errors, expiry, HTTP faults, drops."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from streambatch.testing import Emulator, Faults, ManualClock, open_emulator

from ._support import (
    anthropic_request,
    chat_line,
    create_batch,
    jsonl,
    lines_of,
    upload,
    upload_id,
    wait_anthropic,
    wait_openai,
)

KEY = {"Authorization": "Bearer k"}


async def _run_batch(
    faults: Faults, count: int = 40
) -> tuple[dict[str, object], list[dict[str, object]], list[dict[str, object]]]:
    async with (
        open_emulator(faults=faults) as emulator,
        aiohttp.ClientSession(headers=KEY) as session,
    ):
        lines = jsonl([chat_line(i) for i in range(count)])
        created = await create_batch(session, emulator.url, lines)
        batch = await wait_openai(session, emulator.url, created["id"])
        files: list[list[dict[str, object]]] = []
        for key in ("output_file_id", "error_file_id"):
            if batch[key] is None:
                files.append([])
                continue
            url = f"{emulator.url}/v1/files/{batch[key]}/content"
            files.append(await lines_of(session, url))
    return batch, files[0], files[1]


async def test_item_errors_land_in_the_error_file() -> None:
    batch, output, errors = await _run_batch(Faults(item_error_rate=0.5, seed=3))
    assert batch["status"] == "completed"
    assert 0 < len(errors) < 40 and len(output) + len(errors) == 40
    assert batch["request_counts"] == {
        "total": 40,
        "completed": len(output),
        "failed": len(errors),
    }
    for line in errors:
        response = line["response"]
        assert isinstance(response, dict) and response["status_code"] in (400, 500)
        assert set(response["body"]["error"]) == {"message", "type", "param", "code"}
        assert line["error"] is None


async def test_expiry_keeps_finished_items_and_expires_the_rest() -> None:
    batch, output, errors = await _run_batch(Faults(expiry_rate=1.0))
    assert batch["status"] == "expired" and batch["expired_at"] is not None
    assert 0 < len(output) < 40 and len(output) + len(errors) == 40
    assert {json.dumps(e["error"]) for e in errors} == {
        json.dumps(
            {
                "code": "batch_expired",
                "message": "This request could not be executed before the "
                "completion window expired.",
            }
        )
    }
    assert all(e["response"] is None for e in errors)


async def test_all_failed_batch_has_only_an_error_file() -> None:
    batch, output, errors = await _run_batch(Faults(all_failed_rate=1.0))
    assert batch["status"] == "completed"
    assert batch["output_file_id"] is None and len(errors) == 40 and output == []


async def test_stuck_finalizing_then_completes(manual_clock: ManualClock) -> None:
    faults = Faults(stuck_finalizing_rate=1.0, stuck_finalizing_seconds=30.0)
    async with (
        open_emulator(faults=faults, clock=manual_clock) as emulator,
        aiohttp.ClientSession(headers=KEY) as session,
    ):
        created = await create_batch(session, emulator.url, jsonl([chat_line(0)]))
        url = f"{emulator.url}/v1/batches/{created['id']}"

        async def status() -> str:
            async with session.get(url) as r:
                found: str = (await r.json())["status"]
                return found

        # Until its results are written, and 30 s of the clock after, it finalizes.
        while not any(f.purpose == "batch_output" for f in emulator.records.files()):
            assert await status() in ("validating", "finalizing")
            await asyncio.sleep(0.005)  # the results are written on a worker thread
        assert await status() == "finalizing"
        manual_clock.advance(29.9)
        assert await status() == "finalizing"
        manual_clock.advance(0.1)
        batch = await wait_openai(session, emulator.url, created["id"])
    assert batch["status"] == "completed"


async def test_new_file_is_briefly_invisible(manual_clock: ManualClock) -> None:
    faults = Faults(invisible_file_seconds=0.3)
    async with (
        open_emulator(faults=faults, clock=manual_clock) as emulator,
        aiohttp.ClientSession(headers=KEY) as session,
    ):
        file_id = await upload_id(session, emulator.url, jsonl([chat_line(0)]))
        async with session.get(f"{emulator.url}/v1/files/{file_id}") as r:
            assert r.status == 404
        manual_clock.advance(0.29)
        async with session.get(f"{emulator.url}/v1/files") as r:
            assert file_id not in {f["id"] for f in (await r.json())["data"]}
        manual_clock.advance(0.01)
        async with session.get(f"{emulator.url}/v1/files/{file_id}") as r:
            assert r.status == 200
        async with session.get(f"{emulator.url}/v1/files") as r:
            assert file_id in {f["id"] for f in (await r.json())["data"]}


async def test_429_carries_retry_after(emulator: Emulator) -> None:
    emulator.faults.rate_limit_rate = 1.0
    emulator.faults.retry_after_seconds = 2.5
    async with (
        aiohttp.ClientSession(headers=KEY) as session,
        session.get(f"{emulator.url}/v1/batches") as response,
    ):
        assert response.status == 429
        assert response.headers["Retry-After"] == "2.5"
        assert (await response.json())["error"]["code"] == "rate_limit_exceeded"
    emulator.faults = Faults()
    async with (
        aiohttp.ClientSession(headers=KEY) as session,
        session.get(f"{emulator.url}/v1/batches") as response,
    ):
        assert response.status == 200


async def test_server_errors_use_each_providers_envelope(emulator: Emulator) -> None:
    emulator.faults.server_error_rate = 1.0
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{emulator.url}/v1/batches", headers=KEY) as r:
            assert r.status in (500, 503)
            assert (await r.json())["error"]["type"] == "server_error"
        headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
        async with session.get(
            f"{emulator.url}/v1/messages/batches", headers=headers
        ) as r:
            assert r.status in (500, 529)
            assert (await r.json())["type"] == "error"


async def test_slow_responses_are_slow(manual_clock: ManualClock) -> None:
    faults = Faults(slow_rate=1.0, slow_seconds=0.3)
    async with (
        open_emulator(faults=faults, clock=manual_clock) as emulator,
        aiohttp.ClientSession(headers=KEY) as session,
    ):

        async def get() -> int:
            async with session.get(f"{emulator.url}/v1/batches") as response:
                return response.status

        answer = asyncio.create_task(get())
        while manual_clock.sleeping == 0:  # noqa: ASYNC110 - the request is on its way
            await asyncio.sleep(0.005)
        manual_clock.advance(0.29)
        for _ in range(20):  # turns of the loop for an answer that must not come
            await asyncio.sleep(0)
        assert not answer.done() and emulator.records.in_flight == 1
        manual_clock.advance(0.01)
        assert await answer == 200


async def test_tiny_pieces_still_make_the_whole_body(emulator: Emulator) -> None:
    async with aiohttp.ClientSession(headers=KEY) as session:
        created = await create_batch(session, emulator.url, jsonl([chat_line(0)]))
        batch = await wait_openai(session, emulator.url, created["id"])
        emulator.faults.chunk_bytes = 7
        url = f"{emulator.url}/v1/files/{batch['output_file_id']}/content"
        async with session.get(url) as response:
            assert response.content_length is not None
            pieces = [c async for c in response.content.iter_any()]
    assert len(pieces) > 3
    assert len(b"".join(pieces)) == response.content_length
    assert json.loads(b"".join(pieces))["custom_id"] == "r-0"


async def test_download_drop_cuts_the_body_short(emulator: Emulator) -> None:
    async with aiohttp.ClientSession(headers=KEY) as session:
        lines = jsonl([chat_line(i) for i in range(200)])
        created = await create_batch(session, emulator.url, lines)
        batch = await wait_openai(session, emulator.url, created["id"])
        emulator.faults.drop_download_rate = 1.0
        url = f"{emulator.url}/v1/files/{batch['output_file_id']}/content"
        with pytest.raises(aiohttp.ClientPayloadError):
            async with session.get(url) as response:
                await response.read()


async def test_upload_drop_cuts_the_connection(emulator: Emulator) -> None:
    emulator.faults.drop_upload_rate = 1.0
    fresh = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(headers=KEY, connector=fresh) as session:
        with pytest.raises(aiohttp.ClientError):
            await upload(session, emulator.url, b"x" * 2_000_000)
        with pytest.raises(aiohttp.ClientError):
            body = {"requests": [anthropic_request(i) for i in range(2000)]}
            headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
            async with session.post(
                f"{emulator.url}/v1/messages/batches", json=body, headers=headers
            ) as response:
                await response.read()
    assert emulator.records.files() == []


async def test_anthropic_item_errors_and_expiry() -> None:
    faults = Faults(item_error_rate=0.5, expiry_rate=1.0, seed=1)
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    async with (
        open_emulator(faults=faults) as emulator,
        aiohttp.ClientSession(headers=headers) as session,
    ):
        body = {"requests": [anthropic_request(i) for i in range(40)]}
        async with session.post(f"{emulator.url}/v1/messages/batches", json=body) as r:
            created = await r.json()
        batch = await wait_anthropic(session, emulator.url, created["id"])
        results = await lines_of(session, batch["results_url"])
    kinds = {r["result"]["type"] for r in results}
    assert kinds == {"succeeded", "errored", "expired"}
    counts = batch["request_counts"]
    assert sum(counts.values()) == 40 and counts["processing"] == 0
    errored = next(r for r in results if r["result"]["type"] == "errored")
    assert errored["result"]["error"]["type"] == "error"
    assert errored["result"]["error"]["error"]["type"] in (
        "api_error",
        "overloaded_error",
    )
