"""API keys never reach the job directory, logs, messages, reprs or results."""

from __future__ import annotations

import asyncio
import os
import pathlib
import stat

import pytest

import streambatch as sb
from streambatch.testing import Emulator, EmulatorConfig, Faults
from streambatch.testing.sample import write_sample
from tests._command_line import run

CANARY = "sk-canary-5f2b9c7d1e3a4b6c8d0e"


def everything_written(*roots: pathlib.Path) -> bytes:
    data = b""
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                data += path.read_bytes()
    return data


@pytest.mark.parametrize(
    "provider", ["openai", "anthropic", "gemini", "azure", "mistral"]
)
async def test_a_whole_job_at_debug_level_never_writes_the_key(
    tmp_path: pathlib.Path, provider: str
) -> None:
    config = EmulatorConfig(
        api_key=CANARY,
        faults=Faults(
            item_error_rate=0.2, rate_limit_rate=0.2, retry_after_seconds=0.01, seed=5
        ),
    )
    async with Emulator(config) as emulator:
        url = {
            "openai": emulator.openai_base_url,
            "gemini": emulator.gemini_base_url,
            "azure": emulator.azure_endpoint,
            "mistral": emulator.mistral_base_url,
        }.get(provider, emulator.anthropic_base_url)
        write_sample(str(tmp_path / "in.jsonl"), provider, 60)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env["STREAMBATCH_TEST_KEY"] = CANARY

        def command(job: str) -> list[str]:
            return [
                "--log-level", "debug", "run", str(tmp_path / "in.jsonl"),
                "--provider", provider, "--base-url", url,
                "--api-key-env", "STREAMBATCH_TEST_KEY", "--job-dir", str(tmp_path / job),
                "-o", str(tmp_path / f"{job}.jsonl"), "--max-requests", "25",
                "--poll-min", "0.01", "--poll-max", "0.05",
            ]  # fmt: skip

        # The same with a wrong key, at the same time: the provider's 401 becomes
        # a one-line error.
        wrong = {**env, "STREAMBATCH_TEST_KEY": CANARY + "-wrong"}
        right_code, wrong_code = await asyncio.gather(
            asyncio.to_thread(run, command("job"), str(tmp_path / "job.log"), env),
            asyncio.to_thread(run, command("job2"), str(tmp_path / "job2.log"), wrong),
        )
    printed = (tmp_path / "job.log").read_bytes()
    failed = (tmp_path / "job2.log").read_bytes()
    assert right_code == 0, printed
    assert wrong_code == 1, failed
    # Google answers a bad key with a 400 "API key not valid", the others a 401.
    assert (b"400" if provider == "gemini" else b"401") in failed
    output = printed + failed
    assert b"DEBUG" in output  # debug logging really was on
    written = (
        everything_written(tmp_path / "job", tmp_path / "job2")
        + (tmp_path / "job.jsonl").read_bytes()
    )
    assert CANARY.encode() not in output + written
    assert CANARY[3:].encode() not in output + written


async def test_reprs_and_errors_do_not_show_the_key(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Emulator(EmulatorConfig(api_key="sk-right-key-000000")) as emulator:
        monkeypatch.setenv("OPENAI_API_KEY", CANARY)
        async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
            assert CANARY not in repr(client)
            assert CANARY not in repr(client.transport)
            write_sample(str(tmp_path / "in.jsonl"), "openai", 3)
            with pytest.raises(sb.AuthenticationError) as caught:
                await client.submit(tmp_path / "in.jsonl", job_dir=tmp_path / "job")
    assert caught.value.status == 401
    assert CANARY not in str(caught.value)
    assert CANARY not in caught.value.body


def test_a_key_is_not_sent_over_plain_http_to_a_remote_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    with pytest.raises(sb.ConfigError, match="plain http"):
        sb.Client("openai", base_url="http://api.example.com/v1")
    client = sb.Client(
        "openai", base_url="http://api.example.com/v1", allow_insecure=True
    )
    assert CANARY not in repr(client)


async def test_job_directory_files_are_private(tmp_path: pathlib.Path) -> None:
    async with Emulator() as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 10)
        async with sb.Client("openai", base_url=emulator.openai_base_url) as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job"
            ) as job:
                await job.wait(poll=sb.PollPolicy(min_delay=0.01, max_delay=0.05))
                await job.download()
    root = tmp_path / "job"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any("downloads" in p.parts for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
