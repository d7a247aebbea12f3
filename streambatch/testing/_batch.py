"""One batch of either provider, and how it advances when someone looks at it.

`advance` turns the schedule (emulated time) into the status a client sees:
it starts result generation once the outcome is fixed and holds the batch back
(finalizing, cancelling) until the result files exist. Stdlib and siblings only.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._chance import chance, happens
from ._clock import Facts, schedule
from ._generate import Written, generate
from ._intake import Intake
from ._lines import Outcome
from ._plan import SPLIT_RESULTS, Plan
from ._store import Store, StoredFile

log = logging.getLogger("streambatch.testing")
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass
class Batch:
    """A batch and its background work. Times are emulated unix seconds."""

    plan: Plan
    created: float
    intake: asyncio.Future[Intake | None]
    stall: float | None = None
    stuck: bool = False
    input_file_id: str | None = None
    metadata: dict[str, str] | None = None
    cancel_at: float | None = None
    generation: asyncio.Future[Written | None] | None = None
    written: Written | None = None
    written_mono: float = 0.0
    ended_at: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    deleted: bool = False
    paths: tuple[Path, Path] | None = None
    view: View = field(init=False)

    def __post_init__(self) -> None:
        self.view = View("validating", 0, 0, 0, [])

    @property
    def id(self) -> str:
        """The batch id."""
        return self.plan.batch_id


@dataclass(frozen=True)
class View:
    """What a client sees of a batch at one moment (OpenAI vocabulary)."""

    status: str
    count: int
    done: int
    failed: int
    errors: list[dict[str, Any]]


def new_plan(
    store: Store,
    provider: str,
    batch_id: str,
    endpoint: str,
    model: str | None = None,
) -> Plan:
    """The fixed facts of a new batch, its faults drawn from the live config."""
    faults = store.config.faults
    return Plan(
        provider=provider,
        batch_id=batch_id,
        endpoint=endpoint,
        work_dir=store.work_dir(batch_id),
        seed=faults.seed,
        item_error_rate=faults.item_error_rate,
        fail_all=happens(faults.all_failed_rate, faults.seed, "all-failed", batch_id),
        reply_words=store.config.reply_words,
        embedding_dims=store.config.embedding_dims,
        id_key="batch_id" if "batch_id" in store.config.openai_quirks else "id",
        model=model,
    )


def new_batch(
    store: Store, plan: Plan, intake: asyncio.Future[Intake | None], **fields: Any
) -> Batch:
    """A batch created now, with its expiry stall and stuck finalizing drawn."""
    faults = store.config.faults
    stall = None
    if happens(faults.expiry_rate, faults.seed, "expire", plan.batch_id):
        stall = 0.2 + 0.6 * chance(faults.seed, "stall", plan.batch_id)
    stuck = happens(faults.stuck_finalizing_rate, faults.seed, "stuck", plan.batch_id)
    return Batch(
        plan=plan,
        created=store.clock.now(),
        intake=intake,
        stall=stall,
        stuck=stuck,
        **fields,
    )


def _intake(batch: Batch) -> Intake | None:
    if not batch.intake.done():
        return None
    if batch.intake.cancelled() or batch.intake.exception() is not None:
        message = "The emulator could not read the input file."
        return Intake(errors=[{"code": "server_error", "message": message}])
    return batch.intake.result() or Intake(errors=[{"code": "stopped", "message": ""}])


def advance(batch: Batch, store: Store) -> View:
    """Bring ``batch`` up to date and return what a client sees now."""
    intake = _intake(batch)
    cancel_after = None if batch.cancel_at is None else batch.cancel_at - batch.created
    facts = Facts(
        count=intake.count if intake else 0,
        validated=intake is not None,
        invalid=bool(intake and intake.errors),
        cancel_after=cancel_after,
        stall=batch.stall,
    )
    timings = store.config.timings
    status, done = schedule(facts, store.clock.now() - batch.created, timings)
    if intake is not None and not intake.errors:
        status = _follow_generation(batch, store, status, done, intake.count)
    if status in TERMINAL and batch.ended_at is None:
        batch.ended_at = store.clock.now()
    count = intake.count if intake and not intake.errors else 0
    failed = done * intake.failing // max(1, intake.count) if intake else 0
    batch.view = View(status, count, done, failed, intake.errors if intake else [])
    return batch.view


def _follow_generation(
    batch: Batch, store: Store, status: str, done: int, count: int
) -> str:
    if status in ("finalizing", "completed"):
        _start(batch, store, count, "expired")
    elif status in ("cancelling", "cancelled", "expired"):
        _start(batch, store, done, "expired" if status == "expired" else "cancelled")
    if batch.generation is None:
        return status
    if batch.written is None and batch.generation.done():
        _absorb(batch, store)
    if batch.written is None:
        return {"completed": "finalizing", "cancelled": "cancelling"}.get(
            status, "in_progress" if status == "expired" else status
        )
    waited = store.clock.monotonic() - batch.written_mono
    if status == "completed" and batch.stuck:
        stuck = store.config.faults.stuck_finalizing_seconds
        return "finalizing" if waited < stuck else status
    return status


def _start(batch: Batch, store: Store, cutoff: int, end: Outcome) -> None:
    if batch.generation is not None:
        return
    output = store.file_path(store.new_id("file-"))
    errors = store.file_path(store.new_id("file-"))
    batch.generation = store.run(
        generate, batch.plan, cutoff, end, store.now(), output, errors, store.stop
    )
    batch.generation.add_done_callback(lambda _: _absorb(batch, store))
    batch.paths = (output, errors)


def _absorb(batch: Batch, store: Store) -> None:
    """Record the result files of a finished generation (idempotent)."""
    future = batch.generation
    if future is None or batch.paths is None or batch.written is not None:
        return
    if not future.done():
        return
    output, errors = batch.paths
    if future.cancelled() or future.exception() is not None:
        log.error(
            "result generation failed for %s", batch.id, exc_info=future.exception()
        )
        return
    written = future.result()
    if written is None:
        return
    batch.written = written
    batch.written_mono = store.clock.monotonic()
    name = batch.id
    if batch.plan.provider in SPLIT_RESULTS:
        batch.output_file_id = _register(
            store, output, written.output_bytes, name, "output"
        )
        batch.error_file_id = _register(
            store, errors, written.error_bytes, name, "error"
        )
    else:
        batch.output_file_id = _register(
            store, output, written.output_bytes, name, "results"
        )
        errors.unlink(missing_ok=True)


def _register(store: Store, path: Path, size: int, name: str, kind: str) -> str | None:
    if size == 0 and kind != "results":
        path.unlink(missing_ok=True)
        return None
    stored = StoredFile(
        id=path.name,
        filename=f"{name}_{kind}.jsonl",
        purpose="batch_output",
        bytes=size,
        created_at=store.now(),
        path=path,
    )
    if kind != "results":
        store.add_file(stored)
    return stored.id
