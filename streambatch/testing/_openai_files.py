"""The OpenAI Files API: upload (streamed to disk), retrieve, list, content, delete.

Wire shapes from PROVIDERS.md 2.2. Imports aiohttp and stdlib only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

from aiohttp import BodyPartReader, web

from ._http import abort, openai_page, runtime, send_error, send_file, send_json
from ._store import StoredFile

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
_READ = 262_144


class _Dropped(Exception):
    """The drop-mid-upload fault cut the connection."""


class _TooLarge(Exception):
    """The upload passed the size limit."""


async def _save(
    part: BodyPartReader, path: Path, limit: int, drop_at: int | None
) -> int:
    """Stream one multipart part to ``path``; return its size."""
    loop = asyncio.get_running_loop()
    file: BinaryIO = await loop.run_in_executor(None, path.open, "wb")
    size = 0
    try:
        while chunk := await part.read_chunk(_READ):
            size += len(chunk)
            if drop_at is not None and size >= drop_at:
                raise _Dropped
            if size > limit:
                raise _TooLarge
            await loop.run_in_executor(None, file.write, chunk)
    finally:
        await loop.run_in_executor(None, file.close)
    return size


async def _read_form(
    request: web.Request, path: Path
) -> tuple[dict[str, str], str | None, int]:
    """Read every multipart field; stream the ``file`` field to ``path``."""
    state = runtime(request)
    drop_at = state.drop_point(request.content_length)
    fields: dict[str, str] = {}
    filename, size = None, 0
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ValueError("nested multipart is not supported")
        if part.name == "file":
            filename = part.filename or "upload"
            limit = state.store.config.limits.openai_max_file_bytes
            size = await _save(part, path, limit, drop_at)
        elif part.name:
            fields[part.name] = (await part.read(decode=True))[:4096].decode()
    return fields, filename, size


async def read_form(
    request: web.Request, file_id: str
) -> tuple[dict[str, str], str | None, int] | web.StreamResponse:
    """Read an upload's fields, its ``file`` streamed to the store as ``file_id``;
    or the answer to a dropped, oversized or malformed body (nothing kept)."""
    path = runtime(request).store.file_path(file_id)
    try:
        return await _read_form(request, path)
    except _Dropped:
        path.unlink(missing_ok=True)
        abort(request)
        return web.Response(status=400)
    except _TooLarge:
        path.unlink(missing_ok=True)
        return await send_error(request, 400, "File is too large.")
    except ValueError as exc:
        path.unlink(missing_ok=True)
        return await send_error(request, 400, f"Invalid multipart body: {exc}")


def _form_problem(
    fields: dict[str, str], filename: str | None, azure: bool = False
) -> str | None:
    purpose = fields.get("purpose")
    if purpose is None:
        return "Missing required parameter: 'purpose'."
    if purpose not in PURPOSES:
        return f"'{purpose}' is not one of {list(PURPOSES)} - 'purpose'"
    if filename is None:
        return "Missing required parameter: 'file'."
    if purpose == "batch" and not filename.endswith(".jsonl"):
        return "Invalid file format for Batch API. Must be .jsonl"
    # Azure's docs spell the fields with dots, the SDK with brackets; Azure
    # allows 14 to 30 days (PROVIDERS.md 3), OpenAI 1 hour to 30 days (2.2).
    seconds = fields.get("expires_after[seconds]", fields.get("expires_after.seconds"))
    least = 1_209_600 if azure else 3600
    if seconds is not None and not (
        seconds.isdigit() and least <= int(seconds) <= 2_592_000
    ):
        return f"expires_after[seconds] must be an integer between {least} and 2592000."
    return None


async def upload(request: web.Request) -> web.StreamResponse:
    """``POST /v1/files``."""
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
    problem = _form_problem(fields, filename, request.path.startswith("/azure/"))
    if problem is not None or filename is None:
        path.unlink(missing_ok=True)
        return await send_error(request, 400, problem or "Missing file.")
    stored = StoredFile(
        id=file_id,
        filename=filename,
        purpose=fields["purpose"],
        bytes=size,
        created_at=store.now(),
        path=path,
        visible_at=store.clock.monotonic() + state.faults.invisible_file_seconds,
    )
    store.add_file(stored)
    return await send_json(request, stored.to_json())


async def _found(request: web.Request) -> StoredFile | web.StreamResponse:
    file_id = request.match_info["file_id"]
    stored = runtime(request).store.find_file(file_id)
    if stored is None:
        return await send_error(
            request, 404, f"No such File object: {file_id}", param="id"
        )
    return stored


async def retrieve(request: web.Request) -> web.StreamResponse:
    """``GET /v1/files/{file_id}``."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    return await send_json(request, found.to_json())


async def content(request: web.Request) -> web.StreamResponse:
    """``GET /v1/files/{file_id}/content``: streamed from disk, Range-aware."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    return await send_content(request, found)


async def send_content(request: web.Request, found: StoredFile) -> web.StreamResponse:
    """A stored file's bytes (Range-aware): the Files APIs that serve them alike."""
    etag = f'"{found.id}"'
    return await send_file(
        request, found.path, found.bytes, etag, "application/octet-stream"
    )


async def delete(request: web.Request) -> web.StreamResponse:
    """``DELETE /v1/files/{file_id}``."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    return await delete_file(request, found)


async def delete_file(request: web.Request, found: StoredFile) -> web.StreamResponse:
    """Delete a stored file; answer as OpenAI's (and Mistral's) Files API do."""
    found.deleted = True
    await asyncio.get_running_loop().run_in_executor(None, found.path.unlink, True)
    return await send_json(request, {"id": found.id, "object": "file", "deleted": True})


async def listing(request: web.Request) -> web.StreamResponse:
    """``GET /v1/files`` with ``purpose``, ``order``, ``after`` and ``limit``."""
    query = request.query
    store = runtime(request).store
    now = store.clock.monotonic()
    files = [f for f in store.files.values() if f.visible(now)]
    if "purpose" in query:
        files = [f for f in files if f.purpose == query["purpose"]]
    if query.get("order", "desc") == "desc":
        files.reverse()
    ids = [f.id for f in files]
    if "after" in query:
        files = files[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
    limit = query.get("limit", "10000")
    if not limit.isdigit() or not 1 <= int(limit) <= 10_000:
        return await send_error(request, 400, "limit must be between 1 and 10000.")
    page = files[: int(limit)]
    data = [f.to_json() for f in page]
    more = len(files) > len(page)
    return await send_json(request, openai_page(data, [f.id for f in page], more))


def add_routes(app: web.Application) -> None:
    """Register the Files API routes."""
    app.router.add_post("/v1/files", upload)
    app.router.add_get("/v1/files", listing)
    app.router.add_get("/v1/files/{file_id}", retrieve)
    app.router.add_get("/v1/files/{file_id}/content", content)
    app.router.add_delete("/v1/files/{file_id}", delete)
