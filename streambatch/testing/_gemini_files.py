"""The Gemini Files API: resumable uploads streamed to disk, get, delete, and the
download of generated files (batch responses files).

Wire shapes from PROVIDERS.md 5.3 and the google-genai SDK. Served under
``/gemini`` for both API versions (the SDK asks ``v1``, the docs say ``v1beta``).
The upload session URL is the credential for its own requests, as at Google.
Imports aiohttp and stdlib only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from aiohttp import web

from ._batch import TERMINAL, advance
from ._http import GEMINI_PREFIX, abort, runtime, send_error, send_file, send_json
from ._store import Store

_READ = 262_144
_TTL = 48 * 3600  # files are deleted after 48 hours (PROVIDERS.md 5.3)


def stamp(unix: float) -> str:
    """An RFC 3339 timestamp, as Google's APIs write them."""
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class GeminiFile:
    """One uploaded file."""

    name: str
    display_name: str
    mime_type: str
    size: int
    created: float
    path: Path
    deleted: bool = False

    def to_json(self, origin: str) -> dict[str, Any]:
        """The wire File object."""
        return {
            "name": self.name,
            "displayName": self.display_name,
            "mimeType": self.mime_type,
            "sizeBytes": str(self.size),
            "createTime": stamp(self.created),
            "updateTime": stamp(self.created),
            "expirationTime": stamp(self.created + _TTL),
            "uri": f"{origin}{GEMINI_PREFIX}/v1beta/{self.name}",
            "state": "ACTIVE",
            "source": "UPLOADED",
        }


@dataclass
class Session:
    """One resumable upload session."""

    path: Path
    declared: int | None
    mime_type: str
    display_name: str
    received: int = 0
    file: GeminiFile | None = None


@dataclass
class GeminiState:
    """What the Gemini routes keep beside the shared store."""

    files: dict[str, GeminiFile] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)


GEMINI = web.AppKey("gemini", GeminiState)


def gemini_state(request: web.Request) -> GeminiState:
    """The Gemini state of the app serving ``request``."""
    return request.app[GEMINI]


def _status_headers(session: Session) -> dict[str, str]:
    return {
        "X-Goog-Upload-Status": "final" if session.file else "active",
        "X-Goog-Upload-Size-Received": str(session.received),
    }


async def upload(request: web.Request) -> web.StreamResponse:
    """``POST /upload/{v}/files``: start a session, or upload to / query one."""
    if "upload_id" in request.query:
        return await _session_command(request)
    if request.headers.get("X-Goog-Upload-Protocol", "").lower() != "resumable":
        return await send_error(request, 400, "Only resumable uploads are emulated.")
    store = runtime(request).store
    declared_text = request.headers.get("X-Goog-Upload-Header-Content-Length", "")
    declared = int(declared_text) if declared_text.isdigit() else None
    if (declared or 0) > store.config.limits.gemini_max_file_bytes:
        return await send_error(request, 400, "The file is larger than 2 GB.")
    body = await request.read()
    meta: dict[str, Any] = {}
    if body.strip():
        meta = (await request.json()).get("file") or {}
    upload_id = store.new_id("", 16)
    session = Session(
        path=store.file_path(f"gemini-{upload_id}"),
        declared=declared,
        mime_type=request.headers.get("X-Goog-Upload-Header-Content-Type", "")
        or meta.get("mimeType", "application/octet-stream"),
        display_name=meta.get("displayName") or meta.get("display_name") or "",
    )
    gemini_state(request).sessions[upload_id] = session
    version = request.match_info["version"]
    url = (
        f"{request.url.origin()}{GEMINI_PREFIX}/upload/{version}/files"
        f"?upload_id={upload_id}&upload_protocol=resumable"
    )
    headers = {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"}
    return await send_json(request, {}, headers=headers)


async def _session_command(request: web.Request) -> web.StreamResponse:
    session = gemini_state(request).sessions.get(request.query["upload_id"])
    if session is None:
        return await send_error(request, 404, "The upload session was not found.")
    command = {
        part.strip().lower()
        for part in request.headers.get("X-Goog-Upload-Command", "").split(",")
    }
    if "query" in command or session.file is not None:
        return await _answer(request, session)
    if "upload" not in command:
        return await send_error(request, 400, "Unknown X-Goog-Upload-Command.")
    offset = request.headers.get("X-Goog-Upload-Offset", "")
    if not offset.isdigit() or int(offset) != session.received:
        headers = _status_headers(session)
        message = f"Invalid upload offset {offset!r}: {session.received} received."
        return await send_error(request, 400, message, headers=headers)
    if await _append(request, session) is None:
        return await send_error(request, 400, "The file is larger than 2 GB.")
    if "finalize" not in command:
        return await _answer(request, session)
    if session.declared is not None and session.received != session.declared:
        message = f"{session.received} bytes uploaded, {session.declared} announced."
        return await send_error(request, 400, message, headers=_status_headers(session))
    _finalize(runtime(request).store, gemini_state(request), session)
    return await _answer(request, session)


async def _answer(request: web.Request, session: Session) -> web.StreamResponse:
    headers = _status_headers(session)
    if session.file is None:
        return await send_json(request, {}, headers=headers)
    body = {"file": session.file.to_json(str(request.url.origin()))}
    return await send_json(request, body, headers=headers)


async def _append(request: web.Request, session: Session) -> int | None:
    """Append the request body to the session's file; None past the size limit.

    A drop-mid-upload fault keeps what arrived, then cuts the connection.
    """
    state = runtime(request)
    limit = state.store.config.limits.gemini_max_file_bytes
    drop_at = state.drop_point(request.content_length)
    loop = asyncio.get_running_loop()
    file: BinaryIO = await loop.run_in_executor(None, session.path.open, "ab")
    size = 0
    try:
        async for chunk in request.content.iter_chunked(_READ):
            if drop_at is not None and size + len(chunk) >= drop_at:
                chunk = chunk[: drop_at - size]
                await loop.run_in_executor(None, file.write, chunk)
                session.received += len(chunk)
                abort(request)
                raise ConnectionResetError("dropped by the emulator")
            size += len(chunk)
            if session.received + len(chunk) > limit:
                return None
            await loop.run_in_executor(None, file.write, chunk)
            session.received += len(chunk)
    finally:
        await loop.run_in_executor(None, file.close)
    return size


def _finalize(store: Store, state: GeminiState, session: Session) -> None:
    name = f"files/{store.new_id('', 12)}"
    session.file = GeminiFile(
        name=name,
        display_name=session.display_name,
        mime_type=session.mime_type,
        size=session.received,
        created=store.clock.now(),
        path=session.path,
    )
    state.files[name] = session.file


async def get_file(request: web.Request) -> web.StreamResponse:
    """``GET /{v}/files/{name}``."""
    name = "files/" + request.match_info["name"]
    found = gemini_state(request).files.get(name)
    if found is None or found.deleted:
        return await send_error(request, 404, f"File {name} not found.")
    return await send_json(request, found.to_json(str(request.url.origin())))


async def delete_file(request: web.Request) -> web.StreamResponse:
    """``DELETE /{v}/files/{name}``."""
    name = "files/" + request.match_info["name"]
    found = gemini_state(request).files.get(name)
    if found is None or found.deleted:
        return await send_error(request, 404, f"File {name} not found.")
    found.deleted = True
    found.path.unlink(missing_ok=True)
    return await send_json(request, {})


async def download(request: web.Request) -> web.StreamResponse:
    """``GET /{v}/files/{name}:download?alt=media`` (the SDK's path) and
    ``GET /download/{v}/files/{name}:download?alt=media`` (the documented one):
    a batch's responses file, streamed, Range-aware."""
    name = request.match_info["name"]
    if "files/" + name in gemini_state(request).files:
        message = "Only generated files can be downloaded; this one was uploaded."
        return await send_error(request, 400, message)
    store = runtime(request).store
    batch = store.batches.get(name.removeprefix("batch-"))
    if (
        not name.startswith("batch-")
        or batch is None
        or batch.plan.provider != "gemini"
        or advance(batch, store).status not in TERMINAL
        or batch.output_file_id is None
        or batch.written is None
    ):
        return await send_error(request, 404, f"File files/{name} not found.")
    path = store.file_path(batch.output_file_id)
    size = batch.written.output_bytes
    return await send_file(request, path, size, f'"{name}"', "application/jsonl")


def add_routes(app: web.Application) -> None:
    """Register the Files routes for both API versions."""
    app[GEMINI] = GeminiState()
    base = GEMINI_PREFIX
    name = "{name:[^/:]+}"
    app.router.add_post(base + "/upload/{version}/files", upload)
    app.router.add_get(base + f"/download/{{version}}/files/{name}:download", download)
    app.router.add_get(base + f"/{{version}}/files/{name}:download", download)
    app.router.add_get(base + f"/{{version}}/files/{name}", get_file)
    app.router.add_delete(base + f"/{{version}}/files/{name}", delete_file)
