"""How Azure OpenAI and OpenAI-compatible hosts reshape OpenAI's batch objects.

The emulator's OpenAI handlers build OpenAI's batch objects; just before one
goes out, :func:`reshape` turns it into what the host addressed would send:

- Azure (paths under ``/azure``, PROVIDERS.md 3): capitalised statuses
  (``Validating``), ISO-8601 timestamps, null request counts while validating,
  and an empty error file for a batch that completed without errors.
- An OpenAI-compatible host (PROVIDERS.md 7), per ``EmulatorConfig.openai_quirks``:
  statuses in capitals, ISO timestamps, a ``{"job": ...}`` wrapper.

Imports stdlib and the emulator's store only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ._store import Store, StoredFile

__all__ = ("AZURE_PREFIX", "reshape")

AZURE_PREFIX = "/azure"
"""Where Azure's routes are served (``{endpoint}`` is the emulator URL plus this)."""

_TIMES = (
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


def _iso(batch: dict[str, Any]) -> None:
    for name in _TIMES:
        value = batch.get(name)
        if isinstance(value, int | float):
            batch[name] = datetime.fromtimestamp(value, UTC).isoformat()


def _empty_error_file(store: Store, batch: dict[str, Any]) -> None:
    """Azure gives a completed batch an error file even when it is empty."""
    held = store.batches.get(batch["id"])
    if held is None or batch["status"] != "completed":
        return
    if held.error_file_id is None:
        file_id = store.new_id("file-")
        path = store.file_path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        store.add_file(
            StoredFile(
                id=file_id,
                filename=f"{held.id}_error.jsonl",
                purpose="batch_output",
                bytes=0,
                created_at=store.now(),
                path=path,
            )
        )
        held.error_file_id = file_id
    batch["error_file_id"] = held.error_file_id


def _azure(store: Store, batch: dict[str, Any]) -> dict[str, Any]:
    _empty_error_file(store, batch)
    if batch["status"] == "validating":
        batch["request_counts"] = {"total": None, "completed": None, "failed": None}
    batch["status"] = batch["status"].capitalize()
    _iso(batch)
    return batch


def _compatible(quirks: frozenset[str], batch: dict[str, Any]) -> dict[str, Any]:
    if "upper_status" in quirks:
        batch["status"] = batch["status"].upper()
    if "iso_times" in quirks:
        _iso(batch)
    return batch


def reshape(path: str, store: Store, body: object) -> object:
    """``body`` as the host that ``path`` addresses would send it.

    Only batch objects and lists of them change; anything else goes out as it is.
    """
    if not isinstance(body, dict):
        return body
    azure = path.startswith(AZURE_PREFIX + "/")
    quirks = store.config.openai_quirks
    if not azure and not quirks:
        return body

    def one(batch: dict[str, Any]) -> dict[str, Any]:
        batch = dict(batch)
        return _azure(store, batch) if azure else _compatible(quirks, batch)

    if body.get("object") == "batch":
        shaped = one(body)
        wrap = not azure and "job_wrapper" in quirks
        return {"job": shaped} if wrap else shaped
    data = body.get("data")
    batches = (
        body.get("object") == "list"
        and isinstance(data, list)
        and all(isinstance(b, dict) and b.get("object") == "batch" for b in data)
    )
    return {**body, "data": [one(b) for b in data]} if batches and data else body
