"""Mistral's Files and batch jobs API, as pure flows.

Wire shapes from PROVIDERS.md 6, checked against the official ``mistralai`` SDK
(``files.py``, ``jobs.py``, ``models/batchjob.py``, ``listbatchjobsresponse.py``).
The base URL does not include ``/v1`` (the SDK's ``server_url`` convention).

A job names its input files, endpoint and model, and carries our tag as
``metadata``; statuses are UPPERCASE (``QUEUED`` ... ``TIMEOUT_EXCEEDED``), read
case-insensitively, an unknown one as still running; jobs are listed by page
number, newest first; results are an output file and an error file.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..._core.flow import FileUpload, Flow, HttpRequest, decode_body
from ..._errors import NotYetVisible, ProtocolError
from ..batches import BatchState, BatchStatus, ChunkRef, Planned

__all__ = ("MISTRAL", "PAGE_SIZE", "MistralBatches")

PAGE_SIZE = 100
"""Jobs per listing page (the SDK's default)."""


class _File(msgspec.Struct):
    id: str
    bytes: int | None = None


class _Error(msgspec.Struct):
    message: str = ""
    count: int | None = None


class _Job(msgspec.Struct):
    id: str
    status: str
    total_requests: int | None = None
    succeeded_requests: int | None = None
    failed_requests: int | None = None
    output_file: str | None = None
    error_file: str | None = None
    errors: list[_Error] | None = None
    metadata: dict[str, Any] | None = None
    created_at: int | float | None = None


class _Page(msgspec.Struct):
    data: list[_Job] | None = None
    total: int = 0


class _Deleted(msgspec.Struct):
    id: str


_FILE = msgspec.json.Decoder(_File)
_JOB = msgspec.json.Decoder(_Job)
_PAGE = msgspec.json.Decoder(_Page)
_DELETED = msgspec.json.Decoder(_Deleted)

STATES: dict[str, BatchState] = {
    "QUEUED": BatchState.VALIDATING,
    "RUNNING": BatchState.IN_PROGRESS,
    "SUCCESS": BatchState.COMPLETED,
    "FAILED": BatchState.FAILED,
    "TIMEOUT_EXCEEDED": BatchState.EXPIRED,
    "CANCELLATION_REQUESTED": BatchState.CANCELLING,
    "CANCELLED": BatchState.CANCELLED,
}
"""Mistral's job statuses, normalised (the SDK allows unknown ones too)."""


def _status(job: _Job) -> BatchStatus:
    errors = [
        e.message + (f" ({e.count} requests)" if e.count and e.count > 1 else "")
        for e in job.errors or []
    ]
    return BatchStatus(
        id=job.id,
        state=STATES.get(job.status.upper(), BatchState.IN_PROGRESS),
        raw_state=job.status,
        total=job.total_requests,
        succeeded=job.succeeded_requests,
        failed=job.failed_requests,
        output_file_id=job.output_file,
        error_file_id=job.error_file,
        errors=errors,
    )


class MistralBatches:
    """The Mistral batch jobs API."""

    name = "mistral"
    default_base_url = "https://api.mistral.ai"
    key_env = "MISTRAL_API_KEY"
    uploads = True
    tags = True

    def auth_headers(self, key: str) -> dict[str, str]:
        """Bearer authentication."""
        return {"Authorization": f"Bearer {key}"}

    def upload(self, chunk: ChunkRef) -> Flow[str]:
        """``POST /v1/files`` (multipart, purpose ``batch``); return the file id."""
        name = chunk.path.rsplit("/", 1)[-1]
        upload = FileUpload(path=chunk.path, filename=name, fields={"purpose": "batch"})
        response = yield HttpRequest(method="POST", path="v1/files", upload=upload)
        return decode_body(response, _FILE).id

    def create(self, chunk: ChunkRef, file_id: str | None) -> Flow[str]:
        """``POST /v1/batch/jobs`` with the chunk's tag as metadata; return its id."""
        if chunk.endpoint is None or chunk.model is None or file_id is None:
            raise ProtocolError(
                "a Mistral job needs an uploaded file, endpoint and model"
            )
        body = {
            "input_files": [file_id],
            "endpoint": chunk.endpoint,
            "model": chunk.model,
            "metadata": chunk.tag,
        }
        response = yield HttpRequest(
            method="POST",
            path="v1/batch/jobs",
            json=msgspec.Raw(msgspec.json.encode(body)),
            idempotent=False,
        )
        if response.status == 404:  # the file may not be visible everywhere yet
            raise NotYetVisible(404, response.body.decode("utf-8", "replace"))
        return decode_body(response, _JOB).id

    def find(self, chunk: ChunkRef, known: frozenset[str]) -> Flow[str | None]:
        """Page through jobs, newest first, for one whose metadata is the tag.

        Stops at the last page, or at the first page holding jobs created before
        ``chunk.since`` (less a minute for clock skew).
        """
        page = 0
        while True:
            query = {
                "page": str(page),
                "page_size": str(PAGE_SIZE),
                "order_by": "-created",
            }
            response = yield HttpRequest(
                method="GET", path="v1/batch/jobs", query=query
            )
            jobs = decode_body(response, _PAGE).data or []
            for job in jobs:
                if job.metadata == chunk.tag and job.id not in known:
                    return job.id
            older = any(
                job.created_at is not None and job.created_at < chunk.since - 60
                for job in jobs
            )
            page += 1
            if len(jobs) < PAGE_SIZE or older:
                return None

    def retrieve(self, batch_id: str) -> Flow[BatchStatus]:
        """``GET /v1/batch/jobs/{id}``."""
        response = yield HttpRequest(method="GET", path=f"v1/batch/jobs/{batch_id}")
        return _status(decode_body(response, _JOB))

    def cancel(self, batch_id: str) -> Flow[BatchStatus]:
        """``POST /v1/batch/jobs/{id}/cancel``."""
        response = yield HttpRequest(
            method="POST", path=f"v1/batch/jobs/{batch_id}/cancel"
        )
        return _status(decode_body(response, _JOB))

    def downloads(self, status: BatchStatus) -> list[Planned]:
        """The output and error files' contents."""
        files = [("output", status.output_file_id), ("error", status.error_file_id)]
        return [
            Planned(kind=kind, path=f"v1/files/{file_id}/content", file_id=file_id)
            for kind, file_id in files
            if file_id
        ]

    def file_size(self, file_id: str) -> Flow[int]:
        """``GET /v1/files/{id}``: the file object's ``bytes``."""
        response = yield HttpRequest(method="GET", path=f"v1/files/{file_id}")
        size = decode_body(response, _FILE).bytes
        if size is None:
            raise ProtocolError(f"file {file_id} has no size")
        return size

    def delete_file(self, file_id: str) -> Flow[None]:
        """``DELETE /v1/files/{id}``; a 404 means it is gone already."""
        response = yield HttpRequest(method="DELETE", path=f"v1/files/{file_id}")
        if response.status != 404:
            decode_body(response, _DELETED)


MISTRAL = MistralBatches()
