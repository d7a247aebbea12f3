"""OpenAI's (and compatible hosts') Files and Batches API, as pure flows.

Wire shapes from PROVIDERS.md section 2. The base URL includes ``/v1``.

Compatible hosts (Groq, Together, vLLM, LiteLLM, ...) differ in small ways, all
read here: statuses in any case, timestamps as Unix seconds or ISO-8601 strings,
a batch wrapped as ``{"job": {...}}``, a batch-level ``error`` string, and other
completion windows (``ChunkRef.completion_window``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import msgspec

from .._core.flow import FileUpload, Flow, HttpRequest, HttpResponse, decode_body
from .._errors import ConfigError, NotYetVisible, ProtocolError
from .batches import BatchState, BatchStatus, ChunkRef, Planned

__all__ = ("DEFAULT_WINDOW", "OPENAI", "OpenAIBatches", "check_window", "unix_time")


class _File(msgspec.Struct):
    id: str
    bytes: int | None = None


class _Counts(msgspec.Struct):
    total: int | None = None
    completed: int | None = None
    failed: int | None = None


class _Error(msgspec.Struct):
    code: str | None = None
    message: str | None = None
    line: int | None = None


class _Errors(msgspec.Struct):
    data: list[_Error] = []


class _Batch(msgspec.Struct):
    id: str
    status: str
    request_counts: _Counts | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: _Errors | None = None
    error: str | None = None  # Together: one string
    metadata: dict[str, str] | None = None
    created_at: int | float | str | None = None


class _Wrapped(msgspec.Struct):
    job: _Batch


class _Page(msgspec.Struct):
    data: list[_Batch]
    has_more: bool = False


class _Deleted(msgspec.Struct):
    id: str


_FILE = msgspec.json.Decoder(_File)
_DELETED = msgspec.json.Decoder(_Deleted)
_BATCH = msgspec.json.Decoder(_Batch)
_WRAPPED = msgspec.json.Decoder(_Wrapped)
_PAGE = msgspec.json.Decoder(_Page)
DEFAULT_WINDOW = "24h"

_STATES: dict[str, BatchState] = {
    "validating": BatchState.VALIDATING,
    "in_progress": BatchState.IN_PROGRESS,
    "finalizing": BatchState.FINALIZING,
    "cancelling": BatchState.CANCELLING,
    "completed": BatchState.COMPLETED,
    "failed": BatchState.FAILED,
    "expired": BatchState.EXPIRED,
    "cancelled": BatchState.CANCELLED,
}


_WINDOW = re.compile(r"[1-9][0-9]{0,3}[hd]")


def check_window(window: str) -> str:
    """A completion window as hosts spell it (``24h``, ``7d``), or ConfigError."""
    if not _WINDOW.fullmatch(window):
        raise ConfigError(
            f"completion window {window!r} is not a number of hours or days "
            "(24h, 48h, 7d)"
        )
    return window


def _batch(response: HttpResponse) -> _Batch:
    """A batch object, bare or in a ``{"job": ...}`` wrapper (Together)."""
    try:
        return decode_body(response, _BATCH)
    except ProtocolError:
        try:
            return _WRAPPED.decode(response.body).job
        except msgspec.DecodeError:
            raise ProtocolError("unexpected response body: not a batch") from None


def unix_time(value: int | float | str | None) -> float | None:
    """A timestamp sent as Unix seconds or as an ISO-8601 string, in Unix seconds;
    None when absent or unreadable."""
    if value is None or isinstance(value, int | float):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _status(batch: _Batch) -> BatchStatus:
    # Azure capitalises states and may send null counts (PROVIDERS.md 3);
    # Together sends them in capitals (7).
    state = _STATES.get(batch.status.lower(), BatchState.IN_PROGRESS)
    counts = batch.request_counts or _Counts()
    errors = [
        f"{e.code or 'error'}: {e.message or ''}"
        + (f" (line {e.line})" if e.line is not None else "")
        for e in (batch.errors.data if batch.errors else [])
    ]
    if batch.error:
        errors.append(batch.error)
    return BatchStatus(
        id=batch.id,
        state=state,
        raw_state=batch.status,
        total=counts.total,
        succeeded=counts.completed,
        failed=counts.failed,
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        errors=errors,
    )


class OpenAIBatches:
    """The OpenAI batch API (also compatible hosts; Azure's is a subclass).

    Args:
        query: sent with every request (Azure's classic ``api-version``).
        upload_fields: form fields sent with every upload besides ``purpose``.
    """

    name = "openai"
    default_base_url = "https://api.openai.com/v1"
    key_env = "OPENAI_API_KEY"
    uploads = True
    tags = True

    def __init__(
        self,
        *,
        query: dict[str, str] | None = None,
        upload_fields: dict[str, str] | None = None,
    ) -> None:
        self.query = dict(query or {})
        self.upload_fields = {"purpose": "batch", **(upload_fields or {})}

    def _request(
        self,
        method: Literal["GET", "POST", "DELETE"],
        path: str,
        query: dict[str, str] | None = None,
        **options: Any,
    ) -> HttpRequest:
        return HttpRequest(
            method=method, path=path, query={**(query or {}), **self.query}, **options
        )

    def auth_headers(self, key: str) -> dict[str, str]:
        """Bearer authentication."""
        return {"Authorization": f"Bearer {key}"}

    def upload(self, chunk: ChunkRef) -> Flow[str]:
        """``POST /files`` (multipart, purpose ``batch``); return the file id."""
        name = chunk.path.rsplit("/", 1)[-1]
        upload = FileUpload(path=chunk.path, filename=name, fields=self.upload_fields)
        response = yield self._request("POST", "files", upload=upload)
        return decode_body(response, _FILE).id

    def create(self, chunk: ChunkRef, file_id: str | None) -> Flow[str]:
        """``POST /batches`` with the chunk's tag as metadata; return the batch id."""
        body = {
            "input_file_id": file_id,
            "endpoint": chunk.endpoint,
            "completion_window": chunk.completion_window or DEFAULT_WINDOW,
            "metadata": chunk.tag,
        }
        request = self._request(
            "POST",
            "batches",
            json=msgspec.Raw(msgspec.json.encode(body)),
            idempotent=False,
        )
        response = yield request
        if response.status == 404:  # the file may not be visible everywhere yet
            raise NotYetVisible(404, response.body.decode("utf-8", "replace"))
        return _batch(response).id

    def find(self, chunk: ChunkRef, known: frozenset[str]) -> Flow[str | None]:
        """Page through batches, newest first, for one whose metadata is the tag.

        Stops at the first page holding batches created before ``chunk.since``
        (less a minute for clock skew).
        """
        query: dict[str, str] = {"limit": "100"}
        while True:
            response = yield self._request("GET", "batches", query=query)
            page = decode_body(response, _PAGE)
            for batch in page.data:
                if batch.metadata == chunk.tag and batch.id not in known:
                    return batch.id
            older = [
                b
                for b in page.data
                if (created := unix_time(b.created_at)) is not None
                and created < chunk.since - 60
            ]
            if not page.has_more or not page.data or older:
                return None
            query = {"limit": "100", "after": page.data[-1].id}

    def retrieve(self, batch_id: str) -> Flow[BatchStatus]:
        """``GET /batches/{id}``."""
        response = yield self._request("GET", f"batches/{batch_id}")
        return _status(_batch(response))

    def cancel(self, batch_id: str) -> Flow[BatchStatus]:
        """``POST /batches/{id}/cancel``."""
        response = yield self._request("POST", f"batches/{batch_id}/cancel")
        return _status(_batch(response))

    def downloads(self, status: BatchStatus) -> list[Planned]:
        """The output and error files' contents."""
        files = [("output", status.output_file_id), ("error", status.error_file_id)]
        return [
            Planned(
                kind=kind,
                path=f"files/{file_id}/content",
                query=self.query,
                file_id=file_id,
            )
            for kind, file_id in files
            if file_id
        ]

    def file_size(self, file_id: str) -> Flow[int]:
        """``GET /files/{id}``: the file object's ``bytes``."""
        response = yield self._request("GET", f"files/{file_id}")
        size = decode_body(response, _FILE).bytes
        if size is None:
            raise ProtocolError(f"file {file_id} has no size")
        return size

    def delete_file(self, file_id: str) -> Flow[None]:
        """``DELETE /files/{id}``; a 404 means it is gone already."""
        response = yield self._request("DELETE", f"files/{file_id}")
        if response.status != 404:
            decode_body(response, _DELETED)


OPENAI = OpenAIBatches()
