"""The command line with ``--provider gemini`` against the emulator."""

from __future__ import annotations

import asyncio
import json
import pathlib

import pytest

from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig, Timings
from streambatch.testing.sample import write_sample

from .test_cli import POLL


async def test_submit_is_resumed_by_wait_and_results(tmp_path: pathlib.Path) -> None:
    """Separate commands against one emulator: the job directory carries the state."""
    write_sample(str(tmp_path / "in.jsonl"), "gemini", 120)
    job = str(tmp_path / "job")
    async with Emulator(EmulatorConfig(timings=Timings.instant())) as emulator:
        base = ["--base-url", emulator.gemini_base_url]
        submit = ["submit", str(tmp_path / "in.jsonl"), "--provider", "gemini"]
        submit += ["--job-dir", job, "--max-requests", "50", *base]
        assert await asyncio.to_thread(main, submit) == 0
        assert await asyncio.to_thread(main, ["wait", job, *POLL]) == 0
        out = tmp_path / "out.jsonl"
        assert await asyncio.to_thread(main, ["results", job, "-o", str(out)]) == 0
        assert len(emulator.records.batches("gemini")) == 3
    rows = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert sorted(r["custom_id"] for r in rows) == [f"req-{n:06d}" for n in range(120)]


def test_bad_gemini_input_exits_2_naming_each_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = '{"key": "a", "request": {"model": "m", "contents": [{"parts": []}]}}'
    source = tmp_path / "in.jsonl"
    source.write_text(
        good
        + "\n"
        + good
        + "\n"  # a repeated key
        + '{"custom_id": "b", "request": {"model": "m", "contents": [{}]}}\n'
    )
    code = main(
        [
            "run",
            str(source),
            "--provider",
            "gemini",
            "--emulator",
            "--job-dir",
            str(tmp_path / "job"),
            "-o",
            str(tmp_path / "out.jsonl"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "in.jsonl:2: custom_id 'a': duplicate" in err
    assert "in.jsonl:3" in err and "missing field key" in err
    assert "Traceback" not in err


def test_estimate_prices_gemini_requests(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "gemini", 40)
    assert main(["estimate", str(tmp_path / "in.jsonl"), "--provider", "gemini"]) == 0
    out = capsys.readouterr().out
    assert "requests: 40\n" in out
    assert "output tokens at most (max_tokens): 8,000" in out  # maxOutputTokens 200
    assert "batch cost:" in out
    assert "no price known" not in out
