"""Fidelity: the official google-genai SDK, unchanged, runs file and inline round trips."""

from __future__ import annotations

import asyncio
import json
import pathlib
from typing import Any

import pytest
from google import genai
from google.genai import types

from streambatch.testing import Emulator, EmulatorConfig, expected_text, open_emulator

# The SDK subclasses aiohttp.ClientSession, which aiohttp warns about.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
)

MODEL = "gemini-2.5-flash"
DONE = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"}


def request(n: int) -> dict[str, object]:
    return {"contents": [{"role": "user", "parts": [{"text": f"question {n}"}]}]}


def client_for(emulator: Emulator) -> genai.Client:
    options = types.HttpOptions(base_url=emulator.gemini_base_url)
    return genai.Client(api_key="test-key", http_options=options)


async def wait(client: genai.Client, name: str) -> types.BatchJob:
    for _ in range(500):
        job = await client.aio.batches.get(name=name)
        if job.state is not None and job.state.name in DONE:
            return job
        await asyncio.sleep(0.01)
    raise AssertionError("batch never ended")


async def test_file_round_trip(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    source = tmp_path / "requests.jsonl"
    lines: list[dict[str, Any]] = [
        {"key": f"req-{n}", "request": request(n)} for n in range(12)
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    client = client_for(emulator)
    uploaded = await client.aio.files.upload(
        file=source,
        config=types.UploadFileConfig(display_name="batch-input", mime_type="jsonl"),
    )
    assert uploaded.name is not None and uploaded.name.startswith("files/")
    assert uploaded.size_bytes == source.stat().st_size
    created = await client.aio.batches.create(
        model=MODEL,
        src=uploaded.name,
        config=types.CreateBatchJobConfig(display_name="job-1"),
    )
    assert created.name is not None and created.name.startswith("batches/")
    assert created.display_name == "job-1"
    job = await wait(client, created.name)
    assert job.state is not None and job.state.name == "JOB_STATE_SUCCEEDED"
    assert job.dest is not None and job.dest.file_name is not None
    data = await client.aio.files.download(file=job.dest.file_name)
    results = [json.loads(line) for line in data.splitlines()]
    bodies = {line["key"]: line["request"] for line in lines}
    assert sorted(r["key"] for r in results) == sorted(bodies)
    for result in results:
        text = result["response"]["candidates"][0]["content"]["parts"][0]["text"]
        assert text == expected_text("gemini", bodies[result["key"]])
    listed = [j.name async for j in await client.aio.batches.list()]
    assert created.name in listed
    paths = {r.path for r in emulator.records.requests}
    assert any(p.startswith("/gemini/upload/") for p in paths)
    assert any(p.endswith(":download") for p in paths)


async def test_inline_round_trip(emulator: Emulator) -> None:
    client = client_for(emulator)
    inlined = [
        types.InlinedRequest(
            contents=[types.Content(role="user", parts=[types.Part(text=f"q {n}")])],
            metadata={"key": f"in-{n}"},
        )
        for n in range(5)
    ]
    created = await client.aio.batches.create(model=MODEL, src=inlined)
    assert created.name is not None
    job = await wait(client, created.name)
    assert job.state is not None and job.state.name == "JOB_STATE_SUCCEEDED"
    assert job.dest is not None and job.dest.inlined_responses is not None
    responses = job.dest.inlined_responses
    assert sorted((r.metadata or {})["key"] for r in responses) == [
        f"in-{n}" for n in range(5)
    ]
    for response in responses:
        assert response.response is not None
        assert response.response.text


async def test_cancel_and_delete() -> None:
    from streambatch.testing import Timings

    slow = EmulatorConfig(timings=Timings(in_progress=10_000.0))
    async with open_emulator(slow) as emulator:
        client = client_for(emulator)
        inlined = [types.InlinedRequest(contents="hello", metadata={"key": "k"})]
        created = await client.aio.batches.create(model=MODEL, src=inlined)
        assert created.name is not None
        await client.aio.batches.cancel(name=created.name)
        job = await wait(client, created.name)
        assert job.state is not None and job.state.name == "JOB_STATE_CANCELLED"
        await client.aio.batches.delete(name=created.name)
        with pytest.raises(genai.errors.ClientError) as caught:
            await client.aio.batches.get(name=created.name)
        assert caught.value.code == 404


async def test_a_wrong_key_is_refused_as_google_does() -> None:
    async with open_emulator(EmulatorConfig(api_key="right")) as emulator:
        client = client_for(emulator)
        with pytest.raises(genai.errors.ClientError) as caught:
            await client.aio.batches.get(name="batches/x")
        assert caught.value.code == 400
        assert "API key not valid" in str(caught.value)
