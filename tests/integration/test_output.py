"""Where `-o` writes: stdout, a FIFO or a device written through, a file renamed
only when whole; the input, the job directory and a directory refused (exit 2)."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import stat
import subprocess
import sys
import threading

import pytest

from streambatch.cli import main
from streambatch.testing.sample import write_sample

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]


def _run(tmp_path: pathlib.Path, out: str, count: int = 30) -> list[str]:
    source = tmp_path / "in.jsonl"
    if not source.exists():
        write_sample(str(source), "openai", count)
    return [
        "run",
        str(source),
        "--provider",
        "openai",
        "--emulator",
        "--emulator-clock",
        "instant",
        "--job-dir",
        str(tmp_path / "job"),
        "-o",
        out,
        "--max-requests",
        "10",
        "--quiet",
        *POLL,
    ]


def test_dash_writes_the_results_to_stdout(tmp_path: pathlib.Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streambatch", *_run(tmp_path, "-")],
        capture_output=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 30
    assert {r["status"] for r in rows} == {"succeeded"}
    assert b"results: succeeded=30" in done.stderr  # the summary is not in the data
    assert not (tmp_path / "-").exists()
    assert not (tmp_path / "-.partial").exists()


async def test_a_fifo_is_written_through_not_replaced(tmp_path: pathlib.Path) -> None:
    fifo = tmp_path / "results.fifo"
    os.mkfifo(fifo)
    keep = os.open(fifo, os.O_RDWR)  # a writer of our own: the reader never waits
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as pipe:
            received.append(pipe.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = await asyncio.to_thread(main, _run(tmp_path, str(fifo)))
    finally:
        os.close(keep)  # now the reader sees the end
        reader.join(timeout=30)
    assert code == 0
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert len(received[0].splitlines()) == 30
    assert not (tmp_path / "results.fifo.partial").exists()


def test_a_device_is_written_through_not_replaced(tmp_path: pathlib.Path) -> None:
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null's
    except PermissionError:
        pytest.skip("cannot make a device node here")
    assert main(_run(tmp_path, str(node))) == 0
    assert stat.S_ISCHR(node.stat().st_mode)
    assert not (tmp_path / "null.partial").exists()


def _refused(err: str, why: str) -> None:
    assert err.count("\n") == 1, err
    assert why in err
    assert "Traceback" not in err


def test_the_input_file_is_refused_before_anything_runs(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    write_sample(str(source), "openai", 30)
    before = source.read_bytes()
    for alias in (str(source), str(tmp_path / "." / "in.jsonl")):
        assert main(_run(tmp_path, alias)) == 2
        _refused(capsys.readouterr().err, "is the job's input file")
    link = tmp_path / "link.jsonl"
    link.symlink_to(source)
    assert main(_run(tmp_path, str(link))) == 2
    _refused(capsys.readouterr().err, "is the job's input file")
    assert source.read_bytes() == before
    assert not (tmp_path / "job").exists()  # nothing ran


def test_a_file_in_the_job_directory_or_a_directory_is_refused(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_run(tmp_path, str(tmp_path / "out.jsonl"))) == 0
    manifest = tmp_path / "job" / "manifest.json"
    before = manifest.read_bytes()
    capsys.readouterr()
    for target in (manifest, tmp_path / "job" / "chunks" / "x.jsonl"):
        assert main(["results", str(tmp_path / "job"), "-o", str(target)]) == 2
        _refused(capsys.readouterr().err, "is inside the job directory")
    assert main(_run(tmp_path, str(manifest))) == 2
    _refused(capsys.readouterr().err, "is inside the job directory")
    assert main(["results", str(tmp_path / "job"), "-o", str(tmp_path)]) == 2
    _refused(capsys.readouterr().err, "is a directory")
    assert manifest.read_bytes() == before
    assert not list((tmp_path / "job").glob("*.partial"))


def test_a_failure_while_writing_leaves_no_partial_and_the_old_file(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    assert main(_run(tmp_path, str(out))) == 0
    before = out.read_bytes()
    (tmp_path / "job" / "chunks" / "chunk-00001.jsonl").unlink()  # breaks the read
    capsys.readouterr()
    assert main(["results", str(tmp_path / "job"), "-o", str(out)]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert out.read_bytes() == before
    assert not (tmp_path / "out.jsonl.partial").exists()
