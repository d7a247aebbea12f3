"""Fidelity: the official openai SDK's ``AzureOpenAI`` client, unchanged, runs
full round trips against the emulator's Azure routes (both URL shapes)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator

import openai
import pytest
import pytest_asyncio

from streambatch.testing import Emulator, EmulatorConfig

from ._support import chat_line, jsonl

TERMINAL = ("completed", "failed", "expired", "cancelled")


@pytest_asyncio.fixture
async def azure() -> AsyncIterator[Emulator]:
    """An emulator that wants the key ``azure-key``."""
    async with Emulator(EmulatorConfig(api_key="azure-key")) as emulator:
        yield emulator


async def _wait(client: openai.AsyncOpenAI, batch_id: str) -> openai.types.Batch:
    for _ in range(500):
        batch = await client.batches.retrieve(batch_id)
        if batch.status.lower() in TERMINAL:
            return batch
        await asyncio.sleep(0.01)
    raise AssertionError("batch never ended")


async def _round_trip(client: openai.AsyncOpenAI, emulator: Emulator) -> None:
    lines = [chat_line(i) for i in range(12)]
    uploaded = await client.files.create(
        file=("in.jsonl", io.BytesIO(jsonl(lines))),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 1_209_600},
    )
    created = await client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    raw: object = created.status  # the SDK keeps what the wire said
    assert raw == "Validating"  # Azure capitalises
    created_at: object = created.created_at
    assert isinstance(created_at, str)  # and sends ISO timestamps
    batch = await _wait(client, created.id)
    ended: object = batch.status
    assert ended == "Completed"
    assert batch.output_file_id is not None
    # A successful Azure batch names an error file all the same: an empty one.
    assert batch.error_file_id is not None
    assert (await client.files.content(batch.error_file_id)).read() == b""
    content = await client.files.content(batch.output_file_id)
    records = [json.loads(line) for line in content.read().splitlines()]
    assert sorted(r["custom_id"] for r in records) == sorted(
        f"r-{i}" for i in range(12)
    )
    assert all(r["response"]["status_code"] == 200 for r in records)


async def test_classic_routes_with_api_version(azure: Emulator) -> None:
    async with openai.AsyncAzureOpenAI(
        api_key="azure-key",
        azure_endpoint=azure.azure_endpoint,
        api_version="2024-10-21",
        max_retries=0,
    ) as client:
        await _round_trip(client, azure)
    log = azure.records.requests
    assert any(r.path == "/azure/openai/batches" for r in log)


async def test_v1_routes(azure: Emulator) -> None:
    async with openai.AsyncOpenAI(
        api_key="unused",
        base_url=azure.azure_endpoint + "/openai/v1/",
        default_headers={"api-key": "azure-key"},
        max_retries=0,
    ) as client:
        await _round_trip(client, azure)
    assert any(r.path == "/azure/openai/v1/batches" for r in azure.records.requests)


async def test_a_wrong_key_is_refused_as_azure_does(azure: Emulator) -> None:
    async with openai.AsyncAzureOpenAI(
        api_key="wrong",
        azure_endpoint=azure.azure_endpoint,
        api_version="2024-10-21",
        max_retries=0,
    ) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.batches.list()


async def test_classic_routes_without_api_version_are_not_found(
    azure: Emulator,
) -> None:
    async with openai.AsyncOpenAI(
        api_key="unused",
        base_url=azure.azure_endpoint + "/openai/",
        default_headers={"api-key": "azure-key"},
        max_retries=0,
    ) as client:
        with pytest.raises(openai.NotFoundError, match="api-version"):
            await client.batches.list()
