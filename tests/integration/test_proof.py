"""A batch found by matching is taken as a job's own only once it is proven so.

Anthropic batches carry no metadata: after a create whose answer never came,
a resumed job finds a candidate by its size and time, which may be another
job's batch. These tests reproduce the two ways that went wrong, against the
emulator, and show the job now refuses the other job's batch (leaving it alone)
and gets its own results:

(a) job A's create fails in an outage (its intent stays recorded); job B on the
    same key, with a chunk of the same size, runs; A resumes and finds B's batch;
(b) two jobs whose create answers are lost both look up, and find each other's
    batch, or (on two machines) the same one.

A machine is a claims registry (``STREAMBATCH_STATE_DIR``): jobs of one machine
share it, jobs of two machines do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
import random
from collections import Counter
from collections.abc import Iterator

import msgspec
import pytest

import streambatch as sb
from streambatch._core.manifest import BatchRecord, Manifest
from streambatch._download import fetch_planned
from streambatch._io import claims
from streambatch._io.jobdir import read_manifest
from streambatch._poll import poll_all
from streambatch.cli import main
from streambatch.testing import Emulator, Faults, expected_text

POLL = sb.PollPolicy(min_delay=0.01, max_delay=0.05)
RETRY = sb.RetryPolicy(first_delay=0.01, max_delay=0.05, max_attempts=5)
ONCE = sb.RetryPolicy(max_attempts=1)  # a create that fails is not tried again
COUNT = 100
Bodies = dict[str, dict[str, object]]


def write_requests(
    path: pathlib.Path, ids: list[str], topic: str, count: int = COUNT
) -> Bodies:
    """An Anthropic input of ``ids`` about ``topic``; each id's params."""
    bodies: Bodies = {
        cid: {
            "model": "claude-haiku-4-5",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": f"{topic}, question {n}"}],
        }
        for n, cid in enumerate(ids[:count])
    }
    with path.open("wb") as file:
        for cid, params in bodies.items():
            file.write(msgspec.json.encode({"custom_id": cid, "params": params}))
            file.write(b"\n")
    return bodies


def ids(prefix: str, start: int = 0) -> list[str]:
    return [f"{prefix}-{n:04d}" for n in range(start, start + COUNT)]


class Machines:
    """Switches the claims registry in use: each machine has its own."""

    def __init__(self, root: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch

    @contextlib.contextmanager
    def on(self, name: str) -> Iterator[None]:
        self.monkeypatch.setenv("STREAMBATCH_STATE_DIR", str(self.root / name))
        yield


@pytest.fixture
def machines(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Machines]:
    yield Machines(tmp_path / "machines", monkeypatch)


def client(emulator: Emulator, retry: sb.RetryPolicy = RETRY) -> sb.Client:
    return sb.Client("anthropic", base_url=emulator.anthropic_base_url, retry=retry)


async def interrupted(
    emulator: Emulator, source: pathlib.Path, job_dir: pathlib.Path, faults: Faults
) -> Manifest:
    """Submit with one try of each call under ``faults``: the create fails, the
    intent stays recorded without a batch id."""
    emulator.faults = faults
    try:
        async with client(emulator, ONCE) as the_client:
            with pytest.raises(sb.HTTPStatusError):
                await the_client.submit(source, job_dir=job_dir)
    finally:
        emulator.faults = Faults()
    manifest = read_manifest(job_dir)
    record = manifest.chunks[0].batch
    assert record.creating_since is not None and record.batch_id is None
    return manifest


async def run_to_end(
    emulator: Emulator, source: pathlib.Path, job_dir: pathlib.Path
) -> tuple[dict[str, sb.Result], Manifest]:
    """Submit (or resume), wait, download and read the results."""
    async with client(emulator) as the_client:
        with await the_client.submit(source, job_dir=job_dir) as job:
            await job.wait(poll=POLL)
            await job.download()
            results = [r async for r in job.results()]
            manifest = job.manifest
    assert [c for c, n in Counter(r.custom_id for r in results).items() if n > 1] == []
    return {r.custom_id: r for r in results}, manifest


def check_own(results: dict[str, sb.Result], bodies: Bodies) -> None:
    """Every request has its own answer: the reply to its own params."""
    assert set(results) == set(bodies)
    for cid, result in results.items():
        assert result.status == "succeeded", result
        assert result.text == expected_text("anthropic", bodies[cid]), cid


def batch_of(manifest: Manifest) -> str:
    batch_id = manifest.chunks[0].batch.batch_id
    assert batch_id is not None
    return batch_id


def refused(manifest: Manifest) -> list[str]:
    return manifest.chunks[0].batch.refused


def cancels(emulator: Emulator) -> list[str]:
    return [r.path for r in emulator.records.requests if r.path.endswith("/cancel")]


OUTAGE = Faults(server_error_rate=1.0)  # answered 5xx, nothing done
LOST = Faults(lost_response_rate=1.0)  # carried out, the answer lost


@pytest.mark.parametrize(
    "b_ids",
    [ids("req", 50), ids("other")],
    ids=["overlapping-ids", "disjoint-ids"],
)
async def test_a_batch_of_another_machine_is_refused_by_its_custom_ids(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines, b_ids: list[str]
) -> None:
    """(a) A's create fails; B, on another machine, runs a chunk of the same
    size; A resumes, finds B's batch, waits for it to end, sees that its
    custom_ids are not A's chunk's, leaves it alone and creates its own."""
    a_bodies = write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    b_bodies = write_requests(tmp_path / "b.jsonl", b_ids, "bridges")
    with machines.on("one"):
        await interrupted(emulator, tmp_path / "a.jsonl", tmp_path / "a", OUTAGE)
    assert emulator.records.batches("anthropic") == []  # the outage made none
    with machines.on("two"):
        b_results, b_manifest = await run_to_end(
            emulator, tmp_path / "b.jsonl", tmp_path / "b"
        )
    check_own(b_results, b_bodies)
    with machines.on("one"):
        a_results, a_manifest = await run_to_end(
            emulator, tmp_path / "a.jsonl", tmp_path / "a"
        )
    check_own(a_results, a_bodies)  # before: B's answers, or 100 missing
    b_batch = batch_of(b_manifest)
    assert refused(a_manifest) == [b_batch]  # adopted, checked and refused
    assert batch_of(a_manifest) != b_batch
    assert len(emulator.records.batches("anthropic")) == 2
    assert cancels(emulator) == []  # B's batch was left alone
    assert not (tmp_path / "a" / "downloads" / f"{b_batch}.results.jsonl").exists()
    with machines.on("one"):
        assert claims.holder(b_batch) is None  # released
        assert claims.holder(batch_of(a_manifest)) == claims.Holder(
            a_manifest.job_id, created=True
        )


async def test_a_batch_another_job_of_the_machine_made_is_passed_over(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines
) -> None:
    """(a) on one machine, the same custom_ids in both jobs: B's create claimed
    its batch, so A's look-up never takes it, though its custom_ids would pass."""
    a_bodies = write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    b_bodies = write_requests(tmp_path / "b.jsonl", ids("req"), "bridges")
    with machines.on("one"):
        await interrupted(emulator, tmp_path / "a.jsonl", tmp_path / "a", OUTAGE)
        b_results, b_manifest = await run_to_end(
            emulator, tmp_path / "b.jsonl", tmp_path / "b"
        )
        a_results, a_manifest = await run_to_end(
            emulator, tmp_path / "a.jsonl", tmp_path / "a"
        )
    check_own(b_results, b_bodies)
    check_own(a_results, a_bodies)
    assert refused(a_manifest) == []  # never even adopted
    assert batch_of(a_manifest) != batch_of(b_manifest)
    assert len(emulator.records.batches("anthropic")) == 2


async def test_the_job_whose_create_returned_the_batch_takes_it_from_an_adopter(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines
) -> None:
    """A adopts B's batch before B's create answer is claimed (the same custom_ids:
    the check of ids would pass); B's claim then lands on the machine: A's proof
    fails on the registry, and A creates its own batch."""
    a_bodies = write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    write_requests(tmp_path / "b.jsonl", ids("req"), "bridges")
    with machines.on("one"):
        await interrupted(emulator, tmp_path / "a.jsonl", tmp_path / "a", OUTAGE)
    with machines.on("two"):  # B's claim goes elsewhere for now
        _, b_manifest = await run_to_end(emulator, tmp_path / "b.jsonl", tmp_path / "b")
    b_batch = batch_of(b_manifest)
    with machines.on("one"):
        async with client(emulator) as the_client:
            with await the_client.submit(
                tmp_path / "a.jsonl", job_dir=tmp_path / "a"
            ) as job:
                record = job.manifest.chunks[0].batch
                assert (record.batch_id, record.unverified) == (b_batch, True)
                # B's create answer is claimed on A's machine only now.
                assert claims.claim(b_batch, b_manifest.job_id, created=True)
                await job.wait(poll=POLL)
                await job.download()
                results = {r.custom_id: r async for r in job.results()}
                manifest = job.manifest
    check_own(results, a_bodies)
    assert refused(manifest) == [b_batch]
    with machines.on("one"):
        assert claims.holder(b_batch) == claims.Holder(b_manifest.job_id, True)


async def test_two_jobs_with_lost_create_answers_each_get_their_own_batch(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines
) -> None:
    """(b) on one machine: A's and B's creates are carried out, their answers
    lost. A's look-up finds B's batch (the newest) and claims it; B's passes over
    it and finds A's. Each refuses the other's once it has ended; A creates
    anew, and B then finds its own, released by A."""
    a_bodies = write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    b_bodies = write_requests(tmp_path / "b.jsonl", ids("req", 30), "bridges")
    with machines.on("one"):
        await interrupted(emulator, tmp_path / "a.jsonl", tmp_path / "a", LOST)
        await interrupted(emulator, tmp_path / "b.jsonl", tmp_path / "b", LOST)
        x, y = (b.id for b in emulator.records.batches("anthropic"))  # A's, B's
        async with client(emulator) as one, client(emulator) as other:
            with (
                await one.submit(tmp_path / "a.jsonl", job_dir=tmp_path / "a") as a,
                await other.submit(tmp_path / "b.jsonl", job_dir=tmp_path / "b") as b,
            ):
                assert a.manifest.chunks[0].batch.batch_id == y  # swapped
                assert b.manifest.chunks[0].batch.batch_id == x
                assert a.manifest.chunks[0].batch.unverified
                assert b.manifest.chunks[0].batch.unverified
                # Nothing of the other's is read as its own meanwhile.
                with_partial = {r.custom_id: r async for r in a.results()}
                assert {r.error.type for r in with_partial.values() if r.error} == {
                    "missing"
                }
                for job in (a, b):
                    await job.wait(poll=POLL)
                    await job.download()
                a_results = {r.custom_id: r async for r in a.results()}
                b_results = {r.custom_id: r async for r in b.results()}
                a_manifest, b_manifest = a.manifest, b.manifest
    check_own(a_results, a_bodies)
    check_own(b_results, b_bodies)
    assert refused(a_manifest) == [y]
    assert refused(b_manifest) == [x]
    assert batch_of(b_manifest) == y  # B's own, found again
    assert batch_of(a_manifest) not in (x, y)  # A's own was B's to refuse first
    assert cancels(emulator) == []
    assert len(emulator.records.batches("anthropic")) == 3  # x is left unused


async def test_two_machines_adopting_the_same_batch_only_its_owner_keeps_it(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines
) -> None:
    """(b) on two machines: both look-ups take B's batch (the newest); A's check
    refuses it, and A then finds and proves its own."""
    a_bodies = write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    b_bodies = write_requests(tmp_path / "b.jsonl", ids("other"), "bridges")
    with machines.on("one"):
        await interrupted(emulator, tmp_path / "a.jsonl", tmp_path / "a", LOST)
    with machines.on("two"):
        await interrupted(emulator, tmp_path / "b.jsonl", tmp_path / "b", LOST)
    x, y = (b.id for b in emulator.records.batches("anthropic"))
    async with client(emulator) as one, client(emulator) as other:
        with machines.on("one"):
            a = await one.submit(tmp_path / "a.jsonl", job_dir=tmp_path / "a")
        with machines.on("two"):
            b = await other.submit(tmp_path / "b.jsonl", job_dir=tmp_path / "b")
        with a, b:
            assert a.manifest.chunks[0].batch.batch_id == y  # both took y
            assert b.manifest.chunks[0].batch.batch_id == y
            for job, machine in ((a, "one"), (b, "two")):
                with machines.on(machine):
                    await job.wait(poll=POLL)
                    await job.download()
            a_results = {r.custom_id: r async for r in a.results()}
            b_results = {r.custom_id: r async for r in b.results()}
            a_manifest, b_manifest = a.manifest, b.manifest
    check_own(a_results, a_bodies)
    check_own(b_results, b_bodies)
    assert (refused(a_manifest), batch_of(a_manifest)) == ([y], x)
    assert (refused(b_manifest), batch_of(b_manifest)) == ([], y)
    assert len(emulator.records.batches("anthropic")) == 2  # nothing made twice


async def test_own_lost_create_is_adopted_and_proven(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines
) -> None:
    """The usual case stays cheap: a job's own batch, found after a lost answer,
    is proven by its custom_ids and used; no second batch is made."""
    bodies = write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    with machines.on("one"):
        await interrupted(emulator, tmp_path / "a.jsonl", tmp_path / "a", LOST)
        results, manifest = await run_to_end(
            emulator, tmp_path / "a.jsonl", tmp_path / "a"
        )
    check_own(results, bodies)
    record = manifest.chunks[0].batch
    assert (record.unverified, record.refused) == (False, [])
    assert len(emulator.records.batches("anthropic")) == 1


async def test_a_running_adopted_batch_is_not_cancelled(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines
) -> None:
    """Cancelling a job leaves a batch not yet shown to be its own running."""
    write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    write_requests(tmp_path / "b.jsonl", ids("other"), "bridges")
    with machines.on("one"):
        await interrupted(emulator, tmp_path / "a.jsonl", tmp_path / "a", OUTAGE)
    emulator.faults = Faults(stuck_finalizing_rate=1.0, stuck_finalizing_seconds=60)
    with machines.on("two"):
        async with client(emulator) as the_client:
            with await the_client.submit(tmp_path / "b.jsonl", job_dir=tmp_path / "b"):
                pass
    with machines.on("one"):
        async with client(emulator) as the_client:
            with await the_client.submit(
                tmp_path / "a.jsonl", job_dir=tmp_path / "a"
            ) as job:
                assert job.manifest.chunks[0].batch.unverified
                assert await job.cancel() == []
    assert cancels(emulator) == []


# A job stopped between the steps of a proof resumes it.


def record_state(record: BatchRecord) -> str:
    """Where an attempt stands, as the steps of a proof see it."""
    if record.batch_id is None:
        return "refused" if record.refused else "intended"
    if not record.unverified:
        return "proven" if record.downloads else "created"
    if record.downloads:
        return "adopted, downloaded"
    return "adopted, ended" if record.ended else "adopted"


async def settled(emulator: Emulator) -> None:
    """Wait until the emulator has finished every request it was given (polled:
    it has no event to await)."""
    async with asyncio.timeout(20):
        while emulator.records.in_flight > 0:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


STEPS = ["downloaded", "files deleted", "claim released"]


async def adopted_and_downloaded(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines
) -> tuple[Bodies, str]:
    """A's create fails; B (another machine) runs; A resumes, adopts B's batch,
    polls it to its end and downloads its results, then stops before the check.
    A's bodies, and B's batch."""
    a_bodies = write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    write_requests(tmp_path / "b.jsonl", ids("other"), "bridges")
    with machines.on("one"):
        await interrupted(emulator, tmp_path / "a.jsonl", tmp_path / "a", OUTAGE)
    with machines.on("two"):
        _, b_manifest = await run_to_end(emulator, tmp_path / "b.jsonl", tmp_path / "b")
    b_batch = batch_of(b_manifest)
    with machines.on("one"):
        async with client(emulator) as the_client:
            with await the_client.submit(
                tmp_path / "a.jsonl", job_dir=tmp_path / "a"
            ) as job:
                store = job.store
                await poll_all(
                    store,
                    job.api,
                    job.transport,
                    POLL,
                    on_progress=None,
                    concurrency=1,
                    sleep=asyncio.sleep,
                    rng=random.Random(0),
                )
                chunk, record = store.attempts()[0]
                record = await fetch_planned(
                    store, job.api, job.transport, chunk, record
                )
                assert record.unverified and record.downloads
                assert job.progress().batches == {"verifying": 1}
                assert job.progress().done == 0
                # Nothing of it is read meanwhile.
                partial = [r async for r in job.results()]
                assert len(partial) == COUNT
                assert {r.status for r in partial} == {"errored"}
                assert {r.error.message for r in partial if r.error} == {
                    f"batch {b_batch} is not yet shown to be this job's "
                    "(its results are not used until it is)"
                }
    return a_bodies, b_batch


@pytest.mark.parametrize("crash_after", STEPS)
async def test_a_crash_between_refusal_steps_resumes_it(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines, crash_after: str
) -> None:
    """The disk as a crash leaves it after each step of a refusal (the results
    file recorded; then deleted; then the claim released, the record not yet
    written): the resumed job refuses B's batch and gets its own results."""
    a_bodies, b_batch = await adopted_and_downloaded(emulator, tmp_path, machines)
    with machines.on("one"):
        job_id = read_manifest(tmp_path / "a").job_id
        path = tmp_path / "a" / "downloads" / f"{b_batch}.results.jsonl"
        if crash_after != "downloaded":
            path.unlink()
        if crash_after == "claim released":
            claims.release(b_batch, job_id)
        a_results, a_manifest = await run_to_end(
            emulator, tmp_path / "a.jsonl", tmp_path / "a"
        )
    check_own(a_results, a_bodies)
    assert refused(a_manifest) == [b_batch]
    assert cancels(emulator) == []
    assert len(emulator.records.batches("anthropic")) == 2


async def test_the_commands_wait_for_the_proof(
    emulator: Emulator,
    tmp_path: pathlib.Path,
    machines: Machines,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`status` shows the batch verifying, `results` refuses the job until it is
    proven, `wait` refuses it and waits for the chunk's own batch, and `results`
    then writes A's own answers."""
    a_bodies, _ = await adopted_and_downloaded(emulator, tmp_path, machines)
    job = str(tmp_path / "a")
    out = tmp_path / "out.jsonl"

    def cli(*args: str) -> int:
        return main(list(args))

    with machines.on("one"):
        capsys.readouterr()
        assert await asyncio.to_thread(cli, "status", job, "--json") == 0
        document = json.loads(capsys.readouterr().out)
        assert (document["batches"], document["done"]) == ({"verifying": 1}, 0)
        assert await asyncio.to_thread(cli, "results", job, "-o", str(out)) == 1
        assert "1 verifying" in capsys.readouterr().err
        assert not out.exists()
        poll = ["--poll-min", "0.01", "--poll-max", "0.05", "--quiet"]
        assert await asyncio.to_thread(cli, "wait", job, *poll) == 0
        assert await asyncio.to_thread(cli, "results", job, "-o", str(out)) == 0
    rows = [msgspec.json.decode(line) for line in out.read_bytes().splitlines()]
    assert len(rows) == COUNT
    for row in rows:
        assert row["text"] == expected_text("anthropic", a_bodies[row["custom_id"]])


@pytest.mark.parametrize("whose", ["own", "another's"])
async def test_a_job_stopped_between_a_claim_and_its_record_finds_it_again(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines, whose: str
) -> None:
    """The registry holds the job's claim (as adopter of B's batch, or as the
    creator of its own), the manifest only the intent: the resumed look-up finds
    the batch again, and the proof decides."""
    a_bodies = write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    write_requests(tmp_path / "b.jsonl", ids("other"), "bridges")
    with machines.on("one"):
        faults = LOST if whose == "own" else OUTAGE
        manifest = await interrupted(
            emulator, tmp_path / "a.jsonl", tmp_path / "a", faults
        )
    if whose == "own":
        (found,) = (b.id for b in emulator.records.batches("anthropic"))
    else:
        with machines.on("two"):
            _, b_manifest = await run_to_end(
                emulator, tmp_path / "b.jsonl", tmp_path / "b"
            )
        found = batch_of(b_manifest)
    with machines.on("one"):
        assert claims.claim(found, manifest.job_id, created=whose == "own")
        a_results, a_manifest = await run_to_end(
            emulator, tmp_path / "a.jsonl", tmp_path / "a"
        )
    check_own(a_results, a_bodies)
    if whose == "own":
        assert (batch_of(a_manifest), refused(a_manifest)) == (found, [])
    else:
        assert refused(a_manifest) == [found]
    assert len(emulator.records.batches("anthropic")) == (1 if whose == "own" else 2)


@pytest.mark.parametrize("whose", ["own", "another's"])
async def test_a_job_stopped_at_any_turn_while_proving_resumes(
    emulator: Emulator, tmp_path: pathlib.Path, machines: Machines, whose: str
) -> None:
    """The resumed job is cancelled after 1, 2, 3, ... turns of the event loop
    (a cancelled task leaves what a kill does), each run resuming what the last
    left, until one goes through: its results are its own, with one batch of its
    own at the provider, and another job's batch refused. The first run seen
    holding a candidate is cancelled there and then, so a stop mid-proof is
    always among them (counting turns alone missed it about 1 run in 8 on a
    busy machine, where a run could adopt and prove between two stops)."""
    a_bodies = write_requests(tmp_path / "a.jsonl", ids("req"), "apples")
    write_requests(tmp_path / "b.jsonl", ids("other"), "bridges")
    with machines.on("one"):
        faults = LOST if whose == "own" else OUTAGE
        await interrupted(emulator, tmp_path / "a.jsonl", tmp_path / "a", faults)
    others: list[str] = []
    if whose != "own":
        with machines.on("two"):
            _, b_manifest = await run_to_end(
                emulator, tmp_path / "b.jsonl", tmp_path / "b"
            )
        others.append(batch_of(b_manifest))
    seen: set[str] = set()
    manifest_path = tmp_path / "a" / "manifest.json"

    def seen_adopted() -> bool:
        return any(state.startswith("adopted") for state in seen)

    def adopted_now() -> bool:
        if not manifest_path.exists():
            return False
        record = read_manifest(tmp_path / "a").chunks[0].batch
        return record_state(record).startswith("adopted")

    with machines.on("one"):
        turns = 0
        while True:
            turns += 1
            task = asyncio.create_task(
                run_to_end(emulator, tmp_path / "a.jsonl", tmp_path / "a")
            )
            for _ in range(turns):
                await asyncio.sleep(0)
                if task.done() or (not seen_adopted() and adopted_now()):
                    break
            if task.done():
                break
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await settled(emulator)  # a create cut off may still be carried out
            if (tmp_path / "a" / "manifest.json").exists():
                record = read_manifest(tmp_path / "a").chunks[0].batch
                seen.add(record_state(record))
    assert turns > 1
    a_results, a_manifest = task.result()
    assert seen_adopted()  # stopped mid-proof
    check_own(a_results, a_bodies)
    assert refused(a_manifest) == others
    batches = emulator.records.batches("anthropic")
    assert len(batches) == (2 if whose != "own" else 1)
    assert cancels(emulator) == []
