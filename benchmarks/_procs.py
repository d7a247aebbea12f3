"""Process plumbing shared by the emulator-driven benchmarks (e2e, polling).

Starts a server process that prints its URL as its first stdout line, stops it
with SIGTERM, runs a measuring child that prints one JSON object, and reads a
process's peak RSS (``VmHWM``). Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ("note", "run_child", "server", "vm_hwm_kib")


def vm_hwm_kib(pid: int | str = "self") -> int | None:
    """Peak RSS in KiB of process ``pid`` (``VmHWM`` from /proc), or None.

    Unlike ``ru_maxrss``, ``VmHWM`` belongs to the address space, which ``execve``
    starts afresh: a child's figure never includes its parent's peak.
    """
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def note(message: str) -> None:
    """Progress on stderr, so that stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def server(
    argv: Sequence[str], log_path: Path, *, stdin: bool = False
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``argv`` (which prints its URL first) for the block; yield it and the URL.

    Its stderr goes to ``log_path``; SIGTERM stops it at the end of the block.
    """
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            if not url.startswith("http://127.0.0.1:"):
                raise SystemExit(
                    f"the server did not start: {url!r}\n{log_path.read_text()}"
                )
            yield proc, url
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.stdin is not None:  # a server reading commands stops at end of input
        with contextlib.suppress(OSError):
            proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def run_child(argv: Sequence[str]) -> dict[str, Any]:
    """Run a measuring child; return the JSON object it prints last on stdout."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    done = subprocess.run(
        list(argv), capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:3])} failed:\n{done.stderr}")
    if done.stderr.strip():
        note(done.stderr.rstrip())
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def send_line(stream: IO[str] | None, line: str) -> None:
    """Write one command line to a server's stdin."""
    assert stream is not None
    stream.write(line + "\n")
    stream.flush()
