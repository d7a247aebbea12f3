"""Operations from the command line: `jobs ROOT`, `status` metrics and
warnings, and the health watcher of a wait, against the emulator."""

from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import time

import pytest

import streambatch as sb
from streambatch._core.health import HealthWarning
from streambatch._io.jobdir import JobDir, read_manifest
from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig, Timings
from streambatch.testing.sample import write_sample

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]


def run_job(tmp_path: pathlib.Path, job: pathlib.Path, provider: str, n: int) -> None:
    source = tmp_path / f"{provider}.jsonl"
    write_sample(str(source), provider, n)
    args = ["run", str(source), "--provider", provider, "--emulator"]
    args += ["--emulator-clock", "instant", "--job-dir", str(job)]
    args += ["-o", str(tmp_path / f"{provider}.out.jsonl"), *POLL]
    assert main(args) == 0


def test_jobs_lists_the_job_directories_under_root(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "runs"
    run_job(tmp_path, root / "q3" / "openai", "openai", 30)
    run_job(tmp_path, root / "anthropic", "anthropic", 20)
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text("{not json")
    deep = root.joinpath("a", "b", "c", "d", "e")
    deep.mkdir(parents=True)
    (deep / "manifest.json").write_text("{}")  # below the walk's depth
    (root / "empty").mkdir()
    capsys.readouterr()

    # another process holding a job's lock does not stop the listing
    with JobDir.open(root / "anthropic", create=False):
        assert main(["jobs", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    first, broken, second = lines
    assert first.split("  ")[:4] == [
        str(root / "anthropic"),
        "anthropic",
        "done",
        "20/20",
    ]
    assert first.split("  ")[4].startswith("$")
    assert broken.startswith(f"{root / 'broken'}  unreadable: ")
    assert second.split("  ")[:4] == [
        str(root / "q3" / "openai"),
        "openai",
        "done",
        "30/30",
    ]

    assert main(["jobs", str(root), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(j["state"], j.get("provider")) for j in listed] == [
        ("done", "anthropic"),
        ("unreadable", None),
        ("done", "openai"),
    ]
    job = listed[2]
    manifest = read_manifest(root / "q3" / "openai")
    assert job["job_id"] == manifest.job_id
    assert (job["requests"], job["done"], job["succeeded"], job["failed"]) == (
        30,
        30,
        30,
        0,
    )
    assert manifest.cost is not None and job["cost_usd"] == manifest.cost.usd


def test_jobs_of_a_root_that_is_no_directory(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", str(tmp_path / "nowhere")]) == 1
    assert "not a directory" in capsys.readouterr().err
    assert main(["jobs", str(tmp_path)]) == 0
    assert "no job directories under" in capsys.readouterr().out


def test_status_shows_metrics_and_the_warnings(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "job"
    run_job(tmp_path, job, "openai", 25)
    capsys.readouterr()
    assert main(["status", str(job), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    metrics = status["metrics"]
    assert (metrics["state"], metrics["requests"], metrics["succeeded"]) == (
        "done",
        25,
        25,
    )
    assert metrics["success_rate"] == 1.0
    assert metrics["errors_by_type"] == {}
    assert metrics["statuses"] == {"succeeded": 25}
    assert metrics["sent_by_attempt"] == {"1": 25}
    assert metrics["downloaded_bytes"] > 0
    assert metrics["durations"]["count"] == 1
    assert status["warnings"] == []


async def test_a_wait_logs_a_batch_that_makes_no_progress(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The batch sits in validating far longer than the test lasts; the wait is
    # cancelled once the warning has come.
    slow = Timings(validating=10_000.0, speed=1.0)
    write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
    seen: list[HealthWarning] = []
    async with (
        Emulator(EmulatorConfig(timings=slow)) as server,
        sb.Client("openai", base_url=server.openai_base_url) as client,
    ):
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job"
        ) as job:
            with caplog.at_level(logging.WARNING, logger="streambatch.health"):
                waiting = asyncio.create_task(
                    job.wait(
                        poll=sb.PollPolicy(min_delay=0.01, max_delay=0.05),
                        stall_after=0.02,
                        on_warning=seen.append,
                    )
                )
                for _ in range(1000):
                    if seen:
                        break
                    await asyncio.sleep(0.01)
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
            (batch_id,) = [b.batch_id for _, b in job.attempts()]
            assert [(w.kind, w.batch_id) for w in seen] == [("stalled", batch_id)]
            assert seen[0].message in caplog.text  # logged as well
            later = time.time() + 3600
            kinds = [w.kind for w in job.warnings(now=later)]
            assert kinds == ["stuck"]  # validating for over 30 minutes
