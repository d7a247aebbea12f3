"""Gemini's (Developer API) Files and batch mode, as pure flows.

Wire shapes from PROVIDERS.md 5, checked against the google-genai SDK. The base URL
is the host (``https://generativelanguage.googleapis.com``); paths carry the API
version (``v1beta/...``, ``upload/v1beta/files``, ``download/v1beta/...``). The key
travels in the ``x-goog-api-key`` header, never in a URL.

- Upload: the resumable protocol. A ``start`` request announces the size and gets
  a session URL (``x-goog-upload-url``); the file is then sent from disk in one
  ``upload, finalize`` request. If that does not end the session (``final``), the
  session is asked how much it holds (``query``) and the rest is sent from there;
  a session that cannot say is abandoned and the upload starts over.
- Batches are operations, ``batches/{id}``; ``BatchStatus.id`` is the bare id (it
  names files in the job directory). A batch's display name carries the chunk's
  tag, so an interrupted create is found again by listing.
- States arrive as ``BATCH_STATE_*`` (the wire) or ``JOB_STATE_*`` (the SDK's and
  the docs' spelling); both are read. Counts are int64, sent as JSON strings.
- Results: the responses file, streamed from ``download/v1beta/{file}:download``.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from .._core.flow import (
    FileBytes,
    FileSize,
    Flow,
    HttpRequest,
    HttpResponse,
    decode_body,
    status_error,
)
from .._errors import AuthenticationError, ProtocolError
from .batches import BatchState, BatchStatus, ChunkRef, Planned

__all__ = ("GEMINI", "display_name")

T = TypeVar("T")

_VERSION = "v1beta"
_MAX_SESSIONS = 3  # upload sessions tried before giving up
_MAX_RESUMES = 5  # resumes of one session

_STATES: dict[str, BatchState] = {
    "UNSPECIFIED": BatchState.VALIDATING,
    "PENDING": BatchState.VALIDATING,
    "QUEUED": BatchState.VALIDATING,
    "RUNNING": BatchState.IN_PROGRESS,
    "PAUSED": BatchState.IN_PROGRESS,
    "UPDATING": BatchState.IN_PROGRESS,
    "CANCELLING": BatchState.CANCELLING,
    "SUCCEEDED": BatchState.COMPLETED,
    "PARTIALLY_SUCCEEDED": BatchState.COMPLETED,
    "FAILED": BatchState.FAILED,
    "CANCELLED": BatchState.CANCELLED,
    "EXPIRED": BatchState.EXPIRED,
}

Count = int | str | None


class _File(msgspec.Struct, rename="camel"):
    name: str
    size_bytes: Count = None


class _Uploaded(msgspec.Struct):
    file: _File


class _Stats(msgspec.Struct, rename="camel"):
    request_count: Count = None
    successful_request_count: Count = None
    failed_request_count: Count = None


class _Output(msgspec.Struct, rename="camel"):
    responses_file: str | None = None


class _Metadata(msgspec.Struct, rename="camel"):
    display_name: str | None = None
    state: str | None = None
    batch_stats: _Stats | None = None
    output: _Output | None = None


class _Status(msgspec.Struct):
    code: int | None = None
    message: str | None = None


class _Operation(msgspec.Struct):
    name: str
    metadata: _Metadata = msgspec.field(default_factory=_Metadata)
    done: bool = False
    response: _Output | None = None
    error: _Status | None = None


class _Page(msgspec.Struct, rename="camel"):
    operations: list[_Operation] = []
    next_page_token: str | None = None


_UPLOADED = msgspec.json.Decoder(_Uploaded)
_FILE = msgspec.json.Decoder(_File)
_OPERATION = msgspec.json.Decoder(_Operation)
_PAGE = msgspec.json.Decoder(_Page)


def _refused(response: HttpResponse) -> Exception:
    """The error of a non-2xx answer. Google answers a bad key with a 400
    (``API_KEY_INVALID``): that is an authentication error, as a 401 is."""
    if response.status == 400 and (
        b"API_KEY_INVALID" in response.body or b"API key not valid" in response.body
    ):
        text = response.body.decode("utf-8", "replace")
        return AuthenticationError(response.status, text)
    return status_error(response.status, response.body)


def _ok(response: HttpResponse) -> None:
    """Raise the status's error unless it is 2xx (the body is not read)."""
    if not 200 <= response.status < 300:
        raise _refused(response)


def _decode(response: HttpResponse, decoder: msgspec.json.Decoder[T]) -> T:
    """As ``decode_body``, with a bad key's 400 read as an authentication error."""
    _ok(response)
    return decode_body(response, decoder)


def display_name(tag: dict[str, str]) -> str:
    """The display name that carries a chunk's tag: ``k=v`` pairs, sorted."""
    return ";".join(f"{key}={value}" for key, value in sorted(tag.items()))


def _count(value: Count) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ProtocolError(f"a batch count is not a number: {value!r}") from None


def _bare(name: str) -> str:
    return name.removeprefix("batches/")


def _state(operation: _Operation) -> tuple[BatchState, str]:
    raw = operation.metadata.state
    if raw is None:  # an operation without metadata: only "done" says anything
        if not operation.done:
            return BatchState.VALIDATING, ""
        ended = BatchState.FAILED if operation.error else BatchState.COMPLETED
        return ended, ""
    name = raw.removeprefix("BATCH_STATE_").removeprefix("JOB_STATE_")
    return _STATES.get(name, BatchState.IN_PROGRESS), raw


def _status(operation: _Operation) -> BatchStatus:
    state, raw = _state(operation)
    stats = operation.metadata.batch_stats or _Stats()
    output = operation.metadata.output or operation.response or _Output()
    errors = []
    if operation.error is not None:
        error = operation.error
        errors.append(
            f"{error.code if error.code is not None else 'error'}: "
            f"{error.message or ''}"
        )
    return BatchStatus(
        id=_bare(operation.name),
        state=state,
        raw_state=raw,
        total=_count(stats.request_count),
        succeeded=_count(stats.successful_request_count),
        failed=_count(stats.failed_request_count),
        output_file_id=output.responses_file,
        errors=errors,
    )


class GeminiBatches:
    """The Gemini Developer API's batch mode."""

    name = "gemini"
    default_base_url = "https://generativelanguage.googleapis.com"
    key_env = "GEMINI_API_KEY"
    uploads = True
    tags = True

    def auth_headers(self, key: str) -> dict[str, str]:
        """The key in ``x-goog-api-key``."""
        return {"x-goog-api-key": key}

    def upload(self, chunk: ChunkRef) -> Flow[str]:
        """Upload the chunk with the resumable protocol; return ``files/{id}``."""
        for _ in range(_MAX_SESSIONS):
            url = yield from self._start(chunk)
            name = yield from self._send(chunk, url)
            if name is not None:
                return name
        raise ProtocolError(f"{chunk.path}: the upload did not complete")

    def _start(self, chunk: ChunkRef) -> Flow[str]:
        body = {"file": {"displayName": display_name(chunk.tag)}}
        response = yield HttpRequest(
            method="POST",
            path=f"upload/{_VERSION}/files",
            json=msgspec.Raw(msgspec.json.encode(body)),
            headers={
                "X-Goog-Upload-Protocol": "resumable",
                "X-Goog-Upload-Command": "start",
                "X-Goog-Upload-Header-Content-Type": "application/jsonl",
            },
            size_header=FileSize(
                path=chunk.path, header="X-Goog-Upload-Header-Content-Length"
            ),
        )
        _ok(response)
        url = response.headers.get("x-goog-upload-url")
        if not url:
            raise ProtocolError("the upload start gave no x-goog-upload-url")
        return url

    def _send(self, chunk: ChunkRef, url: str) -> Flow[str | None]:
        """Send the file from offset 0, resuming where the session says it is;
        None when the session is lost (the caller starts a new one)."""
        offset = 0
        for _ in range(_MAX_RESUMES):
            response = yield HttpRequest(
                method="POST",
                path=url,
                upload=FileBytes(path=chunk.path, offset=offset),
                headers={
                    "X-Goog-Upload-Command": "upload, finalize",
                    "X-Goog-Upload-Offset": str(offset),
                },
            )
            if response.status < 300:
                if response.headers.get("x-goog-upload-status") == "final":
                    return _decode(response, _UPLOADED).file.name
            elif response.status < 500 and "x-goog-upload-status" not in (
                response.headers
            ):
                _ok(response)  # a refusal, not a protocol state
            query = yield HttpRequest(
                method="POST", path=url, headers={"X-Goog-Upload-Command": "query"}
            )
            status = query.headers.get("x-goog-upload-status")
            received = query.headers.get("x-goog-upload-size-received", "")
            if query.status < 300 and status == "final":
                return _decode(query, _UPLOADED).file.name
            if query.status >= 300 or status != "active" or not received.isdigit():
                return None
            offset = int(received)
        return None

    def create(self, chunk: ChunkRef, file_id: str | None) -> Flow[str]:
        """``POST v1beta/models/{model}:batchGenerateContent``; return the id."""
        if chunk.endpoint is None or file_id is None:
            raise ProtocolError(f"{chunk.path}: a Gemini chunk needs a model and file")
        body = {
            "batch": {
                "displayName": display_name(chunk.tag),
                "inputConfig": {"fileName": file_id},
            }
        }
        response = yield HttpRequest(
            method="POST",
            path=f"{_VERSION}/{chunk.endpoint}",
            json=msgspec.Raw(msgspec.json.encode(body)),
            idempotent=False,
        )
        return _bare(_decode(response, _OPERATION).name)

    def find(self, chunk: ChunkRef, known: frozenset[str]) -> Flow[str | None]:
        """Page through every batch for one whose display name is the tag's.

        The listing's order is not documented, so every page is read.
        """
        wanted = display_name(chunk.tag)
        query = {"pageSize": "100"}
        while True:
            response = yield HttpRequest(
                method="GET", path=f"{_VERSION}/batches", query=query
            )
            page = _decode(response, _PAGE)
            for operation in page.operations:
                found = _bare(operation.name)
                if operation.metadata.display_name == wanted and found not in known:
                    return found
            if not page.next_page_token:
                return None
            query = {"pageSize": "100", "pageToken": page.next_page_token}

    def retrieve(self, batch_id: str) -> Flow[BatchStatus]:
        """``GET v1beta/batches/{id}``."""
        response = yield HttpRequest(
            method="GET", path=f"{_VERSION}/batches/{batch_id}"
        )
        return _status(_decode(response, _OPERATION))

    def cancel(self, batch_id: str) -> Flow[BatchStatus]:
        """``POST v1beta/batches/{id}:cancel``, then the batch's status."""
        response = yield HttpRequest(
            method="POST", path=f"{_VERSION}/batches/{batch_id}:cancel"
        )
        _ok(response)
        return (yield from self.retrieve(batch_id))

    def delete(self, batch_id: str) -> Flow[None]:
        """``DELETE v1beta/batches/{id}``; a 404 means it is gone already."""
        response = yield HttpRequest(
            method="DELETE", path=f"{_VERSION}/batches/{batch_id}"
        )
        if response.status != 404:
            _ok(response)

    def downloads(self, status: BatchStatus) -> list[Planned]:
        """The responses file, if the batch has one.

        No size is asked for it: ``files.get`` has refused the long names of
        output files (PROVIDERS.md 5.7); the download's Content-Length is checked.
        """
        name = status.output_file_id
        if not name:
            return []
        path = f"download/{_VERSION}/{name}:download"
        return [Planned(kind="output", path=path, query={"alt": "media"})]

    def file_size(self, file_id: str) -> Flow[int]:
        """``GET v1beta/files/{id}``: the file's ``sizeBytes``."""
        response = yield HttpRequest(method="GET", path=f"{_VERSION}/{file_id}")
        size = _count(_decode(response, _FILE).size_bytes)
        if size is None:
            raise ProtocolError(f"file {file_id} has no size")
        return size

    def delete_file(self, file_id: str) -> Flow[None]:
        """``DELETE v1beta/files/{id}``; a 404 means it is gone already."""
        response = yield HttpRequest(method="DELETE", path=f"{_VERSION}/{file_id}")
        if response.status != 404:
            _ok(response)


GEMINI = GeminiBatches()
