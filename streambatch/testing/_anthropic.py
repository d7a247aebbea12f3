"""The Anthropic Message Batches API: create, retrieve, list, cancel, delete, results.

Wire shapes from PROVIDERS.md 4. The create body (up to 256 MB) is spooled to
disk as it arrives and parsed from a memory map. Imports aiohttp and stdlib.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from aiohttp import web

from ._batch import TERMINAL, Batch, advance, new_batch, new_plan
from ._http import abort, runtime, send_error, send_file, send_json
from ._intake import Intake, intake_anthropic
from ._plan import Plan
from ._store import Store

_WINDOW = 86_400
_TOO_LARGE = "Request exceeds the maximum allowed number of bytes."


def _stamp(unix: float | None) -> str | None:
    if unix is None:
        return None
    text = datetime.fromtimestamp(unix, UTC).isoformat()
    return text.replace("+00:00", "Z")


def to_json(batch: Batch, store: Store, origin: str) -> dict[str, Any]:
    """The wire MessageBatch object, as of now."""
    view = advance(batch, store)
    ended = view.status in TERMINAL
    counts = dict.fromkeys(
        ("processing", "succeeded", "errored", "canceled", "expired"), 0
    )
    if ended and batch.written is not None:
        for kind in ("succeeded", "errored", "canceled", "expired"):
            counts[kind] = batch.written.counts[kind]
    else:
        counts["processing"] = view.count
    status = "ended" if ended else "in_progress"
    if view.status == "cancelling":
        status = "canceling"
    results = f"{origin}/v1/messages/batches/{batch.id}/results"
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": status,
        "request_counts": counts,
        "created_at": _stamp(batch.created),
        "expires_at": _stamp(batch.created + _WINDOW),
        "ended_at": _stamp(batch.ended_at) if ended else None,
        "cancel_initiated_at": _stamp(batch.cancel_at),
        "archived_at": None,
        "results_url": results if ended else None,
    }


async def _spool(request: web.Request, path: Path, limit: int) -> int | None:
    """Copy the request body to ``path``; None when it passes ``limit``."""
    state = runtime(request)
    drop_at = state.drop_point(request.content_length)
    loop = asyncio.get_running_loop()
    path.parent.mkdir(parents=True, exist_ok=True)
    file: BinaryIO = await loop.run_in_executor(None, path.open, "wb")
    size = 0
    try:
        async for chunk in request.content.iter_chunked(262_144):
            size += len(chunk)
            if drop_at is not None and size >= drop_at:
                abort(request)
                raise ConnectionResetError("dropped by the emulator")
            if size > limit:
                return None
            await loop.run_in_executor(None, file.write, chunk)
    finally:
        await loop.run_in_executor(None, file.close)
    return size


async def create(request: web.Request) -> web.StreamResponse:
    """``POST /v1/messages/batches``."""
    store = runtime(request).store
    limit = store.config.limits.anthropic_max_body_bytes
    if (request.content_length or 0) > limit:
        return await send_error(request, 413, _TOO_LARGE)
    batch_id = store.new_id("msgbatch_")
    plan = new_plan(store, "anthropic", batch_id, "/v1/messages")
    spool = plan.work_dir / "request.json"
    try:
        size = await _spool(request, spool, limit)
        if size is None:
            return await send_error(request, 413, _TOO_LARGE)
        max_requests = store.config.limits.anthropic_max_requests
        result = await store.run(intake_anthropic, spool, plan, max_requests)
    finally:
        spool.unlink(missing_ok=True)
    if isinstance(result, str):
        await asyncio.get_running_loop().run_in_executor(
            None, shutil.rmtree, plan.work_dir, True
        )
        return await send_error(request, 400, result)
    batch = _new_batch(store, plan, result)
    store.batches[batch_id] = batch
    return await send_json(request, to_json(batch, store, str(request.url.origin())))


def _new_batch(store: Store, plan: Plan, result: Intake) -> Batch:
    intake: asyncio.Future[Intake | None] = asyncio.get_running_loop().create_future()
    intake.set_result(result)
    return new_batch(store, plan, intake)


async def _found(request: web.Request) -> Batch | web.StreamResponse:
    batch_id = request.match_info["batch_id"]
    batch = runtime(request).store.batches.get(batch_id)
    if batch is None or batch.deleted or batch.plan.provider != "anthropic":
        return await send_error(request, 404, f"No batch found with id '{batch_id}'.")
    return batch


async def retrieve(request: web.Request) -> web.StreamResponse:
    """``GET /v1/messages/batches/{batch_id}``."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    origin = str(request.url.origin())
    return await send_json(request, to_json(found, runtime(request).store, origin))


async def cancel(request: web.Request) -> web.StreamResponse:
    """``POST /v1/messages/batches/{batch_id}/cancel``."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    store = runtime(request).store
    if advance(found, store).status not in TERMINAL and found.cancel_at is None:
        found.cancel_at = store.clock.now()
    return await send_json(request, to_json(found, store, str(request.url.origin())))


async def delete(request: web.Request) -> web.StreamResponse:
    """``DELETE /v1/messages/batches/{batch_id}``: only once ended."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    store = runtime(request).store
    if advance(found, store).status not in TERMINAL:
        message = (
            f"Batch {found.id} cannot be deleted while processing; cancel it first."
        )
        return await send_error(request, 400, message)
    found.deleted = True
    await asyncio.get_running_loop().run_in_executor(
        None, shutil.rmtree, store.work_dir(found.id), True
    )
    if found.output_file_id is not None:
        store.file_path(found.output_file_id).unlink(missing_ok=True)
    return await send_json(request, {"id": found.id, "type": "message_batch_deleted"})


async def results(request: web.Request) -> web.StreamResponse:
    """``GET /v1/messages/batches/{batch_id}/results``: streamed JSONL, Range-aware."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    store = runtime(request).store
    if advance(found, store).status not in TERMINAL or found.output_file_id is None:
        message = f"Batch {found.id} has not ended yet; its results are not available."
        return await send_error(request, 400, message)
    path = store.file_path(found.output_file_id)
    size = found.written.output_bytes if found.written else 0
    etag = f'"{found.output_file_id}"'
    return await send_file(request, path, size, etag, "application/x-jsonl")


def _page(items: list[Batch], query: Any) -> tuple[list[Batch], bool]:
    ids = [b.id for b in items]
    limit = int(query.get("limit", "20"))
    if "before_id" in query:
        newer = (
            items[: ids.index(query["before_id"])] if query["before_id"] in ids else []
        )
        return newer[-limit:], len(newer) > limit
    if "after_id" in query:
        items = (
            items[ids.index(query["after_id"]) + 1 :]
            if query["after_id"] in ids
            else []
        )
    return items[:limit], len(items) > limit


async def listing(request: web.Request) -> web.StreamResponse:
    """``GET /v1/messages/batches?before_id=&after_id=&limit=``, newest first."""
    store = runtime(request).store
    limit = request.query.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        return await send_error(
            request, 400, "limit: Input should be between 1 and 1000"
        )
    items = [
        b
        for b in store.batches.values()
        if b.plan.provider == "anthropic" and not b.deleted
    ][::-1]
    page, more = _page(items, request.query)
    origin = str(request.url.origin())
    return await send_json(
        request,
        {
            "data": [to_json(b, store, origin) for b in page],
            "has_more": more,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
        },
    )


def add_routes(app: web.Application) -> None:
    """Register the Message Batches routes."""
    base = "/v1/messages/batches"
    app.router.add_post(base, create)
    app.router.add_get(base, listing)
    app.router.add_get(base + "/{batch_id}", retrieve)
    app.router.add_delete(base + "/{batch_id}", delete)
    app.router.add_post(base + "/{batch_id}/cancel", cancel)
    app.router.add_get(base + "/{batch_id}/results", results)
