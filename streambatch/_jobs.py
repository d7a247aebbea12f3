"""``streambatch jobs [ROOT]``: the job directories under ROOT, one line each.

A job directory is a directory holding ``manifest.json``. The walk goes at most
:data:`MAX_DEPTH` levels below ROOT, follows no symbolic link, does not look
inside a job directory (its ``chunks/`` and ``downloads/``), and passes over
what it cannot read. A manifest is read without the job's lock (it is replaced
atomically, so it is whole): a job another process is running is listed too.
A manifest that cannot be read (damaged, or of another streambatch version) is
listed with state ``unreadable`` and the reason.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from ._core.metrics import metrics_of
from ._core.pricing import format_usd
from ._errors import JobError
from ._io.jobdir import MANIFEST, read_manifest

__all__ = ("MAX_DEPTH", "JobLine", "find_jobs", "jobs", "list_jobs")

MAX_DEPTH = 4
"""How many directory levels below ROOT the walk looks for jobs."""


class JobLine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One job directory, as ``streambatch jobs`` lists it."""

    dir: str
    state: str
    provider: str | None = None
    job_id: str | None = None
    requests: int | None = None
    done: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    batches: int | None = None
    cost_usd: float | None = None
    adopted: str | None = None
    error: str | None = None


def find_jobs(
    root: str | os.PathLike[str], max_depth: int = MAX_DEPTH
) -> Iterator[Path]:
    """The job directories under ``root`` (``root`` itself included), sorted
    by path at each level."""
    pending = [(Path(root), 0)]
    while pending:
        folder, depth = pending.pop()
        if (folder / MANIFEST).is_file():
            yield folder
            continue  # a job's own folders hold no job
        if depth >= max_depth:
            continue
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
        except OSError:
            continue  # unreadable: passed over
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), depth + 1))
            except OSError:
                continue


def describe_job(path: Path) -> JobLine:
    """The line of one job directory (read without its lock)."""
    try:
        manifest = read_manifest(path)
    except JobError as exc:
        return JobLine(dir=str(path), state="unreadable", error=str(exc))
    metrics = metrics_of(manifest)
    return JobLine(
        dir=str(path),
        state=metrics.state,
        provider=manifest.provider,
        job_id=manifest.job_id,
        requests=metrics.requests,
        done=metrics.done,
        succeeded=metrics.succeeded,
        failed=metrics.failed,
        batches=sum(metrics.batches.values()),
        cost_usd=None if manifest.cost is None else manifest.cost.usd,
        adopted=None if manifest.adopted is None else manifest.adopted.batch_id,
    )


def list_jobs(root: str | os.PathLike[str]) -> list[JobLine]:
    """Every job directory under ``root``, described."""
    return [describe_job(path) for path in find_jobs(root)]


def _text(line: JobLine) -> str:
    if line.error is not None:
        return f"{line.dir}  unreadable: {line.error}"
    cost = "-" if line.cost_usd is None else format_usd(line.cost_usd)
    return (
        f"{line.dir}  {line.provider}  {line.state}  "
        f"{line.done}/{line.requests}  {cost}"
    )


def jobs(args: argparse.Namespace) -> int:
    """``jobs``: list the job directories under ROOT (exit 1 if ROOT is not a
    readable directory)."""
    root = Path(args.root)
    if not root.is_dir():
        raise JobError(f"{root}: not a directory")
    found = list_jobs(root)
    if args.json:
        print(msgspec.json.encode(found).decode())
    else:
        for line in found:
            print(_text(line))
        if not found:
            print(f"no job directories under {root}")
    return 0
