"""SIGKILL the command line at each step of a job, run it again, and judge the result.

The emulator runs on its own thread of the test process, in its own event loop
(it outlives the client it serves), and is questioned over its HTTP list
endpoints. The killed run is a process of the command line, forked from one that
has it imported (``_command_line``); the run again that finishes the job is
``main`` called in the test process (the same command, without the cost of one
more process). Each step is hit by watching the job directory (the split's
staging files, the manifest's file ids, create intents, batch states and
downloads) with the emulator slowed where the step is short.
After the kill, the job directory is checked to be in that step, so a missed
window fails loudly instead of testing the wrong thing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import pathlib
import signal
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from streambatch.cli import main
from streambatch.testing import Emulator, Faults, ManualClock, Timings, expected_text
from streambatch.testing._cli import add_arguments, config_from
from streambatch.testing.sample import write_sample
from tests import _command_line

from ._support import auth, bodies

Manifest = dict[str, Any]
# Real waits, on the wall clock: each request held 0.2 s is the window in which a
# process of the command line is killed mid-step.
SLOW = ["--slow-rate", "1", "--slow-seconds", "0.2"]
HANG_GUARD = 60.0  # seconds; only a hung process ever reaches it
PROVIDERS = ["openai", "anthropic", "gemini", "azure", "mistral"]
SUFFIXES = {
    "openai": "/v1",
    "gemini": "/gemini",
    "azure": "/azure",
    "mistral": "/mistral",
}


@contextlib.contextmanager
def emulator_process(
    state: pathlib.Path, *flags: str, **settings: Any
) -> Iterator[Emulator]:
    """Serve an emulator configured by ``streambatch emulator``'s ``flags`` (then
    ``EmulatorConfig`` ``settings``) on a thread of its own, with its own event
    loop; yield it (its ``url``, its live ``faults``)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--port", "0", "--state-dir", str(state), *flags])
    config = config_from(args)
    for name, value in settings.items():
        setattr(config, name, value)
    loop = asyncio.new_event_loop()
    started: list[Emulator] = []
    ready = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with Emulator(config) as emulator:
                started.append(emulator)
                ready.set()
                await stop.wait()
        finally:
            ready.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(HANG_GUARD) and started, "the emulator did not start"
        assert started[0].url.startswith("http://127.0.0.1:"), started[0].url
        yield started[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(HANG_GUARD)
        assert not thread.is_alive(), "the emulator did not stop"
        loop.close()


class Job:
    """One job of the command line: its input, directory, output and commands."""

    def __init__(
        self, tmp_path: pathlib.Path, provider: str, count: int, max_requests: int
    ) -> None:
        self.provider = provider
        self.count = count
        self.max_requests = max_requests
        self.input = tmp_path / "in.jsonl"
        self.dir = tmp_path / "job"
        self.output = tmp_path / "out.jsonl"
        self.logs = tmp_path

    def command(self, url: str) -> list[str]:
        """The arguments of ``streambatch``."""
        base = url + SUFFIXES.get(self.provider, "")
        return [
            "run",
            str(self.input),
            "--provider",
            self.provider,
            "--job-dir",
            str(self.dir),
            "-o",
            str(self.output),
            "--base-url",
            base,
            "--poll-min",
            "0.05",
            "--poll-max",
            "0.2",
            "--max-requests",
            str(self.max_requests),
        ]

    @property
    def chunks(self) -> int:
        return -(-self.count // self.max_requests)

    def manifest(self) -> Manifest | None:
        try:
            data = (self.dir / "manifest.json").read_bytes()
        except FileNotFoundError:
            return None
        document: Manifest = json.loads(data)
        return document

    def records(self) -> list[Manifest]:
        manifest = self.manifest()
        if manifest is None:
            return []
        return [b for c in manifest["chunks"] for b in c["batches"]]

    def kill_when(
        self,
        url: str,
        condition: Callable[[Job], bool],
        *,
        before: Callable[[], None] = lambda: None,
    ) -> None:
        """Start the run, SIGKILL it as soon as ``condition`` holds."""
        log = self.logs / "killed.log"
        process = _command_line.start(self.command(url), str(log))
        try:
            before()
            deadline = time.monotonic() + HANG_GUARD
            while not condition(self):
                assert process.is_alive(), (
                    f"the run ended ({process.exitcode}) before the step: "
                    + log.read_text()
                )
                assert time.monotonic() < deadline, "the step never came"
                time.sleep(0.002)
            process.kill()  # SIGKILL
        finally:
            if process.is_alive():
                process.kill()
            process.join(HANG_GUARD)
        assert process.exitcode == -signal.SIGKILL

    def rerun(self, url: str) -> None:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(self.command(url))
        assert code == 0, err.getvalue()
        assert (
            out.getvalue()
            .strip()
            .splitlines()[-1]
            .startswith(
                f"results: succeeded={self.count} errored=0 expired=0 canceled=0 "
                f"total={self.count}"
            )
        ), out.getvalue()

    def check_results(self) -> None:
        """One line per custom_id, each with its own request's reply."""
        expected = bodies(self.provider, self.count)
        rows = [json.loads(line) for line in self.output.read_bytes().splitlines()]
        assert len(rows) == self.count
        assert {r["custom_id"] for r in rows} == set(expected)
        for row in rows:
            assert row["status"] == "succeeded", row
            assert row["text"] == expected_text(
                self.provider, expected[row["custom_id"]]
            )


def get(url: str, provider: str) -> Any:
    request = urllib.request.Request(url, headers=auth(provider))
    with urllib.request.urlopen(request, timeout=HANG_GUARD) as response:
        return json.loads(response.read())


def emulator_batches(url: str, provider: str) -> list[dict[str, Any]]:
    """Every batch the emulator holds, through its list endpoint, page by page."""
    if provider == "gemini":
        return gemini_batches(url)
    if provider == "mistral":
        return mistral_jobs(url)
    path = {"openai": "/v1/batches", "azure": "/azure/openai/v1/batches"}.get(
        provider, "/v1/messages/batches"
    )
    cursor = "after" if provider in ("openai", "azure") else "after_id"
    found: list[dict[str, Any]] = []
    query = "?limit=100"
    while True:
        page = get(url + path + query, provider)
        found.extend(page["data"])
        if not page["has_more"]:
            return found
        query = f"?limit=100&{cursor}={page['last_id']}"


def mistral_jobs(url: str) -> list[dict[str, Any]]:
    """Every Mistral job, page by page (numbered pages)."""
    found: list[dict[str, Any]] = []
    page = 0
    while True:
        listing = get(
            f"{url}/mistral/v1/batch/jobs?page={page}&page_size=100", "mistral"
        )
        found.extend(listing["data"])
        if len(found) >= listing["total"] or not listing["data"]:
            return found
        page += 1


def gemini_batches(url: str) -> list[dict[str, Any]]:
    """Every Gemini batch, as ``{"id", "state", "total", "name"}``, page by page."""
    found: list[dict[str, Any]] = []
    query = "?pageSize=100"
    while True:
        page = get(url + "/gemini/v1beta/batches" + query, "gemini")
        for operation in page.get("operations", []):
            metadata = operation["metadata"]
            found.append(
                {
                    "id": operation["name"].removeprefix("batches/"),
                    "state": metadata["state"],
                    "total": int(metadata["batchStats"]["requestCount"]),
                    "name": metadata["displayName"],
                }
            )
        if "nextPageToken" not in page:
            return found
        query = f"?pageSize=100&pageToken={page['nextPageToken']}"


def check_no_duplicate_batch(url: str, job: Job) -> None:
    """As many batches as chunks, holding every request once, all of them ours."""
    batches = emulator_batches(url, job.provider)
    assert len(batches) == job.chunks
    assert {b["id"] for b in batches} == {r["batch_id"] for r in job.records()}
    if job.provider in ("openai", "azure"):
        assert {b["status"].lower() for b in batches} == {"completed"}
        assert sum(b["request_counts"]["total"] for b in batches) == job.count
        tags = [json.dumps(b["metadata"], sort_keys=True) for b in batches]
        assert len(set(tags)) == job.chunks
    elif job.provider == "mistral":
        assert {b["status"] for b in batches} == {"SUCCESS"}
        assert sum(b["total_requests"] for b in batches) == job.count
        tags = [json.dumps(b["metadata"], sort_keys=True) for b in batches]
        assert len(set(tags)) == job.chunks
    elif job.provider == "gemini":
        assert {b["state"] for b in batches} == {"BATCH_STATE_SUCCEEDED"}
        assert sum(b["total"] for b in batches) == job.count
        assert len({b["name"] for b in batches}) == job.chunks
    else:
        assert {b["processing_status"] for b in batches} == {"ended"}
        assert sum(sum(b["request_counts"].values()) for b in batches) == job.count


def finish_and_judge(emulator: Emulator, job: Job) -> None:
    """Run the job again to its end, and judge what it wrote and created.

    The faults that held a step open for the kill are lifted first: the rerun
    has nothing to wait out.
    """
    emulator.faults = Faults()
    job.rerun(emulator.url)
    job.check_results()
    check_no_duplicate_batch(emulator.url, job)


# The steps -----------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_killed_during_split(tmp_path: pathlib.Path, provider: str) -> None:
    """The input comes through a FIFO: the split blocks half-way, and is killed there.

    Then the FIFO is replaced by a file of the same bytes at the same path.
    """
    job = Job(tmp_path, provider, 3000, 1000)
    data = tmp_path / "data.jsonl"
    write_sample(str(data), provider, job.count)
    content = data.read_bytes()
    half = content.index(b"\n", len(content) // 2) + 1
    os.mkfifo(job.input)
    writer: list[int] = []

    def feed_half() -> None:
        deadline = time.monotonic() + HANG_GUARD
        while not writer:
            try:
                writer.append(os.open(job.input, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # ENXIO: the reader has not opened it yet
                assert time.monotonic() < deadline
                time.sleep(0.002)
        os.set_blocking(writer[0], True)
        os.write(writer[0], content[:half])

    def splitting(job: Job) -> bool:
        # feed_half returned: the split has read all but a pipe's worth of it, and
        # cannot end without the rest.
        return (job.dir / "chunks.partial").is_dir()

    with emulator_process(tmp_path / "emu") as emulator:
        try:
            job.kill_when(emulator.url, splitting, before=feed_half)
        finally:
            for fd in writer:
                os.close(fd)
        assert job.manifest() is None  # killed before the split ended
        os.unlink(job.input)
        os.replace(data, job.input)
        finish_and_judge(emulator, job)


def uploading(job: Job) -> bool:
    return job.manifest() is not None


def creating(job: Job) -> bool:
    return any(r["creating_since"] and not r["batch_id"] for r in job.records())


def polling(job: Job) -> bool:
    return any(r["state"] in ("in_progress", "finalizing") for r in job.records())


def downloading(job: Job) -> bool:
    recorded = {(r["batch_id"], kind) for r in job.records() for kind in r["downloads"]}
    for path in (job.dir / "downloads").glob("*.jsonl"):
        batch_id, kind, _ = path.name.split(".")
        if (batch_id, kind) not in recorded:  # begun (bytes land a MiB at a time)
            return True
    return False


@pytest.mark.parametrize("provider", ["openai", "gemini", "azure", "mistral"])
def test_killed_during_upload(tmp_path: pathlib.Path, provider: str) -> None:
    job = Job(tmp_path, provider, 600, 300)
    write_sample(str(job.input), provider, job.count)
    with emulator_process(tmp_path / "emu", *SLOW) as emulator:
        job.kill_when(emulator.url, uploading)
        assert any(r["file_id"] is None for r in job.records())
        assert all(r["batch_id"] is None for r in job.records())
        finish_and_judge(emulator, job)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_killed_during_create(tmp_path: pathlib.Path, provider: str) -> None:
    job = Job(tmp_path, provider, 600, 300)
    write_sample(str(job.input), provider, job.count)
    with emulator_process(tmp_path / "emu", *SLOW) as emulator:
        job.kill_when(emulator.url, creating)
        assert creating(job)  # an intent on disk, its batch id not
        finish_and_judge(emulator, job)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_killed_during_poll(tmp_path: pathlib.Path, provider: str) -> None:
    job = Job(tmp_path, provider, 600, 300)
    write_sample(str(job.input), provider, job.count)
    # The batches stay in progress until the clock is moved, after the kill. (The
    # run writes a status it polled at most once a second: one held back is
    # written by a later poll that sees nothing new, so the step shows on disk.)
    clock, hour = ManualClock(), Timings(in_progress=3600.0)
    with emulator_process(tmp_path / "emu", clock=clock, timings=hour) as emulator:
        job.kill_when(emulator.url, polling)
        assert all(r["batch_id"] for r in job.records())
        assert not any(r["downloads"] for r in job.records())
        clock.advance(3600.0)
        finish_and_judge(emulator, job)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_killed_during_download(tmp_path: pathlib.Path, provider: str) -> None:
    """Killed with a file on disk not yet recorded: the rerun replaces it whole.

    Bodies go out 16 bytes at a time, so the kill nearly always lands mid-body;
    it may land after the last byte and before the manifest records the file,
    which must resume just as well.
    """
    job = Job(tmp_path, provider, 600, 300)
    write_sample(str(job.input), provider, job.count)
    with emulator_process(tmp_path / "emu", "--chunk-bytes", "16") as emulator:
        job.kill_when(emulator.url, downloading)
        partial = {
            p.name: p.stat().st_size for p in (job.dir / "downloads").glob("*.jsonl")
        }
        recorded = {
            f"{r['batch_id']}.{kind}.jsonl": size
            for r in job.records()
            for kind, size in r["downloads"].items()
        }
        cut = set(partial) - set(recorded)
        assert cut  # downloads run concurrently: one or more were cut
        finish_and_judge(emulator, job)
        whole = {
            f"{r['batch_id']}.{kind}.jsonl": size
            for r in job.records()
            for kind, size in r["downloads"].items()
        }
        for name in cut:
            assert 0 <= partial[name] <= whole[name]
            assert (job.dir / "downloads" / name).stat().st_size == whole[name]
