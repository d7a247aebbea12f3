"""An emulator restarted on the same ``state_dir`` goes on where it stopped: its
batches, files and clock are reloaded, and work under way is done anew."""

from __future__ import annotations

import asyncio
import json
import pathlib
import socket
from typing import Any

import aiohttp
import pytest

from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig, ManualClock, Timings
from streambatch.testing.sample import write_sample

from ._support import OPENAI_HEADERS, chat_line, create_batch, jsonl, wait_openai


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _config(
    state: pathlib.Path,
    port: int = 0,
    speed: float = 600.0,
    clock: ManualClock | None = None,
) -> EmulatorConfig:
    return EmulatorConfig(
        state_dir=state,
        port=port,
        timings=Timings.realistic(speed=speed),
        clock=clock,
    )


async def test_batches_files_and_clock_survive_a_restart(
    tmp_path: pathlib.Path,
) -> None:
    state = tmp_path / "state"
    async with (
        Emulator(_config(state, speed=1e6)) as first,
        aiohttp.ClientSession(headers=OPENAI_HEADERS) as http,
    ):
        done = await create_batch(http, first.url, jsonl([chat_line(1), chat_line(2)]))
        ended = await wait_openai(http, first.url, done["id"])
        async with http.get(
            f"{first.url}/v1/files/{ended['output_file_id']}/content"
        ) as response:
            output = await response.read()
        # one more, stopped while it is still validating
        pending = await create_batch(http, first.url, jsonl([chat_line(3)]))
        stopped_at = first._store.clock.now() if first._store else 0.0
    async with (
        Emulator(_config(state, speed=1e6)) as second,
        aiohttp.ClientSession(headers=OPENAI_HEADERS) as http,
    ):
        assert second._store is not None
        assert second._store.clock.now() >= stopped_at
        async with http.get(f"{second.url}/v1/batches/{done['id']}") as response:
            again = await response.json()
        assert again["status"] == "completed"
        assert again["output_file_id"] == ended["output_file_id"]
        assert again["created_at"] == ended["created_at"]
        async with http.get(
            f"{second.url}/v1/files/{ended['output_file_id']}/content"
        ) as response:
            assert await response.read() == output
        async with http.get(f"{second.url}/v1/batches") as response:
            ids = [b["id"] for b in (await response.json())["data"]]
        assert set(ids) == {done["id"], pending["id"]}
        finished = await wait_openai(http, second.url, pending["id"])
        assert finished["status"] == "completed"
        assert finished["request_counts"]["completed"] == 1
    assert (state / "state.json").is_file()


@pytest.mark.parametrize("provider", ["openai", "anthropic", "mistral"])
async def test_a_job_resumes_against_a_restarted_emulator(
    tmp_path: pathlib.Path, provider: str
) -> None:
    state, port = tmp_path / "state", _free_port()
    write_sample(str(tmp_path / "in.jsonl"), provider, 150)
    job = str(tmp_path / "job")
    async with Emulator(_config(state, port, clock=ManualClock())) as first:
        base = {
            "openai": first.openai_base_url,
            "mistral": first.mistral_base_url,
        }.get(provider, first.url)
        submit = ["submit", str(tmp_path / "in.jsonl"), "--provider", provider]
        submit += ["--job-dir", job, "--max-requests", "50", "--base-url", base]
        assert await asyncio.to_thread(main, [*submit, "--quiet"]) == 0
        stopped_at = first.clock.now()
    clock = ManualClock(start=0.0)  # reset to the saved time when the state loads
    async with Emulator(_config(state, port, clock=clock)) as second:
        assert clock.now() == stopped_at
        # Every batch is still to run when the job resumes; then an hour passes.
        assert {b.status.lower() for b in second.records.batches(provider)} <= {
            "validating",
            "in_progress",
            "queued",  # Mistral's spelling of both
            "running",
        }
        clock.advance(3600.0)
        poll = ["--poll-min", "0.01", "--poll-max", "0.05", "--quiet"]
        assert await asyncio.to_thread(main, ["wait", job, *poll]) == 0
        out = tmp_path / "out.jsonl"
        assert await asyncio.to_thread(main, ["results", job, "-o", str(out)]) == 0
        assert len(second.records.batches(provider)) == 3
        assert second.records.duplicates() == {}
    rows = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert len(rows) == 150
    assert {r["status"] for r in rows} == {"succeeded"}


async def test_a_mistral_job_validating_at_the_stop_is_validated_again_as_mistral(
    tmp_path: pathlib.Path,
) -> None:
    """The state is edited to say validation had not finished: the restarted
    emulator reads the input again by Mistral's rules (lines without method/url),
    and the job succeeds."""
    state = tmp_path / "state"
    lines = [
        {"custom_id": f"r{n}", "body": {"messages": [{"role": "user", "content": "q"}]}}
        for n in range(3)
    ]
    headers = {"Authorization": "Bearer test"}
    async with (
        Emulator(_config(state, speed=1e6)) as first,
        aiohttp.ClientSession(headers=headers) as http,
    ):
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field("file", jsonl(lines), filename="in.jsonl")
        async with http.post(f"{first.mistral_base_url}/v1/files", data=form) as r:
            file_id = (await r.json())["id"]
        body = {
            "input_files": [file_id],
            "endpoint": "/v1/chat/completions",
            "model": "mistral-small-latest",
        }
        async with http.post(f"{first.mistral_base_url}/v1/batch/jobs", json=body) as r:
            job_id = (await r.json())["id"]
    saved = json.loads((state / "state.json").read_bytes())
    for batch in saved["batches"]:
        batch.update(intake=None, written=None, paths=None, ended_at=None)
        batch.update(output_file_id=None, error_file_id=None)
    (state / "state.json").write_text(json.dumps(saved))
    async with (
        Emulator(_config(state, speed=1e6)) as second,
        aiohttp.ClientSession(headers=headers) as http,
    ):
        url = f"{second.mistral_base_url}/v1/batch/jobs/{job_id}"
        job: dict[str, Any] = {}
        for _ in range(500):
            async with http.get(url) as r:
                job = await r.json()
            if job["status"] in ("SUCCESS", "FAILED"):
                break
            await asyncio.sleep(0.01)
    assert (job["status"], job["succeeded_requests"]) == ("SUCCESS", 3), job["errors"]
