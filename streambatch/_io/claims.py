"""The batches that jobs on this machine have taken as their own.

A provider without batch metadata (Anthropic) lets a resumed job find a batch
its lost create made only by matching (size and time), and a match could be
another job's batch. Every job records here each batch it creates or adopts,
and a look-up passes over what another job holds, so two jobs of one machine
never hold the same batch. The file is ``$STREAMBATCH_STATE_DIR/claimed-batches``
(by default ``~/.local/state/streambatch``), appended under a lock, a line each:

- ``BATCH_ID JOB_ID``: the job adopts the batch, if no job holds it;
- ``BATCH_ID JOB_ID created``: the job's create call returned the batch: proof
  it is the job's, which takes it even from a job that adopted it first;
- ``BATCH_ID JOB_ID released``: the job adopted the batch and found it was not
  its own; another job may take it.

A job's own claims are its own: a job that claimed a batch and died before
recording it finds it again. The registry is one machine's: jobs of other
machines on the same key are told apart only by their custom_ids (``_proof``).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import NamedTuple

__all__ = ("Holder", "claim", "claimed", "holder", "release")

_CREATED = "created"
_RELEASED = "released"


class Holder(NamedTuple):
    """The job that holds a batch, and whether its create call made it."""

    job_id: str
    created: bool


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


def _read(fd: int) -> dict[str, Holder]:
    """Each batch id some job holds, and its holder, the lines replayed in order."""
    os.lseek(fd, 0, os.SEEK_SET)
    data = bytearray()
    while block := os.read(fd, 1 << 20):
        data += block
    holders: dict[str, Holder] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        batch_id, _, rest = line.partition(" ")
        job_id, _, kind = rest.partition(" ")
        held = holders.get(batch_id)
        if kind == _RELEASED:
            if held is not None and held.job_id == job_id and not held.created:
                del holders[batch_id]
        elif kind == _CREATED:
            if held is None or not held.created:
                holders[batch_id] = Holder(job_id, created=True)
        elif held is None:
            holders[batch_id] = Holder(job_id, created=False)
    return holders


def _append(fd: int, *fields: str) -> None:
    line = (" ".join(fields) + "\n").encode()
    if os.write(fd, line) != len(line):
        raise OSError(f"{_path()}: short write")


def _locked(exclusive: bool) -> int:
    fd = _open()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    except BaseException:
        os.close(fd)
        raise
    return fd


def claimed(job_id: str) -> frozenset[str]:
    """Every batch id another job of this machine holds."""
    fd = _locked(exclusive=False)
    try:
        return frozenset(b for b, h in _read(fd).items() if h.job_id != job_id)
    finally:
        os.close(fd)


def holder(batch_id: str) -> Holder | None:
    """The job of this machine that holds ``batch_id``, if one does."""
    fd = _locked(exclusive=False)
    try:
        return _read(fd).get(batch_id)
    finally:
        os.close(fd)


def claim(batch_id: str, job_id: str, *, created: bool = False) -> bool:
    """Record ``batch_id`` as the job's; False if another job holds it.

    ``created``: the job's create call returned the batch; it then holds it
    even if another job adopted it first (that job's proof fails, ``_proof``).
    """
    fd = _locked(exclusive=True)
    try:
        held = _read(fd).get(batch_id)
        if created:
            if held is not None and held.created and held.job_id != job_id:
                return False
            if held != Holder(job_id, created=True):
                _append(fd, batch_id, job_id, _CREATED)
            return True
        if held is not None:
            return held.job_id == job_id
        _append(fd, batch_id, job_id)
        return True
    finally:
        os.close(fd)


def release(batch_id: str, job_id: str) -> None:
    """The job adopted ``batch_id`` and it is not its own: let it go (a no-op
    unless the job holds it by adoption)."""
    fd = _locked(exclusive=True)
    try:
        held = _read(fd).get(batch_id)
        if held is not None and held.job_id == job_id and not held.created:
            _append(fd, batch_id, job_id, _RELEASED)
    finally:
        os.close(fd)
