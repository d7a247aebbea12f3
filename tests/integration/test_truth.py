"""Commands tell the truth: state, exit codes and options, against the emulator.

Each test here failed on the code before the job state machine: it names the
behaviour a user hit.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import pathlib

import pytest

from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig, Faults, Limits, Timings
from streambatch.testing.sample import write_sample

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]


def _run(tmp_path: pathlib.Path, url: str, *extra: str) -> list[str]:
    return [
        "run",
        str(tmp_path / "in.jsonl"),
        "--provider",
        "openai",
        "--job-dir",
        str(tmp_path / "job"),
        "-o",
        str(tmp_path / "out.jsonl"),
        "--base-url",
        url,
        *POLL,
        *extra,
    ]


def _rows(path: pathlib.Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


async def test_status_after_a_retry_counts_every_attempt(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = EmulatorConfig(faults=Faults(item_error_rate=0.3, seed=2))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 200)
        run = _run(tmp_path, emulator.openai_base_url)
        assert await asyncio.to_thread(main, run) == 0
        emulator.faults.item_error_rate = 0.0
        job = str(tmp_path / "job")
        retry = ["retry", job, "--all", "--wait", *POLL]
        assert await asyncio.to_thread(main, retry) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["status", job]) == 0
    assert "200/200 requests done" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["status", job, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["done"] == document["requests"] == 200
    assert document["sent"] > 200


async def test_results_refuses_an_unfinished_job_unless_partial(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = EmulatorConfig(timings=Timings.realistic(speed=1.0))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 20)
        job = str(tmp_path / "job")
        submit = [
            "submit",
            str(tmp_path / "in.jsonl"),
            "--provider",
            "openai",
            "--job-dir",
            job,
            "--base-url",
            emulator.openai_base_url,
        ]
        assert await asyncio.to_thread(main, submit) == 0
        out = tmp_path / "out.jsonl"
        results = ["results", job, "-o", str(out)]
        assert await asyncio.to_thread(main, results) == 1
        err = capsys.readouterr().err
        assert "the job has not finished: 0/20 requests done" in err
        assert "--partial" in err
        assert not out.exists()
        partial = [*results, "--partial"]
        assert await asyncio.to_thread(main, partial) == 0
    rows = _rows(out)
    assert len(rows) == 20
    assert {r["status"] for r in rows} == {"errored"}
    assert all(r["error"]["type"] == "missing" for r in rows)  # type: ignore[index]


async def test_a_batch_failed_whole_exits_1_and_retry_resplits_it(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The host takes at most 40 requests a batch; the job asks for 100.
    config = EmulatorConfig(limits=Limits(openai_max_requests=40))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 150)
        run = _run(tmp_path, emulator.openai_base_url, "--max-requests", "100")
        assert await asyncio.to_thread(main, run) == 1
        captured = capsys.readouterr()
        summary = captured.out.strip().splitlines()[-1]
        assert "2 batches failed as a whole" in summary
        assert "failed:" in captured.err
        assert all(r["status"] == "errored" for r in _rows(tmp_path / "out.jsonl"))
        # Retried smaller, the same requests go through.
        job = str(tmp_path / "job")
        retry = ["retry", job, "--all", "--max-requests", "40", "--wait", *POLL]
        assert await asyncio.to_thread(main, retry) == 0
        final = tmp_path / "final.jsonl"
        results = ["results", job, "-o", str(final)]
        assert await asyncio.to_thread(main, results) == 0
        sizes = sorted(b.request_count for b in emulator.records.batches("openai"))
    rows = _rows(final)
    assert len(rows) == 150 and {r["status"] for r in rows} == {"succeeded"}
    assert {r["attempt"] for r in rows} == {2}
    # Two refused batches (0 requests validated), then 100 as 40+40+20, 50 as 40+10.
    assert sizes == [0, 0, 10, 20, 40, 40, 40]


async def test_another_base_url_on_an_existing_job_is_refused(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = EmulatorConfig(timings=Timings.realistic(speed=1.0))
    async with Emulator(slow) as first, Emulator() as second:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 10)
        job = str(tmp_path / "job")
        submit = [
            "submit",
            str(tmp_path / "in.jsonl"),
            "--provider",
            "openai",
            "--job-dir",
            job,
        ]
        assert (
            await asyncio.to_thread(
                main, [*submit, "--base-url", first.openai_base_url]
            )
            == 0
        )
        again = [*submit, "--base-url", second.openai_base_url]
        assert await asyncio.to_thread(main, again) == 2
        assert (
            f"the job's batches live at {first.openai_base_url}"
            in capsys.readouterr().err
        )
        run = _run(tmp_path, second.openai_base_url)
        assert await asyncio.to_thread(main, run) == 2
        wait = ["wait", job, "--base-url", second.openai_base_url]
        assert await asyncio.to_thread(main, wait) == 2
        assert not second.records.batches("openai")
        # Without --base-url, the job's own host is used.
        assert await asyncio.to_thread(main, [*submit]) == 0
        assert len(first.records.batches("openai")) == 1
        # And a changed split is refused, not ignored.
        assert await asyncio.to_thread(main, [*submit, "--max-requests", "3"]) == 2
        assert "a resumed job keeps its split" in capsys.readouterr().err


async def test_common_options_before_or_after_every_subcommand(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = EmulatorConfig(faults=Faults(expiry_rate=1.0, seed=4))
    async with Emulator(config) as emulator:
        url = emulator.openai_base_url
        write_sample(str(tmp_path / "in.jsonl"), "openai", 30)
        run = _run(tmp_path, url, "--log-level", "info", "--quiet")
        assert await asyncio.to_thread(main, run) == 0
        emulator.faults.expiry_rate = 0.0
        job = str(tmp_path / "job")
        retry = ["retry", job, "--base-url", url, "--api-key-env", "NO_SUCH_KEY", *POLL]
        assert await asyncio.to_thread(main, retry) == 0
        wait = [
            "--quiet",
            "wait",
            job,
            "--base-url",
            url,
            "--log-level",
            "debug",
            *POLL,
        ]
        assert await asyncio.to_thread(main, wait) == 0
        results = ["--base-url", url, "results", job, "-o", str(tmp_path / "r.jsonl")]
        assert await asyncio.to_thread(main, results) == 0
    assert {r["status"] for r in _rows(tmp_path / "r.jsonl")} == {"succeeded"}


async def test_wait_on_a_finished_job_exits_0_whatever_the_timeout(
    tmp_path: pathlib.Path,
) -> None:
    async with Emulator() as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
        assert (
            await asyncio.to_thread(main, _run(tmp_path, emulator.openai_base_url)) == 0
        )
        wait = ["wait", str(tmp_path / "job"), "--timeout", "0.001"]
        assert await asyncio.to_thread(main, wait) == 0


async def test_cancel_reaches_a_process_that_waits(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Batches that would run for an hour, and cancel in a moment.
    config = EmulatorConfig(timings=Timings(in_progress=3600.0, cancelling=0.1))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 20)
        run = _run(tmp_path, emulator.openai_base_url, "--max-requests", "10")
        waiter = asyncio.create_task(asyncio.to_thread(main, run))
        manifest = tmp_path / "job" / "manifest.json"
        for _ in range(500):
            if manifest.exists() and all(
                b["batch_id"]
                for c in json.loads(manifest.read_bytes())["chunks"]
                for b in c["batches"]
            ):
                break
            await asyncio.sleep(0.01)
        cancel = ["cancel", str(tmp_path / "job")]
        assert await asyncio.to_thread(main, cancel) == 0
        out = capsys.readouterr().out
        assert f"cancel requested for 2 batches; process {os.getpid()}" in out
        code = await asyncio.wait_for(waiter, 30)
        states = {b.status for b in emulator.records.batches("openai")}
    assert code == 1  # the job did not finish: it was cancelled
    assert "the job was cancelled" in capsys.readouterr().out
    assert states == {"cancelled"}
    assert json.loads(manifest.read_bytes())["cancelled"] is True


def test_job_is_locked_names_the_holder(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from streambatch._io.jobdir import JobDir

    with JobDir.open(tmp_path / "job", create=True):
        write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
        assert main(_run(tmp_path, "http://127.0.0.1:9/v1")) == 1
    assert (
        f"job is locked: process {os.getpid()} is using it" in capsys.readouterr().err
    )


@pytest.mark.parametrize("kind", ["gzip", "bom"])
def test_a_compressed_or_bom_input_is_refused_by_name(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    write_sample(str(tmp_path / "plain.jsonl"), "openai", 3)
    data = (tmp_path / "plain.jsonl").read_bytes()
    data = gzip.compress(data) if kind == "gzip" else b"\xef\xbb\xbf" + data
    (tmp_path / "in.jsonl").write_bytes(data)
    assert main(_run(tmp_path, "http://127.0.0.1:9/v1")) == 2
    err = capsys.readouterr().err
    assert ("gzip-compressed" if kind == "gzip" else "byte-order mark") in err
    assert err.count("\n") == 1
