"""The synchronous facade: run_job blocks, in plain code and inside a running loop."""

from __future__ import annotations

import asyncio
import json
import pathlib
import threading
from collections.abc import Iterator

import pytest

import streambatch as sb
from streambatch.testing import Emulator
from streambatch.testing.sample import write_sample

FAST = sb.PollPolicy(min_delay=0.01, max_delay=0.05)


@pytest.fixture
def emulator_url() -> Iterator[str]:
    """An emulator serving from its own thread and loop, as a remote server would."""
    ready = threading.Event()
    urls: list[str] = []
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def serve() -> None:
        nonlocal stop, loop
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        async with Emulator() as emulator:
            urls.append(emulator.url)
            ready.set()
            await stop.wait()

    server = threading.Thread(target=asyncio.run, args=(serve(),))
    server.start()
    assert ready.wait(10)
    try:
        yield urls[0]
    finally:
        assert loop is not None and stop is not None
        loop.call_soon_threadsafe(stop.set)
        server.join()


def ids_of(path: pathlib.Path) -> list[str]:
    return sorted(
        json.loads(line)["custom_id"] for line in path.read_bytes().splitlines()
    )


def test_run_job_from_plain_code_then_read_results(
    tmp_path: pathlib.Path, emulator_url: str
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 30)
    counts = sb.run_job(
        tmp_path / "in.jsonl",
        provider="openai",
        base_url=emulator_url + "/v1",
        job_dir=tmp_path / "job",
        output=tmp_path / "out.jsonl",
        poll=FAST,
    )
    assert counts == {"succeeded": 30}
    downloads = list((tmp_path / "job" / "downloads").glob("*.output.jsonl"))
    records = [
        r for path in downloads for r in sb.read_results(path, provider="openai")
    ]
    assert sorted(r.custom_id for r in records) == ids_of(tmp_path / "in.jsonl")


async def test_run_job_inside_a_running_loop_as_in_a_notebook(
    tmp_path: pathlib.Path, emulator_url: str
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "anthropic", 50)
    seen: list[sb.Progress] = []
    counts = sb.run_job(  # blocks this loop on purpose, as a notebook cell does
        tmp_path / "in.jsonl",
        provider="anthropic",
        base_url=emulator_url,
        job_dir=tmp_path / "job",
        output=tmp_path / "out.jsonl",
        max_requests=20,
        poll=FAST,
        on_progress=seen.append,
    )
    assert counts == {"succeeded": 50}
    assert seen
    assert seen[-1].finished
    assert ids_of(tmp_path / "out.jsonl") == ids_of(tmp_path / "in.jsonl")


def test_adopt_job_blocks_until_an_sdk_batch_is_adopted_and_written(
    tmp_path: pathlib.Path, emulator_url: str
) -> None:
    import io

    import openai

    from tests.emulator._support import chat_line, jsonl

    client = openai.OpenAI(base_url=emulator_url + "/v1", api_key="test")
    uploaded = client.files.create(
        file=("theirs.jsonl", io.BytesIO(jsonl([chat_line(i) for i in range(12)]))),
        purpose="batch",
    )
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    client.close()
    options = {
        "provider": "openai",
        "base_url": emulator_url + "/v1",
        "job_dir": tmp_path / "job",
        "output": tmp_path / "out.jsonl",
        "poll": FAST,
    }
    counts = sb.adopt_job(batch.id, **options)  # type: ignore[arg-type]
    assert counts == {"succeeded": 12}
    rows = [
        json.loads(line) for line in (tmp_path / "out.jsonl").read_bytes().splitlines()
    ]
    assert sorted(r["custom_id"] for r in rows) == sorted(f"r-{i}" for i in range(12))
    assert {r["batch_id"] for r in rows} == {batch.id}
    # again: the job the adoption made is opened, not adopted twice
    assert sb.adopt_job(batch.id, **options) == counts  # type: ignore[arg-type]
