"""Runs of the command line in processes of their own, without an interpreter each.

A crash test SIGKILLs a run of the command line mid-step, and a secrets test
reads everything a run at debug level prints, with its key in the environment:
each run must be a process of its own. Starting a new interpreter for each costs
about 0.3 s of CPU (Python and the package's imports) before the run does
anything; instead, a ``multiprocessing`` fork server imports the command line
once, and each run is a fork of it calling ``main(argv)``, as ``streambatch``
itself would, with its own environment, PID and exit status. Stdlib only, so
the fork server does not import pytest.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from multiprocessing.process import BaseProcess

from streambatch.cli import main

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["streambatch._commands", __name__])
HANG_GUARD = 120.0  # seconds; only a hung run ever reaches it


def start(argv: list[str], log: str, env: dict[str, str] | None = None) -> BaseProcess:
    """Start ``streambatch ARGV`` with its stdout and stderr in the file ``log``,
    and ``env`` for its whole environment (this process's when None)."""
    if env is None:
        env = dict(os.environ)
    process = _CONTEXT.Process(target=_main, args=(argv, log, env), daemon=True)
    process.start()
    return process


def run(argv: list[str], log: str, env: dict[str, str] | None = None) -> int:
    """Run ``streambatch ARGV`` as `start` does, to its end; its exit status."""
    process = start(argv, log, env)
    process.join(HANG_GUARD)
    if process.is_alive():
        process.kill()
        process.join()
        raise AssertionError(f"streambatch {' '.join(argv)} hung; see {log}")
    assert process.exitcode is not None
    return process.exitcode


def _main(argv: list[str], log: str, env: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(env)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
