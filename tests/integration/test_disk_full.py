"""A full disk: its own error (DiskFull, exit 1, one line), never a truncated
manifest, never retried as a network fault; the same command succeeds once space
is freed, with exactly one batch per chunk. On a real (small) tmpfs."""

from __future__ import annotations

import asyncio
import errno
import json
import pathlib
from collections.abc import Callable, Iterator

import pytest

import streambatch as sb
from streambatch._core.manifest import BatchRecord, ChunkRecord, Manifest
from streambatch._errors import DiskFull
from streambatch._io.failures import mapped
from streambatch._io.jobdir import JobDir
from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig, Faults
from streambatch.testing.sample import write_sample

from ._disk import SmallDisk, small_disk

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]


@pytest.fixture
def disk(tmp_path: pathlib.Path) -> Iterator[SmallDisk]:
    with small_disk(tmp_path / "small", "2m") as mounted:
        yield mounted


@pytest.fixture
def source(tmp_path: pathlib.Path) -> pathlib.Path:
    """300 OpenAI requests, 3 chunks of 100."""
    path = tmp_path / "in.jsonl"
    write_sample(str(path), "openai", 300)
    return path


def _manifest(chunks: int) -> Manifest:
    return Manifest(
        job_id="j",
        provider="openai",
        base_url="http://127.0.0.1:1/v1",
        input_path="/in.jsonl",
        input_sha256="0" * 64,
        input_bytes=1,
        n_requests=chunks,
        created_at=0.0,
        chunks=[
            ChunkRecord(
                index=i,
                path=f"chunks/chunk-{i:05d}.jsonl",
                n_requests=1,
                n_bytes=1,
                first_line=i + 1,
                batches=[BatchRecord(tag={"streambatch_job": "j" * 40})],
            )
            for i in range(chunks)
        ],
    )


def test_a_manifest_that_does_not_fit_leaves_the_previous_one(
    disk: SmallDisk,
) -> None:
    with JobDir.open(disk.path / "job", create=True) as job_dir:
        job_dir.save(_manifest(1))
        disk.fill(leave=8192)
        with pytest.raises(DiskFull) as caught:
            job_dir.save(_manifest(3000))  # ~400 KB: cannot land whole
        assert caught.value.path.endswith("manifest.json")
        assert caught.value.needed is not None and caught.value.needed > 100_000
        previous = job_dir.load()
        assert previous is not None and len(previous.chunks) == 1
        assert not (job_dir.path / "manifest.json.tmp").exists()
        disk.free()
        job_dir.save(_manifest(3000))
        again = job_dir.load()
        assert again is not None and len(again.chunks) == 3000


def test_a_full_disk_under_the_wire_is_not_a_transport_error() -> None:
    with pytest.raises(DiskFull), mapped():
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(sb.TransportError), mapped():
        raise OSError(errno.ECONNRESET, "Connection reset by peer")


def _one_line_disk_full(err: str) -> None:
    assert err.count("\n") == 1, err
    assert "no space left on device" in err
    assert "free some space and run the same command again" in err
    assert "Traceback" not in err


def _args(
    command: str, emulator: Emulator, source: pathlib.Path, job: pathlib.Path
) -> list[str]:
    return [
        command,
        str(source),
        "--provider",
        "openai",
        "--job-dir",
        str(job),
        "--max-requests",
        "100",
        "--base-url",
        emulator.openai_base_url,
        "--quiet",
    ]


def _run(
    emulator: Emulator, source: pathlib.Path, job: pathlib.Path, out: pathlib.Path
) -> list[str]:
    return [*_args("run", emulator, source, job), "-o", str(out), *POLL]


async def _full_then_freed(
    disk: SmallDisk,
    command: list[str],
    capsys: pytest.CaptureFixture[str],
    while_full: Callable[[], None],
) -> None:
    """The command fails on the full disk (checked by ``while_full``), then
    succeeds as it is once space is freed."""
    assert await asyncio.to_thread(main, command) == 1
    _one_line_disk_full(capsys.readouterr().err)
    while_full()
    disk.free()
    assert await asyncio.to_thread(main, command) == 0


def _check(emulator: Emulator, out: pathlib.Path, count: int, chunks: int) -> None:
    rows = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert len(rows) == count
    assert {r["status"] for r in rows} == {"succeeded"}
    assert len(emulator.records.batches("openai")) == chunks
    assert emulator.records.duplicates() == {}


@pytest.mark.parametrize("leave", [4096, 16384, 40960])  # the input is about 60 kB
async def test_disk_full_at_split_then_the_same_command_succeeds(
    tmp_path: pathlib.Path,
    source: pathlib.Path,
    disk: SmallDisk,
    capsys: pytest.CaptureFixture[str],
    leave: int,
) -> None:
    async with Emulator() as emulator:
        job = disk.path / "job"
        disk.fill(leave=leave)

        def nothing_submitted() -> None:
            assert emulator.records.batches("openai") == []
            assert not (job / "manifest.json").exists()

        command = _run(emulator, source, job, tmp_path / "out.jsonl")
        await _full_then_freed(disk, command, capsys, nothing_submitted)
        _check(emulator, tmp_path / "out.jsonl", 300, 3)


async def test_disk_full_at_download_is_not_retried_then_succeeds(
    tmp_path: pathlib.Path,
    source: pathlib.Path,
    disk: SmallDisk,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with Emulator(EmulatorConfig(reply_words=300)) as emulator:
        job = disk.path / "job"
        submit = _args("submit", emulator, source, job)
        assert await asyncio.to_thread(main, submit) == 0
        disk.fill(leave=64 * 1024)  # room for the manifest, not the outputs

        def not_retried() -> None:
            requests = emulator.records.requests
            paths = [e.path for e in requests if "/content" in e.path]
            # Downloads run side by side, but none is tried twice.
            assert paths and len(paths) == len(set(paths))

        command = _run(emulator, source, job, tmp_path / "out.jsonl")
        await _full_then_freed(disk, command, capsys, not_retried)
        _check(emulator, tmp_path / "out.jsonl", 300, 3)


async def test_disk_full_at_results_leaves_no_partial_then_succeeds(
    tmp_path: pathlib.Path,
    source: pathlib.Path,
    disk: SmallDisk,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with Emulator(EmulatorConfig(reply_words=300)) as emulator:
        out = disk.path / "out.jsonl"
        out.write_bytes(b"an earlier results file\n")
        disk.fill(leave=64 * 1024)

        def earlier_file_kept() -> None:
            assert out.read_bytes() == b"an earlier results file\n"
            assert {p.name for p in disk.path.iterdir()} == {".filler", "out.jsonl"}

        command = _run(emulator, source, tmp_path / "job", out)
        await _full_then_freed(disk, command, capsys, earlier_file_kept)
        _check(emulator, out, 300, 3)


async def test_disk_full_in_any_other_write_is_still_the_disk_full_line(
    tmp_path: pathlib.Path,
    source: pathlib.Path,
    disk: SmallDisk,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`retry` writes its requests files itself; a full disk there is one line."""
    config = EmulatorConfig(faults=Faults(expiry_rate=1.0, seed=4))
    async with Emulator(config) as emulator:
        job = disk.path / "job"
        command = _run(emulator, source, job, tmp_path / "out.jsonl")
        assert await asyncio.to_thread(main, command) == 0
        emulator.faults.expiry_rate = 0.0
        disk.fill(leave=4096)

        def nothing_resubmitted() -> None:
            assert len(emulator.records.batches("openai")) == 3

        retry = ["retry", str(job), "--wait", "--quiet", *POLL]
        await _full_then_freed(disk, retry, capsys, nothing_resubmitted)
        assert len(emulator.records.batches("openai")) == 6
