"""Anthropic's Message Batches API, as pure flows.

Wire shapes from PROVIDERS.md section 4. The base URL does not include ``/v1``.
There is no file upload: the requests travel in the create call's JSON body,
``{"requests": [...]}``, streamed from the chunk file. Batches carry no metadata,
so an interrupted create is reconciled by matching: a batch created after the
create began, holding the chunk's number of requests, not already known to the job.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from .._core.flow import Flow, HttpRequest, JsonArrayUpload, decode_body
from .batches import BatchState, BatchStatus, ChunkRef, Planned

__all__ = ("ANTHROPIC",)


class _Counts(msgspec.Struct):
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0


class _Batch(msgspec.Struct):
    id: str
    processing_status: str
    request_counts: _Counts = msgspec.field(default_factory=_Counts)
    results_url: str | None = None
    created_at: str | None = None
    cancel_initiated_at: str | None = None


class _Page(msgspec.Struct):
    data: list[_Batch]
    has_more: bool = False
    last_id: str | None = None


_BATCH = msgspec.json.Decoder(_Batch)
_PAGE = msgspec.json.Decoder(_Page)

_STATES: dict[str, BatchState] = {
    "in_progress": BatchState.IN_PROGRESS,
    "canceling": BatchState.CANCELLING,
    "ended": BatchState.COMPLETED,
}


def _status(batch: _Batch) -> BatchStatus:
    counts = batch.request_counts
    total = (
        counts.processing
        + counts.succeeded
        + counts.errored
        + counts.canceled
        + counts.expired
    )
    ended = batch.processing_status == "ended"
    return BatchStatus(
        id=batch.id,
        state=_STATES.get(batch.processing_status, BatchState.IN_PROGRESS),
        raw_state=batch.processing_status,
        total=total,
        # Only `processing` means anything before the end (PROVIDERS.md 4.3).
        succeeded=counts.succeeded if ended else None,
        failed=counts.errored + counts.canceled + counts.expired if ended else None,
        results_url=batch.results_url,
    )


def _timestamp(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class AnthropicBatches:
    """The Anthropic Message Batches API."""

    name = "anthropic"
    default_base_url = "https://api.anthropic.com"
    key_env = "ANTHROPIC_API_KEY"
    uploads = False
    tags = False

    def auth_headers(self, key: str) -> dict[str, str]:
        """``x-api-key`` and the API version."""
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}

    def upload(self, chunk: ChunkRef) -> Flow[str]:
        """Anthropic has no upload step: never called (``uploads`` is False)."""
        raise NotImplementedError(f"{chunk.path}: Anthropic takes requests inline")

    def create(self, chunk: ChunkRef, file_id: str | None) -> Flow[str]:
        """``POST /v1/messages/batches`` with the chunk's lines as ``requests``."""
        upload = JsonArrayUpload(path=chunk.path, prefix=b'{"requests":[', suffix=b"]}")
        response = yield HttpRequest(
            method="POST", path="v1/messages/batches", upload=upload, idempotent=False
        )
        return decode_body(response, _BATCH).id

    def find(self, chunk: ChunkRef, known: frozenset[str]) -> Flow[str | None]:
        """Page through batches, newest first, for one that matches the chunk."""
        query: dict[str, str] = {"limit": "100"}
        while True:
            response = yield HttpRequest(
                method="GET", path="v1/messages/batches", query=query
            )
            page = decode_body(response, _PAGE)
            for batch in page.data:
                created = _timestamp(batch.created_at)
                if created is not None and created < chunk.since - 60:
                    return None
                if batch.id not in known and _status(batch).total == chunk.n_requests:
                    return batch.id
            if not page.has_more or not page.last_id:
                return None
            query = {"limit": "100", "after_id": page.last_id}

    def retrieve(self, batch_id: str) -> Flow[BatchStatus]:
        """``GET /v1/messages/batches/{id}``."""
        response = yield HttpRequest(
            method="GET", path=f"v1/messages/batches/{batch_id}"
        )
        return _status(decode_body(response, _BATCH))

    def cancel(self, batch_id: str) -> Flow[BatchStatus]:
        """``POST /v1/messages/batches/{id}/cancel``."""
        response = yield HttpRequest(
            method="POST", path=f"v1/messages/batches/{batch_id}/cancel"
        )
        return _status(decode_body(response, _BATCH))

    def downloads(self, status: BatchStatus) -> list[Planned]:
        """The results file (successes and failures together); its size is unknown."""
        path = f"v1/messages/batches/{status.id}/results"
        return [Planned(kind="results", path=path)]

    def file_size(self, file_id: str) -> Flow[int]:
        """Anthropic has no files: never called (``uploads`` is False)."""
        raise NotImplementedError(file_id)

    def delete_file(self, file_id: str) -> Flow[None]:
        """Anthropic has no files: never called (``uploads`` is False)."""
        raise NotImplementedError(file_id)


ANTHROPIC = AnthropicBatches()
