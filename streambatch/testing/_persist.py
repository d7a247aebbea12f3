"""Keep an emulator's state in its ``--state-dir`` and reload it on restart.

``state.json`` holds the emulated clock, every file and every batch (its plan,
schedule facts, validation outcome and result files); the bytes of files and
work live beside it already. It is written atomically, within a second of a
change (by the ticker) and on shutdown, and read when an emulator starts on the
same directory: batches go on where they were, on a clock that resumes at the
emulated time it had (the time the emulator was down does not count).

Work that was under way is started again: a validation not finished is run
again from the input file, and result generation not finished is begun anew.
A temporary state directory (the default) is never saved. Stdlib and siblings
only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ._batch import Batch
from ._generate import Written
from ._intake import Intake, intake_openai
from ._mistral_jobs import intake_mistral
from ._plan import Plan
from ._store import Store, StoredFile

__all__ = ("Saver", "load")

STATE = "state.json"
_VERSION = 1


def _file(stored: StoredFile) -> dict[str, Any]:
    return {
        "id": stored.id,
        "filename": stored.filename,
        "purpose": stored.purpose,
        "bytes": stored.bytes,
        "created_at": stored.created_at,
        "path": str(stored.path),
        "deleted": stored.deleted,
    }


def _intake_of(batch: Batch) -> dict[str, Any] | None:
    future = batch.intake
    if not future.done() or future.cancelled() or future.exception() is not None:
        return None
    intake = future.result()
    if intake is None:
        return None
    return {
        "count": intake.count,
        "failing": intake.failing,
        "model": intake.model,
        "errors": intake.errors,
        "buckets": [str(p) for p in intake.buckets],
    }


def _batch(batch: Batch) -> dict[str, Any]:
    plan = dataclasses.asdict(batch.plan)
    plan["work_dir"] = str(batch.plan.work_dir)
    written = batch.written
    return {
        "plan": plan,
        "created": batch.created,
        "stall": batch.stall,
        "stuck": batch.stuck,
        "input_file_id": batch.input_file_id,
        "metadata": batch.metadata,
        "cancel_at": batch.cancel_at,
        "ended_at": batch.ended_at,
        "output_file_id": batch.output_file_id,
        "error_file_id": batch.error_file_id,
        "deleted": batch.deleted,
        "paths": [str(p) for p in batch.paths] if batch.paths else None,
        "intake": _intake_of(batch),
        "written": None
        if written is None
        else {
            "counts": dict(written.counts),
            "output_bytes": written.output_bytes,
            "error_bytes": written.error_bytes,
        },
    }


def snapshot(store: Store) -> bytes:
    """The store's state as JSON."""
    state = {
        "version": _VERSION,
        "clock": store.clock.now(),
        "files": [_file(f) for f in store.files.values()],
        "batches": [_batch(b) for b in store.batches.values()],
    }
    return json.dumps(state, separators=(",", ":")).encode()


class Saver:
    """Write ``state.json`` when the state changed (a no-op for a temporary root)."""

    def __init__(self, store: Store, *, enabled: bool) -> None:
        self._store = store
        self._enabled = enabled
        self._last = b""
        self._when = 0.0

    def maybe_save(self, every: float = 1.0) -> None:
        """Save if at least ``every`` seconds passed since the last look."""
        if time.monotonic() - self._when >= every:
            self.save()

    def save(self) -> None:
        """Save now, if anything changed."""
        self._when = time.monotonic()
        if not self._enabled:
            return
        data = snapshot(self._store)
        if data == self._last:
            return
        root = self._store.root
        temp = root / (STATE + ".tmp")
        temp.write_bytes(data)
        os.replace(temp, root / STATE)
        self._last = data


def load(store: Store) -> bool:
    """Reload ``state.json`` from the store's root, if there is one; say whether.

    Call from the event loop (validation futures are made on it).

    Raises:
        ValueError: the file is not a state this emulator wrote.
    """
    path = store.root / STATE
    try:
        state = json.loads(path.read_bytes())
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not an emulator state ({exc})") from None
    if not isinstance(state, dict) or state.get("version") != _VERSION:
        raise ValueError(f"{path}: not an emulator state of this version")
    store.clock.resume_at(float(state["clock"]))
    for item in state["files"]:
        stored = StoredFile(**{**item, "path": Path(item["path"])})
        store.add_file(stored)
    for item in state["batches"]:
        batch = _restored(store, item)
        store.batches[batch.id] = batch
    return True


def _restored(store: Store, item: dict[str, Any]) -> Batch:
    plan = Plan(**{**item["plan"], "work_dir": Path(item["plan"]["work_dir"])})
    loop = asyncio.get_running_loop()
    saved = item["intake"]
    intake: asyncio.Future[Intake | None]
    if saved is not None:
        intake = loop.create_future()
        buckets = [Path(p) for p in saved.pop("buckets")]
        intake.set_result(Intake(**saved, buckets=buckets))
    else:  # validation was under way: run it again
        intake = _revalidate(store, plan, item["input_file_id"])
    batch = Batch(
        plan=plan,
        created=item["created"],
        intake=intake,
        stall=item["stall"],
        stuck=item["stuck"],
        input_file_id=item["input_file_id"],
        metadata=item["metadata"],
        cancel_at=item["cancel_at"],
        ended_at=item["ended_at"],
        output_file_id=item["output_file_id"],
        error_file_id=item["error_file_id"],
        deleted=item["deleted"],
    )
    written = item["written"]
    if written is not None and item["paths"] is not None:
        batch.written = Written(
            Counter(written["counts"]), written["output_bytes"], written["error_bytes"]
        )
        batch.written_mono = store.clock.monotonic()
        output, errors = (Path(p) for p in item["paths"])
        batch.paths = (output, errors)
        done: asyncio.Future[Written | None] = loop.create_future()
        done.set_result(batch.written)
        batch.generation = done
    # else: generation had not finished (or begun); advance() begins it anew
    return batch


def _revalidate(
    store: Store, plan: Plan, input_file_id: str | None
) -> asyncio.Future[Intake | None]:
    stored = store.files.get(input_file_id or "")
    if stored is None:  # cannot happen for a batch this emulator made
        future: asyncio.Future[Intake | None] = (
            asyncio.get_running_loop().create_future()
        )
        future.set_result(None)
        return future
    limits = store.config.limits
    with contextlib.suppress(FileNotFoundError):
        for leftover in plan.work_dir.glob("bucket-*"):
            leftover.unlink()
    if plan.provider == "mistral":  # its lines have no method or url
        return store.run(intake_mistral, stored.path, plan, store.stop)
    return store.run(
        intake_openai,
        stored.path,
        plan,
        limits.openai_max_requests,
        limits.openai_max_batch_bytes,
        store.stop,
    )
