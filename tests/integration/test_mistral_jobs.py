"""Whole Mistral jobs against the emulator on loopback: multi-chunk through the
Python API and the command line, lost creates found again by metadata, a timed-out
job salvaged and retried, a failed job's reasons. (Resume at every step is
test_jobs' interrupted test, and the fault and crash suites, run for mistral too.)"""

from __future__ import annotations

import asyncio
import json
import pathlib
from collections import Counter

import pytest

from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig, Faults, Timings
from streambatch.testing.sample import write_sample

from .test_jobs import check_complete, client_for, finish

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]


async def test_a_multi_chunk_job_ends_with_one_result_per_request(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "mistral", 1200)
    async with client_for(emulator, "mistral") as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=500
        ) as job:
            assert [c.n_requests for c in job.manifest.chunks] == [500, 500, 200]
            assert {c.model for c in job.manifest.chunks} == {"mistral-small-latest"}
            results = await finish(job)
            assert {b.state for _, b in job.attempts()} == {"completed"}
    check_complete("mistral", 1200, results)
    assert len({r.batch_id for r in results}) == 3
    assert {r.stop_reason for r in results} == {"end"}
    assert all(r.usage and r.usage.output_tokens > 0 for r in results)
    batches = emulator.records.batches("mistral")
    assert len(batches) == 3 and {b.status for b in batches} == {"SUCCESS"}
    creates = [r for r in emulator.records.requests if r.method == "POST"]
    assert {r.path for r in creates} == {"/mistral/v1/files", "/mistral/v1/batch/jobs"}


async def test_lines_of_two_models_make_jobs_of_one_model_each(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    lines = []
    for n in range(40):
        model = "mistral-small-latest" if n % 2 else "mistral-large-latest"
        body = {"model": model, "messages": [{"role": "user", "content": f"q{n}"}]}
        lines.append(json.dumps({"custom_id": f"r{n}", "body": body}))
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    async with client_for(emulator, "mistral") as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job"
        ) as job:
            chunks = job.manifest.chunks
            assert sorted((c.model, c.n_requests) for c in chunks) == [
                ("mistral-large-latest", 20),
                ("mistral-small-latest", 20),
            ]
            results = await finish(job)
    assert Counter(r.status for r in results) == {"succeeded": 40}


async def test_lost_create_answers_are_found_again_by_metadata(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    """Every create is carried out but answered 500: the job finds each job by the
    tag in its metadata, paging the listing, instead of creating it again."""
    write_sample(str(tmp_path / "in.jsonl"), "mistral", 300)
    emulator.faults.lost_response_rate = 1.0
    async with client_for(emulator, "mistral") as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100
        ) as job:
            emulator.faults.lost_response_rate = 0.0
            results = await finish(job)
    check_complete("mistral", 300, results)
    assert len(emulator.records.batches("mistral")) == 3
    assert emulator.records.duplicates() == {}


async def test_a_timed_out_job_is_salvaged_then_retried(
    tmp_path: pathlib.Path,
) -> None:
    """TIMEOUT_EXCEEDED keeps the results written so far; the rest come back
    expired, and a retry sends only those."""
    timings = Timings(in_progress=100.0, completion_window=200.0, speed=2_000.0)
    config = EmulatorConfig(timings=timings, faults=Faults(expiry_rate=1.0, seed=3))
    write_sample(str(tmp_path / "in.jsonl"), "mistral", 200)
    async with Emulator(config) as emulator, client_for(emulator, "mistral") as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100
        ) as job:
            first = await finish(job)
            assert {b.state for _, b in job.attempts()} == {"expired"}
            assert {b.status for b in emulator.records.batches()} == {
                "TIMEOUT_EXCEEDED"
            }
            statuses = Counter(r.status for r in first)
            assert statuses["succeeded"] > 0 and statuses["expired"] > 0
            expired = {r.custom_id for r in first if r.status == "expired"}
            emulator.faults.expiry_rate = 0.0
            assert await job.retry_failed() == len(expired)
            final = await finish(job)
    check_complete("mistral", 200, final)
    assert {r.custom_id for r in final if r.attempt == 2} == expired


async def test_failed_requests_come_from_the_error_file(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    """Every request fails: the job has only an error file, and each record is
    errored with the request's own status and error type."""
    emulator.faults.all_failed_rate = 1.0
    write_sample(str(tmp_path / "in.jsonl"), "mistral", 50)
    async with client_for(emulator, "mistral") as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job"
        ) as job:
            results = await finish(job)
            [(_, attempt)] = list(job.attempts())
            assert set(attempt.downloads) == {"error"}
    assert Counter(r.status for r in results) == {"errored": 50}
    assert {r.error.status_code for r in results if r.error} <= {400, 500}


def test_bad_lines_are_named_before_anything_is_sent(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    lines = [
        {"custom_id": "a", "body": good},
        {"custom_id": "b", "body": {"messages": []}},
        {"custom_id": "c", "body": {**good, "stream": True}},
        {"custom_id": "d", "body": {"model": "m"}},
        {"custom_id": "a", "body": good},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    argv = ["submit", str(source), "--provider", "mistral", "--job-dir"]
    argv += [str(tmp_path / "job"), "--base-url", "http://127.0.0.1:9"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{source}:2: custom_id 'b': missing field body.model" in err
    assert f"{source}:3: custom_id 'c': body.stream must not be true" in err
    assert f"{source}:4: custom_id 'd': body: must hold exactly one of messages" in err
    assert f"{source}:5: custom_id 'a': duplicate custom_id" in err
    assert not (tmp_path / "job" / "manifest.json").exists()
    assert "Traceback" not in err


async def test_submit_wait_results_against_a_running_emulator(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Separate commands, the key from MISTRAL_API_KEY (checked by the emulator)."""
    monkeypatch.setenv("MISTRAL_API_KEY", "mistral-test-key")
    write_sample(str(tmp_path / "in.jsonl"), "mistral", 120)
    job = str(tmp_path / "job")
    async with Emulator(EmulatorConfig(api_key="mistral-test-key")) as emulator:
        submit = ["submit", str(tmp_path / "in.jsonl"), "--provider", "mistral"]
        submit += ["--job-dir", job, "--max-requests", "50"]
        submit += ["--base-url", emulator.mistral_base_url]
        assert await asyncio.to_thread(main, submit) == 0
        assert await asyncio.to_thread(main, ["wait", job, *POLL]) == 0
        out = tmp_path / "out.jsonl"
        assert await asyncio.to_thread(main, ["results", job, "-o", str(out)]) == 0
        assert len(emulator.records.batches("mistral")) == 3
    rows = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert len(rows) == 120 and {r["status"] for r in rows} == {"succeeded"}
    assert b"mistral-test-key" not in everything_in(pathlib.Path(job))


def everything_in(directory: pathlib.Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())
