"""Scale: a 236 MB upload and a million-line output with the emulator's memory flat.

The emulator runs as its own process so its peak RSS (VmHWM) can be read.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
import pytest

N = 1_000_000
PAD = "x" * 95
PEAK_LIMIT_KB = 150_000


def _write_input(path: Path) -> None:
    template = (
        '{"custom_id":"r-%07d","method":"POST","url":"/v1/chat/completions",'
        '"body":{"model":"m","messages":[{"role":"user","content":"%s %d"}]}}\n'
    )
    with path.open("wb") as file:
        for start in range(0, N, 20_000):
            chunk = "".join(
                template % (i, PAD, i) for i in range(start, start + 20_000)
            )
            file.write(chunk.encode())


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


async def _round_trip(url: str, source: Path, pid: int) -> tuple[int, int, int]:
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer k"}) as session:
        with source.open("rb") as file:
            form = aiohttp.FormData()
            form.add_field("purpose", "batch")
            form.add_field("file", file, filename="big.jsonl")
            async with session.post(f"{url}/v1/files", data=form) as response:
                uploaded = await response.json()
        after_upload = _peak_kb(pid)
        body = {
            "input_file_id": uploaded["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        }
        async with session.post(f"{url}/v1/batches", json=body) as response:
            batch = await response.json()
        while batch["status"] != "completed":
            assert batch["status"] in ("validating", "in_progress", "finalizing"), batch
            await asyncio.sleep(0.2)
            async with session.get(f"{url}/v1/batches/{batch['id']}") as response:
                batch = await response.json()
        lines = size = 0
        content = f"{url}/v1/files/{batch['output_file_id']}/content"
        async with session.get(content) as response:
            length = response.content_length
            async for chunk in response.content.iter_chunked(1 << 20):
                lines += chunk.count(b"\n")
                size += len(chunk)
        assert size == length
    return after_upload, lines, batch["request_counts"]["completed"]


@pytest.mark.slow
def test_million_line_output_with_flat_memory(tmp_path: Path) -> None:
    # Strategy: keep the 1 GB of files on tmpfs when there is one, so the test
    # measures the emulator rather than the disk; tmpfs pages are not in RSS.
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        with tempfile.TemporaryDirectory(dir=shm) as scratch:
            _measure(Path(scratch))
    else:
        _measure(tmp_path)


def _measure(tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    _write_input(source)
    assert source.stat().st_size > 200_000_000
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streambatch",
            "emulator",
            "--port",
            "0",
            "--state-dir",
            str(tmp_path / "state"),
            "--openai-max-requests",
            str(N),
            "--openai-max-batch-bytes",
            "300000000",
            "--reply-words",
            "1",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        after_upload, lines, completed = asyncio.run(
            _round_trip(url, source, process.pid)
        )
        peak = _peak_kb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    print(f"\nemulator peak RSS: {after_upload} kB after upload, {peak} kB overall")
    assert lines == completed == N
    assert after_upload < PEAK_LIMIT_KB and peak < PEAK_LIMIT_KB
