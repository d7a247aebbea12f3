"""The one owner of a job's state: applies the state machine's steps and saves them.

``_core.jobstate`` says what each change is and how durable it must be; this store
keeps the current manifest, puts each new record in its place and writes the
manifest as the step asks: ``SYNC`` written and flushed before the call returns,
``WRITE`` written, ``LAZY`` (polled progress) written at most once per
``interval`` seconds: by the step itself, or by :meth:`save_due` once the
interval is up (a change held back is not held until the next change), and by
:meth:`flush`. Nothing else changes a job's state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .._core.jobstate import (
    Action,
    Durability,
    Step,
    cancel_requested,
    cost_found,
    next_action,
    results_counted,
)
from .._core.manifest import BatchRecord, ChunkRecord, Cost, Manifest, Tally
from .jobdir import JobDir

__all__ = ("JobStore", "Save")

Save = Callable[[Manifest, bool], None]
"""Writes a manifest whole; the flag asks for it to be flushed (fsync) too."""


class JobStore:
    """A job's manifest, and the only way to change it.

    Args:
        job_dir: the job's (locked) directory.
        manifest: the manifest as loaded or made.
        save: how a manifest is written (default: ``job_dir.save``).
        interval: the least time between two writes of lazy progress, seconds.
        clock: a monotonic clock, in seconds.
    """

    def __init__(
        self,
        job_dir: JobDir,
        manifest: Manifest,
        *,
        save: Save | None = None,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dir = job_dir
        self._manifest = manifest
        self._save = save or (lambda m, durable: job_dir.save(m, durable=durable))
        self._interval = interval
        self._clock = clock
        self._last = -float("inf")  # the last lazy write: the first goes at once
        self._dirty = False

    @property
    def manifest(self) -> Manifest:
        """The job's current state (frozen records: change them through the store)."""
        return self._manifest

    @property
    def path(self) -> Path:
        """The job directory."""
        return self.dir.path

    def next_action(self, record: BatchRecord, *, uploads: bool) -> Action:
        """What ``record`` needs next (``jobstate.next_action``), for a provider
        that ``uploads`` its requests first, keeping files as the job says."""
        return next_action(
            record, uploads=uploads, keep_files=self._manifest.keep_files
        )

    def attempts(self) -> list[tuple[ChunkRecord, BatchRecord]]:
        """Every (chunk, attempt) pair, in chunk order."""
        return [(c, b) for c in self._manifest.chunks for b in c.batches]

    def downloaded_bytes(self) -> int:
        """The size of every output and error file downloaded, in all."""
        return sum(sum(b.downloads.values()) for _, b in self.attempts())

    def apply(self, chunk: ChunkRecord, step: Step) -> BatchRecord:
        """Put ``step``'s record in place of the chunk's attempt of the same number,
        and save it as durably as the step asks; return the new record."""
        record = step.record
        for position, old in enumerate(chunk.batches):
            if old.attempt == record.attempt:
                chunk.batches[position] = record
                break
        else:
            raise KeyError(f"chunk {chunk.index} has no attempt {record.attempt}")
        self._saved(step.durability)
        return record

    def add_attempts(self, chunk: ChunkRecord, steps: list[Step]) -> None:
        """Append the steps' records to the chunk as its newest attempts, durably."""
        chunk.batches.extend(step.record for step in steps)
        self._saved(max((step.durability for step in steps), default=Durability.LAZY))

    def cancel(self) -> None:
        """Record that the job is cancelled (it creates no batch again)."""
        self._manifest, durability = cancel_requested(self._manifest)
        self._saved(durability)

    def record_cost(self, cost: Cost) -> None:
        """Record what the job's results cost (``status`` shows it)."""
        self._manifest, durability = cost_found(self._manifest, cost)
        self._saved(durability)

    def record_tally(self, tally: Tally) -> None:
        """Record the written results' counts by status and error type (metrics)."""
        self._manifest, durability = results_counted(self._manifest, tally)
        self._saved(durability)

    def save_due(self) -> None:
        """Write a lazy change held back, if ``interval`` has passed since the
        last lazy write (a poll that saw nothing new calls this)."""
        if self._dirty:
            self._saved(Durability.LAZY)

    def flush(self) -> None:
        """Write what lazy changes are pending, flushed to the disk."""
        if self._dirty:
            self._write(durable=True)

    def _saved(self, durability: Durability) -> None:
        if durability is Durability.SYNC:
            self._write(durable=True)
        elif durability is Durability.WRITE:
            self._write(durable=False)
        else:
            self._dirty = True
            now = self._clock()
            if now - self._last >= self._interval:
                self._write(durable=False)
                self._last = now

    def _write(self, *, durable: bool) -> None:
        self._save(self._manifest, durable)
        self._dirty = False
