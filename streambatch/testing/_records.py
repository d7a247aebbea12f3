"""What the emulator saw, for tests to judge what a client really did.

A read-only view over the emulator's store: files, batches and the custom_ids
each batch held (read back from disk on demand, so the emulator's own memory
stays flat), the request log and the peak number of requests in flight.
Stdlib and siblings only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from ._batch import advance
from ._gemini_batches import STATES as GEMINI_STATES
from ._mistral_jobs import STATES as MISTRAL_STATES
from ._store import RequestRecord, Store


@dataclass(frozen=True)
class FileRecord:
    """One OpenAI file the emulator holds or held."""

    id: str
    filename: str
    purpose: str
    bytes: int
    path: Path
    deleted: bool


@dataclass(frozen=True)
class BatchRecord:
    """One batch, as of the moment it was read.

    Attributes:
        provider: ``openai``, ``anthropic``, ``gemini`` or ``mistral``.
        id: The batch id.
        status: The provider's own status word (OpenAI ``status``, Anthropic
            ``processing_status``, Gemini ``BATCH_STATE_*``, Mistral ``SUCCESS``...).
        request_count: Requests in the batch (0 until validated, or if invalid).
        deleted: Whether an Anthropic batch was deleted.
    """

    provider: str
    id: str
    status: str
    request_count: int
    deleted: bool
    ids_path: Path

    def custom_ids(self) -> list[str]:
        """Return the batch's custom_ids in input order."""
        if not self.ids_path.exists():
            return []
        lines = self.ids_path.read_bytes().splitlines()
        return [msgspec.json.decode(line, type=str) for line in lines]

    def requests(self) -> dict[str, Any]:
        """Each request the batch held, as sent (an OpenAI line's ``body``, an
        Anthropic request's ``params``, a Gemini line's ``request``), by
        custom_id, in input order. Read from disk: meant for small batches."""
        found: list[tuple[int, str, Any]] = []
        for path in sorted(self.ids_path.parent.glob("bucket-*")):
            for record in path.read_bytes().splitlines():
                index, custom_id, body = record.split(b"\t", 2)
                found.append((int(index), msgspec.json.decode(custom_id), body))
        found.sort(key=lambda item: item[0])
        return {key: msgspec.json.decode(body) for _, key, body in found}


def _native(provider: str, status: str) -> str:
    if provider == "openai":
        return status
    if provider == "gemini":
        return "BATCH_STATE_" + GEMINI_STATES[status]
    if provider == "mistral":
        return MISTRAL_STATES[status]
    if status == "cancelling":
        return "canceling"
    return "ended" if status in ("completed", "expired", "cancelled") else "in_progress"


class Records:
    """A handle on everything the emulator recorded; cheap to create."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def files(self) -> list[FileRecord]:
        """Every file, oldest first (deleted ones included)."""
        return [
            FileRecord(f.id, f.filename, f.purpose, f.bytes, f.path, f.deleted)
            for f in self._store.files.values()
        ]

    def batches(self, provider: str | None = None) -> list[BatchRecord]:
        """Every batch of ``provider`` (or of both), oldest first."""
        found = []
        for batch in self._store.batches.values():
            if provider is not None and batch.plan.provider != provider:
                continue
            view = advance(batch, self._store)
            found.append(
                BatchRecord(
                    provider=batch.plan.provider,
                    id=batch.id,
                    status=_native(batch.plan.provider, view.status),
                    request_count=view.count,
                    deleted=batch.deleted,
                    ids_path=batch.plan.work_dir / "custom_ids",
                )
            )
        return found

    def batch(self, batch_id: str) -> BatchRecord:
        """The batch ``batch_id``.

        Raises:
            KeyError: If the emulator never saw it.
        """
        for record in self.batches():
            if record.id == batch_id:
                return record
        raise KeyError(batch_id)

    def submissions(self, provider: str | None = None) -> Counter[str]:
        """How many valid batches held each custom_id (failed batches excluded)."""
        counts: Counter[str] = Counter()
        for record in self.batches(provider):
            if record.status not in ("failed", "BATCH_STATE_FAILED"):
                counts.update(record.custom_ids())
        return counts

    def duplicates(self, provider: str | None = None) -> dict[str, int]:
        """The custom_ids submitted in more than one valid batch, with counts."""
        return {k: n for k, n in self.submissions(provider).items() if n > 1}

    @property
    def requests(self) -> list[RequestRecord]:
        """The HTTP requests answered so far (the latest 100,000), oldest first."""
        return list(self._store.traffic.log)

    @property
    def peak_in_flight(self) -> int:
        """The most requests the emulator was handling at one time."""
        return self._store.traffic.peak_in_flight

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        return self._store.traffic.in_flight
