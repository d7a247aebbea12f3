"""``--provider openai --base-url URL`` against OpenAI-compatible hosts: the
emulator serves each quirk of PROVIDERS.md 7 on request, and a whole job runs
through it (one test per quirk, checking the quirk was really served)."""

from __future__ import annotations

import asyncio
import json
import pathlib
from typing import Any

import aiohttp
import pytest

import streambatch as sb
from streambatch.cli import main
from streambatch.testing import OPENAI_QUIRKS, Emulator, EmulatorConfig
from streambatch.testing.sample import write_sample

from .test_cli import POLL
from .test_jobs import check_complete, finish

HEADERS = {"Authorization": "Bearer test"}


async def _run(
    emulator: Emulator, tmp_path: pathlib.Path, **options: Any
) -> list[sb.Result]:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 250)
    async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100, **options
        ) as job:
            results = await finish(job)
            assert {b.state for _, b in job.attempts()} == {"completed"}
    check_complete("openai", 250, results)
    return results


async def _raw_batch(emulator: Emulator) -> dict[str, Any]:
    batch_id = emulator.records.batches()[0].id
    async with (
        aiohttp.ClientSession(headers=HEADERS) as http,
        http.get(f"{emulator.openai_base_url}/batches/{batch_id}") as response,
    ):
        body: dict[str, Any] = await response.json()
        return body


async def test_statuses_in_capitals(tmp_path: pathlib.Path) -> None:
    config = EmulatorConfig(openai_quirks=frozenset({"upper_status"}))
    async with Emulator(config) as emulator:
        await _run(emulator, tmp_path)
        assert (await _raw_batch(emulator))["status"] == "COMPLETED"


async def test_iso_timestamps(tmp_path: pathlib.Path) -> None:
    config = EmulatorConfig(openai_quirks=frozenset({"iso_times"}))
    async with Emulator(config) as emulator:
        await _run(emulator, tmp_path)
        raw = await _raw_batch(emulator)
        assert isinstance(raw["created_at"], str) and "T" in raw["created_at"]


async def test_a_job_wrapper(tmp_path: pathlib.Path) -> None:
    config = EmulatorConfig(openai_quirks=frozenset({"job_wrapper"}))
    async with Emulator(config) as emulator:
        await _run(emulator, tmp_path)
        raw = await _raw_batch(emulator)
        assert set(raw) == {"job"} and raw["job"]["status"] == "completed"


async def test_output_lines_with_batch_id(tmp_path: pathlib.Path) -> None:
    config = EmulatorConfig(openai_quirks=frozenset({"batch_id"}))
    async with Emulator(config) as emulator:
        results = await _run(emulator, tmp_path)
        output = (await _raw_batch(emulator))["output_file_id"]
        async with (
            aiohttp.ClientSession(headers=HEADERS) as http,
            http.get(f"{emulator.openai_base_url}/files/{output}/content") as response,
        ):
            first = json.loads((await response.read()).splitlines()[0])
    assert "batch_id" in first and "id" not in first
    assert all(r.text for r in results)


async def test_another_completion_window_is_sent_and_kept_on_resume(
    tmp_path: pathlib.Path,
) -> None:
    config = EmulatorConfig(openai_quirks=frozenset({"any_window"}))
    async with Emulator(config) as emulator:
        await _run(emulator, tmp_path, completion_window="7d")
        async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
            # A resume without the option keeps the window; another is refused.
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100
            ) as job:
                assert job.manifest.completion_window == "7d"
            with pytest.raises(sb.ConfigError, match="completion-window 7d"):
                await client.submit(
                    tmp_path / "in.jsonl",
                    job_dir=tmp_path / "job",
                    completion_window="48h",
                )
        assert len(emulator.records.batches()) == 3


async def test_a_host_without_that_window_fails_the_create(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    """The plain emulator (OpenAI itself) takes 24h only: the window really is sent."""
    write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
    async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
        with pytest.raises(sb.HTTPStatusError, match="completion_window"):
            await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", completion_window="7d"
            )


def test_a_completion_window_is_refused_for_other_providers(
    tmp_path: pathlib.Path,
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
    client = sb.Client("anthropic", base_url="http://127.0.0.1:9")
    with pytest.raises(sb.ConfigError, match="no completion window"):
        asyncio.run(
            client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", completion_window="7d"
            )
        )
    assert not (tmp_path / "job").exists()


async def test_every_quirk_at_once_through_the_command_line(
    tmp_path: pathlib.Path,
) -> None:
    config = EmulatorConfig(openai_quirks=frozenset(OPENAI_QUIRKS))
    write_sample(str(tmp_path / "in.jsonl"), "openai", 120)
    out = tmp_path / "out.jsonl"
    async with Emulator(config) as emulator:
        argv = ["run", str(tmp_path / "in.jsonl"), "--provider", "openai"]
        argv += ["--base-url", emulator.openai_base_url, "--completion-window", "7d"]
        argv += ["--job-dir", str(tmp_path / "job"), "--max-requests", "50"]
        argv += ["-o", str(out), *POLL]
        assert await asyncio.to_thread(main, argv) == 0
    rows = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert len(rows) == 120 and {r["status"] for r in rows} == {"succeeded"}
    manifest = json.loads((tmp_path / "job" / "manifest.json").read_bytes())
    assert manifest["completion_window"] == "7d"
