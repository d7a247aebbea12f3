"""Mistral's Files API: upload (streamed to disk), retrieve, content, delete.

Wire shapes from PROVIDERS.md 6 and the ``mistralai`` SDK (``CreateFileResponse``,
``DeleteFileResponse``), served under ``/mistral`` (the paths would collide with
OpenAI's). The files share the emulator's store with OpenAI's; a result file
answers as ``purpose: batch`` with ``sample_type`` ``batch_result`` or
``batch_error``. Imports aiohttp and stdlib only.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._http import MISTRAL_PREFIX, runtime, send_error, send_json
from ._openai_files import delete_file, read_form, send_content
from ._store import StoredFile

_PURPOSES = ("batch", "fine-tune", "ocr")


def to_json(stored: StoredFile) -> dict[str, Any]:
    """The wire file object."""
    result = stored.purpose == "batch_output"
    sample = "batch_request"
    if result:
        sample = (
            "batch_error"
            if stored.filename.endswith("_error.jsonl")
            else ("batch_result")
        )
    return {
        "id": stored.id,
        "object": "file",
        "bytes": stored.bytes,
        "created_at": stored.created_at,
        "filename": stored.filename,
        "purpose": "batch" if result else stored.purpose,
        "sample_type": sample,
        "source": "mistral" if result else "upload",
        "num_lines": None,
        "mimetype": "application/jsonl",
        "signature": None,
        "visibility": "workspace",
    }


async def upload(request: web.Request) -> web.StreamResponse:
    """``POST /v1/files``: multipart ``file`` and ``purpose``."""
    state = runtime(request)
    store = state.store
    if not request.content_type.startswith("multipart/form-data"):
        return await send_error(request, 400, "Expected a multipart/form-data body.")
    file_id = store.new_id("file-")
    path = store.file_path(file_id)
    read = await read_form(request, file_id)
    if isinstance(read, web.StreamResponse):
        return read
    fields, filename, size = read
    purpose = fields.get("purpose", "fine-tune")  # the API's default purpose
    problem = None
    if purpose not in _PURPOSES:
        problem = f"Invalid purpose '{purpose}': one of {list(_PURPOSES)}."
    elif filename is None:
        problem = "Field required: file."
    if problem is not None or filename is None:
        path.unlink(missing_ok=True)
        return await send_error(request, 422, problem or "Field required: file.")
    stored = StoredFile(
        id=file_id,
        filename=filename,
        purpose=purpose,
        bytes=size,
        created_at=store.now(),
        path=path,
        visible_at=store.clock.monotonic() + state.faults.invisible_file_seconds,
    )
    store.add_file(stored)
    return await send_json(request, to_json(stored))


async def _found(request: web.Request) -> StoredFile | web.StreamResponse:
    file_id = request.match_info["file_id"]
    stored = runtime(request).store.find_file(file_id)
    if stored is None:
        return await send_error(request, 404, f"File {file_id} not found.")
    return stored


async def retrieve(request: web.Request) -> web.StreamResponse:
    """``GET /v1/files/{file_id}``: the file object (metadata, not content)."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    return await send_json(request, to_json(found) | {"deleted": False})


async def content(request: web.Request) -> web.StreamResponse:
    """``GET /v1/files/{file_id}/content``: streamed from disk, Range-aware."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    return await send_content(request, found)


async def delete(request: web.Request) -> web.StreamResponse:
    """``DELETE /v1/files/{file_id}``."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    return await delete_file(request, found)


def add_routes(app: web.Application) -> None:
    """Register the Files API routes under ``/mistral``."""
    base = MISTRAL_PREFIX + "/v1/files"
    app.router.add_post(base, upload)
    app.router.add_get(base + "/{file_id}", retrieve)
    app.router.add_get(base + "/{file_id}/content", content)
    app.router.add_delete(base + "/{file_id}", delete)
