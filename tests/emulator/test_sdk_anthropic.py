"""Fidelity: the official anthropic SDK, unchanged, runs full round trips."""

from __future__ import annotations

import asyncio

import anthropic
import pytest

from streambatch.testing import (
    Emulator,
    EmulatorConfig,
    Timings,
    expected_text,
    open_emulator,
)

from ._support import anthropic_request


async def _wait(
    client: anthropic.AsyncAnthropic, batch_id: str
) -> anthropic.types.messages.MessageBatch:
    for _ in range(500):
        batch = await client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        await asyncio.sleep(0.01)
    raise AssertionError("batch never ended")


async def test_create_wait_results(emulator: Emulator) -> None:
    requests = [anthropic_request(i) for i in range(12)]
    async with anthropic.AsyncAnthropic(
        base_url=emulator.anthropic_base_url, api_key="test"
    ) as client:
        created = await client.messages.batches.create(
            requests=requests  # type: ignore[arg-type]
        )
        assert created.processing_status == "in_progress"
        assert created.request_counts.processing == 12
        batch = await _wait(client, created.id)
        assert batch.request_counts.succeeded == 12
        assert batch.request_counts.processing == 0
        assert batch.results_url is not None
        results = [r async for r in await client.messages.batches.results(batch.id)]
    params = {r["custom_id"]: r["params"] for r in requests}
    assert sorted(r.custom_id for r in results) == sorted(params)
    for result in results:
        assert result.result.type == "succeeded"
        block = result.result.message.content[0]
        assert block.type == "text"
        assert block.text == expected_text("anthropic", params[result.custom_id])


async def test_list_cancel_delete() -> None:
    slow = Timings(in_progress=10_000.0)
    async with (
        open_emulator(EmulatorConfig(timings=slow)) as emulator,
        anthropic.AsyncAnthropic(
            base_url=emulator.anthropic_base_url, api_key="k"
        ) as client,
    ):
        ids = []
        for i in range(3):
            batch = await client.messages.batches.create(
                requests=[anthropic_request(i)]  # type: ignore[list-item]
            )
            ids.append(batch.id)
        listed = [b.id async for b in client.messages.batches.list(limit=1)]
        assert listed == ids[::-1]
        with pytest.raises(anthropic.BadRequestError):
            await client.messages.batches.delete(ids[0])
        canceling = await client.messages.batches.cancel(ids[0])
        assert canceling.processing_status in ("canceling", "ended")
        ended = await _wait(client, ids[0])
        assert ended.request_counts.canceled == 1
        results = [r async for r in await client.messages.batches.results(ids[0])]
        assert [r.result.type for r in results] == ["canceled"]
        deleted = await client.messages.batches.delete(ids[0])
        assert deleted.type == "message_batch_deleted"
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.batches.retrieve(ids[0])
