"""Fidelity: the official mistralai SDK, unchanged, runs a batch job round trip
against the emulator (upload, create, get until SUCCESS, list, download)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from mistralai.client import Mistral, errors, models

from streambatch.testing import (
    Emulator,
    EmulatorConfig,
    Timings,
    expected_text,
    open_emulator,
)

MODEL = "mistral-small-latest"
TERMINAL = {"SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"}


def line(n: int) -> dict[str, object]:
    body = {"max_tokens": 50, "messages": [{"role": "user", "content": f"q {n}"}]}
    return {"custom_id": f"req-{n}", "body": body}


def client_for(emulator: Emulator, key: str = "test-key") -> Mistral:
    return Mistral(api_key=key, server_url=emulator.mistral_base_url)


async def wait(client: Mistral, job_id: str) -> models.BatchJob:
    for _ in range(500):
        job = await client.batch.jobs.get_async(job_id=job_id)
        if job.status in TERMINAL:
            return job
        await asyncio.sleep(0.01)
    raise AssertionError("job never ended")


async def test_upload_create_wait_download(emulator: Emulator) -> None:
    lines = [line(n) for n in range(20)]
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    async with client_for(emulator) as client:
        await round_trip(client, data, lines)


async def round_trip(
    client: Mistral, data: bytes, lines: list[dict[str, object]]
) -> None:
    uploaded = await client.files.upload_async(
        file={"file_name": "batch.jsonl", "content": data}, purpose="batch"
    )
    assert uploaded.size_bytes == len(data) and uploaded.purpose == "batch"
    created = await client.batch.jobs.create_async(
        input_files=[uploaded.id],
        endpoint="/v1/chat/completions",
        model=MODEL,
        metadata={"job": "nightly"},
    )
    assert created.status in ("QUEUED", "RUNNING")
    job = await wait(client, created.id)
    assert job.status == "SUCCESS"
    assert (job.total_requests, job.succeeded_requests) == (20, 20)
    assert job.model == MODEL and job.metadata == {"job": "nightly"}
    assert isinstance(job.output_file, str) and job.error_file is None
    listed = await client.batch.jobs.list_async(page=0, page_size=10)
    assert listed.total == 1 and [j.id for j in listed.data or []] == [job.id]
    stored = await client.files.retrieve_async(file_id=job.output_file)
    assert stored.sample_type == "batch_result"
    response = await client.files.download_async(file_id=job.output_file)
    try:
        rows = [json.loads(x) for x in (await response.aread()).splitlines()]
    finally:
        await response.aclose()
    assert sorted(r["custom_id"] for r in rows) == sorted(
        str(x["custom_id"]) for x in lines
    )
    bodies: dict[object, Any] = {x["custom_id"]: x["body"] for x in lines}
    for row in rows:
        assert row["response"]["status_code"] == 200
        body = row["response"]["body"]
        # the SDK's own model of a chat completion, with nothing it does not know
        completion = models.ChatCompletionResponse.model_validate(body)
        assert completion.usage.model_extra == {}
        assert set(body["usage"]) == {
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
        }
        message = completion.choices[0].message
        assert message is not None
        assert message.content == expected_text("mistral", bodies[row["custom_id"]])
        assert set(body["choices"][0]["message"]) <= set(
            models.AssistantMessage.model_fields
        )


async def test_cancel_ends_cancelled() -> None:
    """A running job (an emulated hour to go) asked to cancel: CANCELLED, with
    no results."""
    timings = Timings(in_progress=3600.0, cancelling=0.0, completion_window=86_400.0)
    async with open_emulator(EmulatorConfig(timings=timings)) as emulator:
        data = "".join(json.dumps(line(n)) + "\n" for n in range(5)).encode()
        async with client_for(emulator) as client:
            await cancel(client, data)


async def cancel(client: Mistral, data: bytes) -> None:
    uploaded = await client.files.upload_async(
        file={"file_name": "b.jsonl", "content": data}, purpose="batch"
    )
    created = await client.batch.jobs.create_async(
        input_files=[uploaded.id], endpoint="/v1/chat/completions", model=MODEL
    )
    cancelled = await client.batch.jobs.cancel_async(job_id=created.id)
    assert cancelled.status in ("CANCELLATION_REQUESTED", "CANCELLED")
    job = await wait(client, created.id)
    assert job.status == "CANCELLED"
    assert job.succeeded_requests == 0


async def test_a_wrong_key_is_refused() -> None:
    async with open_emulator(EmulatorConfig(api_key="right")) as emulator:
        async with client_for(emulator, key="wrong") as client:
            with pytest.raises(errors.SDKError) as caught:
                await client.batch.jobs.list_async()
        assert caught.value.status_code == 401


async def test_a_bad_line_fails_the_job_with_its_reason(emulator: Emulator) -> None:
    data = (json.dumps(line(0)) + "\n" + '{"custom_id": "x", "body": [1]}\n').encode()
    async with client_for(emulator) as client:
        uploaded = await client.files.upload_async(
            file={"file_name": "bad.jsonl", "content": data}, purpose="batch"
        )
        created = await client.batch.jobs.create_async(
            input_files=[uploaded.id], endpoint="/v1/chat/completions", model=MODEL
        )
        job = await wait(client, created.id)
    assert job.status == "FAILED"
    assert [(e.message, e.count) for e in job.errors] == [
        ("line 2: Invalid line: body must be an object.", 1)
    ]
    assert job.output_file is None and job.error_file is None


async def test_an_unknown_endpoint_is_refused_at_create(emulator: Emulator) -> None:
    async with client_for(emulator) as client:
        uploaded = await client.files.upload_async(
            file={"file_name": "b.jsonl", "content": json.dumps(line(0)).encode()},
            purpose="batch",
        )
        with pytest.raises(errors.SDKError) as caught:
            await client.batch.jobs.create_async(
                input_files=[uploaded.id], endpoint="/v1/ocr", model=MODEL
            )
    assert caught.value.status_code == 422
