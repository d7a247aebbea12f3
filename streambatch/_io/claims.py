"""The batches that jobs on this machine have taken as their own.

A provider without batch metadata (Anthropic) lets a resumed job find a batch
its lost create made only by matching (size and time), and a match could be
another job's batch. Every job records each batch it creates or adopts here, and
a look-up passes over what is recorded, so two jobs of one machine never take
the same batch. The file is ``$STREAMBATCH_STATE_DIR/claimed-batches`` (by default
``~/.local/state/streambatch``), a line per claim (``BATCH_ID JOB_ID``), appended
under a lock. A job's own claims are its own: a job that claimed a batch and died
before recording it finds it again.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ("claim", "claimed")


def _path() -> Path:
    root = os.environ.get("STREAMBATCH_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"),
        "streambatch",
    )
    return Path(root) / "claimed-batches"


def _open() -> int:
    path = _path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)


def _read(fd: int) -> dict[str, str]:
    """Each claimed batch id, and the job that claimed it."""
    os.lseek(fd, 0, os.SEEK_SET)
    data = bytearray()
    while block := os.read(fd, 1 << 20):
        data += block
    owners: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        batch_id, _, job_id = line.partition(" ")
        owners.setdefault(batch_id, job_id)
    return owners


def claimed(job_id: str) -> frozenset[str]:
    """Every batch id another job of this machine has taken."""
    fd = _open()
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        return frozenset(b for b, owner in _read(fd).items() if owner != job_id)
    finally:
        os.close(fd)


def claim(batch_id: str, job_id: str) -> bool:
    """Record ``batch_id`` as the job's; False if another job had taken it."""
    fd = _open()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        owner = _read(fd).get(batch_id)
        if owner is not None:
            return owner == job_id
        line = f"{batch_id} {job_id}\n".encode()
        if os.write(fd, line) != len(line):
            raise OSError(f"{_path()}: short write")
        return True
    finally:
        os.close(fd)
