"""Records: what tests can learn about what a client really did."""

from __future__ import annotations

import asyncio

import aiohttp

from streambatch.testing import Emulator, Faults, ManualClock, open_emulator

from ._support import (
    ANTHROPIC_HEADERS,
    anthropic_request,
    chat_line,
    create_batch,
    jsonl,
    wait_openai,
)


async def test_records_count_submissions_and_duplicates(
    emulator: Emulator, openai_http: aiohttp.ClientSession
) -> None:
    first = await create_batch(
        openai_http, emulator.url, jsonl([chat_line(0), chat_line(1)])
    )
    second = await create_batch(
        openai_http, emulator.url, jsonl([chat_line(1), chat_line(2)])
    )
    for batch in (first, second):
        await wait_openai(openai_http, emulator.url, batch["id"])
    records = emulator.records
    assert records.submissions() == {"r-0": 1, "r-1": 2, "r-2": 1}
    assert records.duplicates() == {"r-1": 2}
    assert records.batch(first["id"]).custom_ids() == ["r-0", "r-1"]
    assert {b.status for b in records.batches("openai")} == {"completed"}
    purposes = sorted(f.purpose for f in records.files())
    assert purposes == ["batch", "batch", "batch_output", "batch_output"]
    assert ("POST", "/v1/batches", 200) in [
        (r.method, r.path, r.status) for r in records.requests
    ]


async def test_peak_in_flight_sees_concurrency(manual_clock: ManualClock) -> None:
    faults = Faults(slow_rate=1.0, slow_seconds=0.2)
    async with (
        open_emulator(faults=faults, clock=manual_clock) as emulator,
        aiohttp.ClientSession(headers=ANTHROPIC_HEADERS) as session,
    ):

        async def get() -> int:
            async with session.get(f"{emulator.url}/v1/messages/batches") as r:
                return r.status

        gets = asyncio.gather(*(get() for _ in range(5)))
        while manual_clock.sleeping < 5:  # noqa: ASYNC110 - all five held, slowed
            await asyncio.sleep(0.005)
        assert emulator.records.in_flight == 5
        manual_clock.advance(0.2)
        statuses = await gets
        assert statuses == [200] * 5
        emulator.faults.slow_rate = 0.0
        assert emulator.records.peak_in_flight == 5
        assert emulator.records.in_flight == 0
        body = {"requests": [anthropic_request(i) for i in range(3)]}
        async with session.post(f"{emulator.url}/v1/messages/batches", json=body) as r:
            batch_id = (await r.json())["id"]
        assert emulator.records.batch(batch_id).custom_ids() == ["a-0", "a-1", "a-2"]
        assert emulator.records.batch(batch_id).provider == "anthropic"
