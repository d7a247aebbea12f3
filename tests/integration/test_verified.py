"""Downloaded files are checked against the sizes the manifest recorded; a job
directory that lost its manifest is refused, never resubmitted."""

from __future__ import annotations

import asyncio
import json
import pathlib

import aiohttp
import pytest

import streambatch as sb
from streambatch.cli import main
from streambatch.testing import Emulator
from streambatch.testing.sample import write_sample

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]


def _run(emulator: Emulator, provider: str, tmp_path: pathlib.Path) -> list[str]:
    source = tmp_path / "in.jsonl"
    if not source.exists():
        write_sample(str(source), provider, 300)
    base = emulator.openai_base_url if provider == "openai" else emulator.url
    return [
        "run",
        str(source),
        "--provider",
        provider,
        "--job-dir",
        str(tmp_path / "job"),
        "-o",
        str(tmp_path / "out.jsonl"),
        "--max-requests",
        "100",
        "--base-url",
        base,
        "--quiet",
        *POLL,
    ]


def _results(tmp_path: pathlib.Path) -> list[str]:
    return ["results", str(tmp_path / "job"), "-o", str(tmp_path / "out.jsonl")]


def _rows(tmp_path: pathlib.Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in (tmp_path / "out.jsonl").read_bytes().splitlines()]


def _downloads(tmp_path: pathlib.Path) -> list[pathlib.Path]:
    return sorted((tmp_path / "job" / "downloads").iterdir())


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("damage", ["truncate", "delete"])
async def test_a_short_or_missing_download_is_fetched_again(
    tmp_path: pathlib.Path, provider: str, damage: str
) -> None:
    async with Emulator() as emulator:
        assert await asyncio.to_thread(main, _run(emulator, provider, tmp_path)) == 0
        victim = _downloads(tmp_path)[1]
        whole = victim.read_bytes()
        if damage == "truncate":
            victim.write_bytes(whole[: len(whole) // 3])
        else:
            victim.unlink()
        assert await asyncio.to_thread(main, _results(tmp_path)) == 0
        assert victim.read_bytes() == whole
        rows = _rows(tmp_path)
        assert len(rows) == 300
        assert {r["status"] for r in rows} == {"succeeded"}
        assert len(emulator.records.batches(provider)) == 3


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_download_the_provider_no_longer_has_is_lost_exit_1(
    tmp_path: pathlib.Path, provider: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Emulator() as emulator:
        assert await asyncio.to_thread(main, _run(emulator, provider, tmp_path)) == 0
        manifest = json.loads((tmp_path / "job" / "manifest.json").read_bytes())
        batch = manifest["chunks"][1]["batches"][0]
        async with aiohttp.ClientSession() as http:
            if provider == "openai":
                [output] = [p for p in batch["plan"] if p["kind"] == "output"]
                url = f"{emulator.openai_base_url}/files/{output['file_id']}"
                headers = {"Authorization": "Bearer k"}
            else:
                url = f"{emulator.url}/v1/messages/batches/{batch['batch_id']}"
                headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
            async with http.delete(url, headers=headers) as done:
                assert done.status == 200
        for path in _downloads(tmp_path):
            if path.name.startswith(batch["batch_id"]):
                path.unlink()
        before = (tmp_path / "out.jsonl").read_bytes()
        capsys.readouterr()
        assert await asyncio.to_thread(main, _results(tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"the results of batch {batch['batch_id']} are lost" in err
    assert (tmp_path / "out.jsonl").read_bytes() == before  # no invented failures


async def test_reading_a_damaged_download_raises_never_invents_failures(
    tmp_path: pathlib.Path,
) -> None:
    async with Emulator() as emulator:
        assert await asyncio.to_thread(main, _run(emulator, "openai", tmp_path)) == 0
        victim = _downloads(tmp_path)[0]
        victim.write_bytes(victim.read_bytes()[:100])
        async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
            with client.open_job(tmp_path / "job") as job:
                with pytest.raises(sb.JobError, match="download it again"):
                    [r async for r in job.results()]
                await job.download()
                rows = [r async for r in job.results()]
    assert {r.status for r in rows} == {"succeeded"}


@pytest.mark.parametrize("damage", ["delete", "garble"])
async def test_a_job_that_lost_its_manifest_is_refused_not_resubmitted(
    tmp_path: pathlib.Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Emulator() as emulator:
        command = _run(emulator, "openai", tmp_path)
        dropped = {"-o", str(tmp_path / "out.jsonl"), *POLL}  # submit does not poll
        submit = [a for a in command if a not in dropped]
        submit[0] = "submit"
        assert await asyncio.to_thread(main, submit) == 0
        manifest = tmp_path / "job" / "manifest.json"
        if damage == "delete":
            manifest.unlink()
        else:
            manifest.write_bytes(manifest.read_bytes()[:1000])
        capsys.readouterr()
        for again in (command, submit, _results(tmp_path)):
            assert await asyncio.to_thread(main, again) == 1
            err = capsys.readouterr().err
            assert err.count("\n") == 1, err
            assert "will not submit them again" in err
            assert "To recover" in err
        status = ["status", str(tmp_path / "job")]
        assert await asyncio.to_thread(main, status) == 1
        assert "To recover" in capsys.readouterr().err
        assert len(emulator.records.batches("openai")) == 3
