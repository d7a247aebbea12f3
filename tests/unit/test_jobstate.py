"""The job state machine under random steps, lost answers and crashes (pure).

A fake provider and a fake disk stand on either side of the real transitions and
the real store. The driver does what the orchestration does (``next_action``,
then the transition), with random outcomes; crashes throw away what was not
written (a process dying) or not flushed (the machine dying). After every step:

- an intent is on the flushed disk before every create call;
- no attempt ever gets two batches at the provider, and every recorded batch
  is the attempt's own, but one found by matching (another job's, sometimes)
  until its proof, which refuses another's and proves its own;
- the attempts are numbered in order and hold what the model says (which
  record each custom_id gets from them is test_ledger's);
- progress counts every attempt: it never goes past the total, never goes back
  but at a crash or a retry, and reaches the total once every batch has ended;
- an ended batch has its download plan.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from streambatch._core.jobstate import (
    Action,
    BatchState,
    adopted,
    adoption_proven,
    adoption_refused,
    create_intended,
    created,
    downloaded,
    input_deleted,
    next_action,
    progress_of,
    retry_added,
    status_seen,
    uploaded,
)
from streambatch._core.manifest import (
    BatchRecord,
    ChunkRecord,
    Manifest,
    Planned,
    decode_manifest,
    encode_manifest,
)
from streambatch._errors import JobError
from streambatch._io.jobdir import JobDir
from streambatch._io.store import JobStore
from streambatch._poll import apply_status
from streambatch._providers.batches import BatchStatus
from streambatch._providers.openai_api import OPENAI

ENDED = [
    BatchState.COMPLETED,
    BatchState.FAILED,
    BatchState.EXPIRED,
    BatchState.CANCELLED,
]


@dataclass
class Disk:
    """What a crash leaves: the last write (process) or the last flush (machine)."""

    written: bytes
    flushed: bytes

    def save(self, manifest: Manifest, durable: bool) -> None:
        self.written = encode_manifest(manifest)
        if durable:
            self.flushed = self.written


@dataclass
class Provider:
    """Batches by id, each knowing the attempt (chunk, number) it was made for."""

    batches: dict[str, tuple[int, int]] = field(default_factory=dict)
    states: dict[str, BatchState] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)  # counts only go up
    foreign: set[str] = field(default_factory=set)  # other jobs' batches

    def other_job(self) -> str:
        """Another job's batch, of the same size: a look-up may match it."""
        batch_id = f"other-{len(self.foreign)}"
        self.foreign.add(batch_id)
        self.states[batch_id] = BatchState.IN_PROGRESS
        return batch_id

    def create(self, chunk: int, attempt: int) -> str:
        batch_id = f"batch-{len(self.batches)}"
        self.batches[batch_id] = (chunk, attempt)
        self.states[batch_id] = BatchState.VALIDATING
        return batch_id

    def find(self, chunk: int, attempt: int) -> str | None:
        for batch_id, owner in self.batches.items():
            if owner == (chunk, attempt):
                return batch_id
        return None


def make_manifest(sizes: list[int]) -> Manifest:
    chunks = [
        ChunkRecord(
            index=i,
            path=f"chunks/{i}.jsonl",
            n_requests=n,
            n_bytes=n * 100,
            first_line=1,
            batches=[BatchRecord(attempt=1)],
        )
        for i, n in enumerate(sizes)
    ]
    return Manifest(
        job_id="j",
        provider="openai",
        base_url="http://127.0.0.1/v1",
        input_path="in.jsonl",
        input_sha256="0" * 64,
        input_bytes=1,
        n_requests=sum(sizes),
        created_at=0.0,
        chunks=chunks,
    )


def action_of(record: BatchRecord) -> Action:
    return next_action(record, uploads=True, keep_files=False)


class Simulation:
    def __init__(self, sizes: list[int], rng: random.Random, job_dir: JobDir) -> None:
        manifest = make_manifest(sizes)
        data = encode_manifest(manifest)
        self.disk = Disk(data, data)
        self.provider = Provider()
        self.rng = rng
        self.job_dir = job_dir
        self.store = self._open(data)
        # The model's own view: the ids each attempt holds (chunk -> attempt -> ids).
        self.held = {
            i: {1: {f"{i}-{k}" for k in range(n)}} for i, n in enumerate(sizes)
        }
        self.creates = 0
        self.last_done = 0

    def _open(self, data: bytes) -> JobStore:
        return JobStore(
            self.job_dir, decode_manifest(data, "disk"), save=self.disk.save
        )

    def crash(self, machine: bool) -> None:
        if machine:
            self.disk.written = self.disk.flushed
        self.store = self._open(self.disk.written)
        self.last_done = 0  # progress may go back to what the disk had

    def step(self, index: int) -> None:
        chunk = self.store.manifest.chunks[index]
        # The first attempt with something to do (parts of a retry run side by side).
        record = next(
            (b for b in chunk.batches if action_of(b) is not Action.DONE), chunk.batch
        )
        action = action_of(record)
        rng = self.rng
        if action is Action.UPLOAD:
            self.store.apply(chunk, uploaded(record, f"file-{index}-{record.attempt}"))
        elif action is Action.CREATE:
            record = self.store.apply(chunk, create_intended(record, 1.0))
            self._send_create(chunk, record)
        elif action is Action.LOOK_UP:
            found = self.provider.find(index, record.attempt)
            if rng.random() < 0.3:  # found by matching: another job's
                self.store.apply(chunk, adopted(record, self.provider.other_job()))
            elif found is not None and rng.random() < 0.5:  # found by matching
                self.store.apply(chunk, adopted(record, found))
            elif found is not None:  # found by tag
                self.store.apply(chunk, created(record, found))
            else:
                self._send_create(chunk, record)
        elif action is Action.VERIFY:
            for planned in record.plan or []:
                record = self.store.apply(chunk, downloaded(record, planned.kind, 1))
            if record.batch_id in self.provider.foreign:
                self.store.apply(chunk, adoption_refused(record))
            else:
                self.store.apply(chunk, adoption_proven(record))
        elif action is Action.POLL:
            self._poll(chunk, record)
        elif action is Action.DOWNLOAD:
            for planned in record.plan or []:
                record = self.store.apply(
                    chunk, downloaded(record, planned.kind, rng.randint(0, 99))
                )
        elif action is Action.DELETE_INPUT:
            self.store.apply(chunk, input_deleted(record))
        elif rng.random() < 0.5:  # done: sometimes retry some of it
            self._retry(chunk)

    def _send_create(self, chunk: ChunkRecord, record: BatchRecord) -> None:
        # The intent must be on the flushed disk before the provider hears of it.
        flushed = decode_manifest(self.disk.flushed, "disk")
        on_disk = flushed.chunks[chunk.index].batches
        mine = [b for b in on_disk if b.attempt == record.attempt]
        assert mine and mine[0].creating_since is not None
        assert self.provider.find(chunk.index, record.attempt) is None
        batch_id = self.provider.create(chunk.index, record.attempt)
        self.creates += 1
        if self.rng.random() < 0.3:
            return  # the answer was lost: the next step must look it up
        self.store.apply(chunk, created(record, batch_id))

    def _poll(self, chunk: ChunkRecord, record: BatchRecord) -> None:
        assert record.batch_id is not None
        state = self.provider.states[record.batch_id]
        if not state.terminal:
            choices = [BatchState.IN_PROGRESS, BatchState.FINALIZING, *ENDED]
            state = self.rng.choice(choices)
            self.provider.states[record.batch_id] = state
        size = chunk.size_of(record)
        before = self.provider.done.get(record.batch_id, 0)
        done = size if state.terminal else self.rng.randint(before, size)
        self.provider.done[record.batch_id] = done
        plan = [Planned(kind="output", path=f"files/{record.batch_id}/content")]
        step = status_seen(
            record,
            state=state,
            total=size,
            succeeded=done,
            failed=0,
            plan=plan if state.terminal else None,
        )
        if step is not None:
            self.store.apply(chunk, step)

    def _retry(self, chunk: ChunkRecord) -> None:
        attempts = self.held[chunk.index]
        # The model knows the ids of attempts made since the disk it reloaded.
        for number in list(attempts):
            if number > chunk.batch.attempt:
                del attempts[number]
        live = attempts[chunk.batch.attempt]
        wanted = {cid for cid in sorted(live) if self.rng.random() < 0.5}
        if not wanted:
            return
        ordered = sorted(wanted)
        cut = self.rng.randint(1, len(ordered))  # sometimes in two parts
        parts = [ordered[:cut], ordered[cut:]] if cut < len(ordered) else [ordered]
        steps = retry_added(
            chunk, [(f"chunks/retry-{chunk.index}", len(p)) for p in parts]
        )
        self.store.add_attempts(chunk, steps)
        for step, part in zip(steps, parts, strict=True):
            attempts[step.record.attempt] = set(part)
        self.last_done = 0  # the retried requests are owed again

    def check(self) -> None:
        manifest = self.store.manifest
        # No attempt was created twice at the provider.
        owners = list(self.provider.batches.values())
        assert len(owners) == len(set(owners))
        for chunk in manifest.chunks:
            for record in chunk.batches:
                if record.batch_id in self.provider.foreign:
                    assert record.unverified  # never used: refused at its proof
                elif record.batch_id is not None:
                    owner = self.provider.batches[record.batch_id]
                    assert owner == (chunk.index, record.attempt)
                if record.state is not None and record.state.terminal:
                    assert record.plan is not None
            # The store's attempts are the model's, sizes and all.
            attempts = {
                n: ids
                for n, ids in self.held[chunk.index].items()
                if n <= chunk.batch.attempt
            }
            assert [b.attempt for b in chunk.batches] == sorted(attempts)
            for record in chunk.batches:
                assert chunk.size_of(record) == len(attempts[record.attempt])
        progress = progress_of(manifest)
        assert 0 <= progress.done <= progress.requests
        assert progress.done >= self.last_done
        self.last_done = progress.done
        if progress.finished:
            assert progress.done == progress.requests


_DIR = tempfile.TemporaryDirectory()


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 8), min_size=1, max_size=4),
    steps=st.lists(
        st.one_of(
            st.integers(0, 3),
            st.sampled_from(["crash", "power cut"]),
        ),
        max_size=120,
    ),
    seed=st.integers(0, 2**16),
)
def test_random_steps_and_crashes_keep_the_invariants(
    sizes: list[int], steps: list[int | str], seed: int
) -> None:
    with JobDir.open(Path(_DIR.name) / "job", create=True) as job_dir:
        simulation = Simulation(sizes, random.Random(seed), job_dir)
        for step in steps:
            if isinstance(step, str):
                simulation.crash(machine=step == "power cut")
            else:
                simulation.step(step % len(sizes))
            simulation.check()
        # Run to the end: every batch ends, progress reaches the total.
        for _ in range(40 * len(sizes)):
            for index in range(len(sizes)):
                chunk = simulation.store.manifest.chunks[index]
                if any(action_of(b) is not Action.DONE for b in chunk.batches):
                    simulation.step(index)
            simulation.check()
        progress = progress_of(simulation.store.manifest)
        assert progress.finished
        assert progress.done == progress.requests


def test_transitions_refuse_what_cannot_happen() -> None:
    record = BatchRecord(attempt=1)
    with pytest.raises(JobError, match="no intent"):
        created(record, "b1")
    intended = create_intended(record, 5.0).record
    made = created(intended, "b1").record
    with pytest.raises(JobError, match="has batch b1"):
        create_intended(made, 6.0)
    with pytest.raises(JobError, match="no download plan"):
        status_seen(made, state=BatchState.COMPLETED, total=1, succeeded=1, failed=0)
    plan = [Planned(kind="output", path="files/f/content", file_id="f")]
    ended = status_seen(
        made, state=BatchState.EXPIRED, total=1, succeeded=0, failed=0, plan=plan
    )
    assert ended is not None and ended.record.plan == plan
    # An ended batch stays ended: a late status changes nothing.
    late = status_seen(
        ended.record, state=BatchState.IN_PROGRESS, total=1, succeeded=0, failed=0
    )
    assert late is None
    with pytest.raises(JobError, match="no results file was planned"):
        downloaded(ended.record, "results", 10)
    chunk = ChunkRecord(
        index=0, path="c", n_requests=1, n_bytes=1, first_line=1, batches=[made]
    )
    with pytest.raises(JobError, match="not been downloaded"):
        retry_added(chunk, [("r", 1)])


def test_progress_counts_a_retried_job_whole() -> None:
    """2,000 requests, 95 retried: once the retry ends, 2000/2000 are done."""
    plan = [Planned(kind="output", path="p")]
    first = BatchRecord(
        attempt=1,
        batch_id="b1",
        creating_since=1.0,
        state=BatchState.COMPLETED,
        succeeded=1905,
        failed=95,
        plan=plan,
        downloads={"output": 1},
    )
    chunk = ChunkRecord(
        index=0, path="c", n_requests=2000, n_bytes=1, first_line=1, batches=[first]
    )
    manifest = make_manifest([2000])
    manifest.chunks[0] = chunk
    chunk.batches.append(retry_added(chunk, [("r", 95)])[0].record)
    assert progress_of(manifest).done == 1905
    retry = create_intended(chunk.batches[1], 2.0).record
    retry = created(retry, "b2").record
    chunk.batches[1] = retry
    running = status_seen(
        retry, state=BatchState.IN_PROGRESS, total=95, succeeded=40, failed=0
    )
    assert running is not None
    chunk.batches[1] = running.record
    assert progress_of(manifest).done == 1945
    ended = status_seen(
        running.record,
        state=BatchState.COMPLETED,
        total=95,
        succeeded=95,
        failed=0,
        plan=plan,
    )
    assert ended is not None
    chunk.batches[1] = ended.record
    progress = progress_of(manifest)
    assert (progress.done, progress.requests, progress.sent) == (2000, 2000, 2095)


def test_a_status_held_back_by_the_interval_is_written_by_a_later_poll() -> None:
    """validating (written), then in_progress 0.1 s later (held back: lazy progress
    is written at most once a second), then the same in_progress at every poll:
    the disk says in_progress once the second is up, not only when something
    changes again (a batch whose counts stand still showed validating for ever
    to `status` and to anyone reading the job directory)."""
    manifest = make_manifest([3])
    chunk = manifest.chunks[0]
    record = create_intended(chunk.batches[0], 1.0).record
    chunk.batches[0] = record = created(record, "b1").record
    now = [0.0]
    saved: list[BatchState | None] = []
    with JobDir.open(Path(_DIR.name) / "interval", create=True) as job_dir:
        store = JobStore(
            job_dir,
            manifest,
            save=lambda m, durable: saved.append(m.chunks[0].batches[0].state),
            clock=lambda: now[0],
        )

        def poll(state: BatchState) -> None:
            status = BatchStatus(id="b1", state=state, raw_state=state.value, total=3)
            apply_status(store, OPENAI, chunk, chunk.batches[0], status)

        poll(BatchState.VALIDATING)
        assert saved == [BatchState.VALIDATING]
        now[0] = 0.1
        poll(BatchState.IN_PROGRESS)
        assert saved == [BatchState.VALIDATING]  # held back
        now[0] = 0.5
        poll(BatchState.IN_PROGRESS)
        assert saved == [BatchState.VALIDATING]  # still within the second
        now[0] = 1.2
        poll(BatchState.IN_PROGRESS)
        assert saved == [BatchState.VALIDATING, BatchState.IN_PROGRESS]
        now[0] = 5.0
        poll(BatchState.IN_PROGRESS)  # nothing held back: nothing written
        assert saved == [BatchState.VALIDATING, BatchState.IN_PROGRESS]
