"""The OpenAI Batches API: create, retrieve, list (newest first), cancel.

Wire shapes from PROVIDERS.md 2.4-2.7. Imports aiohttp and stdlib only.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._batch import TERMINAL, Batch, View, advance, new_batch, new_plan
from ._bodies import OPENAI_ENDPOINTS
from ._http import openai_page, runtime, send_error, send_json
from ._intake import intake_openai
from ._store import Store

_WINDOW = 86_400


async def read_json(request: web.Request) -> dict[str, Any] | None:
    """Decode a JSON object body, or None when it is not one."""
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _metadata_problem(metadata: object) -> str | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > 16:
        return "metadata must be an object with at most 16 pairs."
    for key, value in metadata.items():
        if len(key) > 64 or not isinstance(value, str) or len(value) > 512:
            return (
                "metadata keys are at most 64 characters, values 512-character strings."
            )
    return None


def _create_problem(store: Store, body: dict[str, Any]) -> tuple[str, str] | None:
    for name in ("input_file_id", "endpoint", "completion_window"):
        if not isinstance(body.get(name), str):
            return f"Missing required parameter: '{name}'.", name
    if body["endpoint"] not in OPENAI_ENDPOINTS:
        choices = ", ".join(OPENAI_ENDPOINTS)
        return f"Invalid 'endpoint': the emulator supports {choices}.", "endpoint"
    quirks = store.config.openai_quirks
    if body["completion_window"] != "24h" and "any_window" not in quirks:
        return (
            "Invalid 'completion_window': only '24h' is supported.",
            "completion_window",
        )
    problem = _metadata_problem(body.get("metadata"))
    return None if problem is None else (problem, "metadata")


def _new_batch(store: Store, body: dict[str, Any], azure: bool = False) -> Batch:
    batch_id = store.new_id("batch_", 16)
    plan = new_plan(store, "openai", batch_id, body["endpoint"])
    source = store.files[body["input_file_id"]].path
    limits = store.config.limits
    intake = store.run(
        intake_openai,
        source,
        plan,
        limits.azure_max_requests if azure else limits.openai_max_requests,
        limits.openai_max_batch_bytes,
        store.stop,
    )
    return new_batch(
        store,
        plan,
        intake,
        input_file_id=body["input_file_id"],
        metadata=body.get("metadata"),
    )


def _counts(batch: Batch, view: View) -> dict[str, int]:
    if view.status in TERMINAL and batch.written is not None:
        counts = batch.written.counts
        total = sum(counts.values())
        return {"total": total, "completed": counts["ok"], "failed": counts["error"]}
    done = view.done
    return {"total": view.count, "completed": done - view.failed, "failed": view.failed}


def to_json(batch: Batch, store: Store) -> dict[str, Any]:
    """The wire Batch object, as of now."""
    view = advance(batch, store)
    timings = store.config.timings
    created = int(batch.created)
    status = view.status
    started = status not in ("validating", "failed") and not (
        status in ("cancelling", "cancelled") and view.count == 0
    )
    span = timings.in_progress + timings.per_item * view.count
    terminal = status in TERMINAL
    ended = int(batch.ended_at) if terminal and batch.ended_at is not None else None
    model = None
    if (
        batch.intake.done()
        and not batch.intake.cancelled()
        and not batch.intake.exception()
    ):
        intake = batch.intake.result()
        model = intake.model if intake is not None else None
    return {
        "id": batch.id,
        "object": "batch",
        "endpoint": batch.plan.endpoint,
        "model": model,
        "errors": {"object": "list", "data": view.errors} if view.errors else None,
        "input_file_id": batch.input_file_id,
        "completion_window": "24h",
        "status": status,
        "output_file_id": batch.output_file_id if terminal else None,
        "error_file_id": batch.error_file_id if terminal else None,
        "created_at": created,
        "in_progress_at": int(created + timings.validating) if started else None,
        "expires_at": created + _WINDOW,
        "finalizing_at": (
            int(created + timings.validating + span)
            if status in ("finalizing", "completed")
            else None
        ),
        "completed_at": ended if status == "completed" else None,
        "failed_at": ended if status == "failed" else None,
        "expired_at": ended if status == "expired" else None,
        "cancelling_at": int(batch.cancel_at) if batch.cancel_at is not None else None,
        "cancelled_at": ended if status == "cancelled" else None,
        "request_counts": _counts(batch, view),
        "metadata": batch.metadata,
        "usage": None,
    }


async def create(request: web.Request) -> web.StreamResponse:
    """``POST /v1/batches``."""
    store = runtime(request).store
    body = await read_json(request)
    if body is None:
        return await send_error(request, 400, "The request body is not a JSON object.")
    problem = _create_problem(store, body)
    if problem is not None:
        return await send_error(request, 400, problem[0], param=problem[1])
    stored = store.find_file(body["input_file_id"])
    if stored is None:
        message = f"No such File object: {body['input_file_id']}"
        return await send_error(request, 404, message, param="input_file_id")
    if stored.purpose != "batch":
        message = "The input file must have been uploaded with purpose 'batch'."
        return await send_error(request, 400, message, param="input_file_id")
    batch = _new_batch(store, body, azure=request.path.startswith("/azure/"))
    store.batches[batch.id] = batch
    return await send_json(request, to_json(batch, store))


def _openai_batches(store: Store) -> list[Batch]:
    return [b for b in store.batches.values() if b.plan.provider == "openai"]


async def retrieve(request: web.Request) -> web.StreamResponse:
    """``GET /v1/batches/{batch_id}``."""
    store = runtime(request).store
    batch = store.batches.get(request.match_info["batch_id"])
    if batch is None or batch.plan.provider != "openai":
        message = f"No batch found with id '{request.match_info['batch_id']}'."
        return await send_error(request, 404, message)
    return await send_json(request, to_json(batch, store))


async def cancel(request: web.Request) -> web.StreamResponse:
    """``POST /v1/batches/{batch_id}/cancel``."""
    store = runtime(request).store
    batch = store.batches.get(request.match_info["batch_id"])
    if batch is None or batch.plan.provider != "openai":
        message = f"No batch found with id '{request.match_info['batch_id']}'."
        return await send_error(request, 404, message)
    status = advance(batch, store).status
    if status in TERMINAL:
        message = f"Cannot cancel a batch with status '{status}'."
        return await send_error(request, 409, message)
    if batch.cancel_at is None:
        batch.cancel_at = store.clock.now()
    return await send_json(request, to_json(batch, store))


async def listing(request: web.Request) -> web.StreamResponse:
    """``GET /v1/batches?after=&limit=``, newest first."""
    store = runtime(request).store
    limit = request.query.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        return await send_error(request, 400, "Invalid 'limit': must be 1 to 100.")
    batches = _openai_batches(store)[::-1]
    after = request.query.get("after")
    if after is not None:
        ids = [b.id for b in batches]
        batches = batches[ids.index(after) + 1 :] if after in ids else []
    page = batches[: int(limit)]
    data = [to_json(b, store) for b in page]
    more = len(batches) > len(page)
    return await send_json(request, openai_page(data, [b.id for b in page], more))


def add_routes(app: web.Application) -> None:
    """Register the Batches API routes."""
    app.router.add_post("/v1/batches", create)
    app.router.add_get("/v1/batches", listing)
    app.router.add_get("/v1/batches/{batch_id}", retrieve)
    app.router.add_post("/v1/batches/{batch_id}/cancel", cancel)
