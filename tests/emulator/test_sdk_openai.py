"""Fidelity: the official openai SDK, unchanged, runs full round trips."""

from __future__ import annotations

import asyncio
import io
import json

import openai
import pytest

from streambatch.testing import (
    Emulator,
    EmulatorConfig,
    Timings,
    expected_text,
    open_emulator,
)

from ._support import chat_line, jsonl

TERMINAL = ("completed", "failed", "expired", "cancelled")


async def _wait(client: openai.AsyncOpenAI, batch_id: str) -> openai.types.Batch:
    for _ in range(500):
        batch = await client.batches.retrieve(batch_id)
        if batch.status in TERMINAL:
            return batch
        await asyncio.sleep(0.01)
    raise AssertionError("batch never ended")


async def test_upload_create_wait_download(emulator: Emulator) -> None:
    lines = [chat_line(i) for i in range(25)]
    async with openai.AsyncOpenAI(
        base_url=emulator.openai_base_url, api_key="test"
    ) as client:
        uploaded = await client.files.create(
            file=("in.jsonl", io.BytesIO(jsonl(lines))), purpose="batch"
        )
        assert (await client.files.retrieve(uploaded.id)).bytes == len(jsonl(lines))
        created = await client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"job": "nightly", "chunk": "0001"},
        )
        assert created.status == "validating"
        batch = await _wait(client, created.id)
        assert batch.status == "completed"
        assert batch.metadata == {"job": "nightly", "chunk": "0001"}
        assert batch.request_counts is not None
        assert batch.request_counts.completed == batch.request_counts.total == 25
        assert batch.output_file_id is not None and batch.error_file_id is None
        content = await client.files.content(batch.output_file_id)
        records = [json.loads(line) for line in content.read().splitlines()]
        async with client.files.with_streaming_response.content(
            batch.output_file_id
        ) as streamed:
            assert b"".join([c async for c in streamed.iter_bytes()]) == content.read()
        deleted = await client.files.delete(uploaded.id)
        assert deleted.deleted
        with pytest.raises(openai.NotFoundError):
            await client.files.retrieve(uploaded.id)
    by_id = {line["custom_id"]: line for line in lines}
    assert sorted(r["custom_id"] for r in records) == sorted(by_id)
    assert [r["custom_id"] for r in records] != [line["custom_id"] for line in lines]
    for record in records:
        body = record["response"]["body"]
        text = body["choices"][0]["message"]["content"]
        assert text == expected_text("openai", by_id[record["custom_id"]]["body"])


async def test_list_paginates_newest_first(emulator: Emulator) -> None:
    async with openai.AsyncOpenAI(
        base_url=emulator.openai_base_url, api_key="test"
    ) as client:
        uploaded = await client.files.create(
            file=("in.jsonl", io.BytesIO(jsonl([chat_line(0)]))), purpose="batch"
        )
        ids = []
        for _ in range(3):
            batch = await client.batches.create(
                input_file_id=uploaded.id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
            )
            ids.append(batch.id)
        first = await client.batches.list(limit=2)
        assert [b.id for b in first.data] == ids[::-1][:2] and first.has_more
        listed = [b.id async for b in client.batches.list(limit=1)]
    assert listed == ids[::-1]


async def test_cancel_ends_cancelled_with_error_file() -> None:
    slow = Timings(in_progress=10_000.0)
    async with (
        open_emulator(EmulatorConfig(timings=slow)) as emulator,
        openai.AsyncOpenAI(base_url=emulator.openai_base_url, api_key="k") as client,
    ):
        uploaded = await client.files.create(
            file=("in.jsonl", io.BytesIO(jsonl([chat_line(i) for i in range(5)]))),
            purpose="batch",
        )
        batch = await client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
        cancelling = await client.batches.cancel(batch.id)
        assert cancelling.status in ("cancelling", "cancelled")
        ended = await _wait(client, batch.id)
        assert ended.status == "cancelled" and ended.cancelled_at is not None
        assert ended.output_file_id is None and ended.error_file_id is not None
        errors = (await client.files.content(ended.error_file_id)).read()
    codes = {json.loads(line)["error"]["code"] for line in errors.splitlines()}
    assert codes == {"batch_cancelled"}


async def test_wrong_key_raises_authentication_error() -> None:
    async with (
        open_emulator(api_key="sk-right") as emulator,
        openai.AsyncOpenAI(
            base_url=emulator.openai_base_url, api_key="sk-wrong", max_retries=0
        ) as client,
    ):
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.batches.list()
        assert "sk-wrong" not in str(caught.value)
        assert caught.value.code == "invalid_api_key"
