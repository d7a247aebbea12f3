"""Helpers shared by the emulator tests: build inputs, talk HTTP, wait for ends."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import aiohttp

OPENAI_HEADERS = {"Authorization": "Bearer test"}
ANTHROPIC_HEADERS = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
OPENAI_TERMINAL = ("completed", "failed", "expired", "cancelled")


def chat_line(i: int, model: str = "gpt-4o-mini", **body: Any) -> dict[str, Any]:
    """One chat-completions input line."""
    request = {"model": model, "messages": [{"role": "user", "content": f"q {i}"}]}
    request.update(body)
    return {
        "custom_id": f"r-{i}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": request,
    }


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    """Encode lines as JSONL."""
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def anthropic_request(i: int, **params: Any) -> dict[str, Any]:
    """One Anthropic batch request."""
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": f"hello {i}"}],
    }
    body.update(params)
    return {"custom_id": f"a-{i}", "params": body}


async def upload(
    session: aiohttp.ClientSession, url: str, data: bytes, name: str = "in.jsonl"
) -> aiohttp.ClientResponse:
    """POST /v1/files with purpose=batch; return the (read) response."""
    form = aiohttp.FormData()
    form.add_field("purpose", "batch")
    form.add_field("file", io.BytesIO(data), filename=name)
    async with session.post(f"{url}/v1/files", data=form) as response:
        await response.read()
        return response


async def upload_id(session: aiohttp.ClientSession, url: str, data: bytes) -> str:
    """Upload and return the file id."""
    form = aiohttp.FormData()
    form.add_field("purpose", "batch")
    form.add_field("file", io.BytesIO(data), filename="in.jsonl")
    async with session.post(f"{url}/v1/files", data=form) as response:
        assert response.status == 200, await response.text()
        file_id: str = (await response.json())["id"]
        return file_id


async def create_batch(
    session: aiohttp.ClientSession,
    url: str,
    data: bytes,
    endpoint: str = "/v1/chat/completions",
    **extra: Any,
) -> dict[str, Any]:
    """Upload ``data`` and create a batch on it."""
    file_id = await upload_id(session, url, data)
    body = {
        "input_file_id": file_id,
        "endpoint": endpoint,
        "completion_window": "24h",
        **extra,
    }
    async with session.post(f"{url}/v1/batches", json=body) as response:
        assert response.status == 200, await response.text()
        batch: dict[str, Any] = await response.json()
        return batch


async def wait_openai(
    session: aiohttp.ClientSession, url: str, batch_id: str, patience: float = 20.0
) -> dict[str, Any]:
    """Poll a batch until it is terminal."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        async with session.get(f"{url}/v1/batches/{batch_id}") as response:
            batch: dict[str, Any] = await response.json()
        if batch["status"] in OPENAI_TERMINAL:
            return batch
        assert asyncio.get_running_loop().time() < deadline, batch
        await asyncio.sleep(0.02)


async def wait_anthropic(
    session: aiohttp.ClientSession, url: str, batch_id: str, patience: float = 20.0
) -> dict[str, Any]:
    """Poll a message batch until it has ended."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        async with session.get(f"{url}/v1/messages/batches/{batch_id}") as response:
            batch: dict[str, Any] = await response.json()
        if batch["processing_status"] == "ended":
            return batch
        assert asyncio.get_running_loop().time() < deadline, batch
        await asyncio.sleep(0.02)


async def lines_of(session: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    """GET a JSONL body and decode every line."""
    async with session.get(url) as response:
        assert response.status == 200, await response.text()
        body = await response.read()
    return [json.loads(line) for line in body.splitlines() if line]
