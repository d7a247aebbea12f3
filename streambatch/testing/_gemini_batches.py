"""The Gemini batch mode: batchGenerateContent, get, list, cancel, delete.

Wire shapes from PROVIDERS.md 5.4 and the google-genai SDK: a batch is an
operation ``batches/{id}`` whose ``metadata`` holds the state, the counts (int64,
so JSON strings) and the output, either a responses file or, for a batch of
inline requests, the responses themselves. Both camelCase and snake_case request
fields are read, as the service's proto-JSON parser does. Imports aiohttp, msgspec
and stdlib only.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from ._batch import TERMINAL, Batch, View, advance, new_batch, new_plan
from ._gemini_files import gemini_state, stamp
from ._gemini_lines import intake_file, intake_inline
from ._http import GEMINI_PREFIX, runtime, send_error, send_json
from ._intake import Intake
from ._store import Store

_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main."
STATES = {
    # our (OpenAI-vocabulary) batch status -> the Gemini state name
    "validating": "PENDING",
    "in_progress": "RUNNING",
    "finalizing": "RUNNING",
    "cancelling": "RUNNING",
    "completed": "SUCCEEDED",
    "failed": "FAILED",
    "expired": "EXPIRED",
    "cancelled": "CANCELLED",
}


@dataclass
class GeminiJob:
    """What a Gemini batch has beside the shared :class:`Batch`."""

    model: str
    display_name: str
    input_config: dict[str, Any]
    inline: dict[str, Any] | None = None  # key -> metadata, for inline requests


_JOBS = web.AppKey("gemini_jobs", dict[str, GeminiJob])


def _field(obj: dict[str, Any], camel: str) -> Any:
    """``obj[camel]``, or its snake_case spelling."""
    if camel in obj:
        return obj[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(snake)


def _counts(batch: Batch, view: View) -> dict[str, str]:
    total, done, failed = view.count, view.done, view.failed
    if view.status in TERMINAL and batch.written is not None:
        done = batch.written.counts["ok"] + batch.written.counts["error"]
        failed = batch.written.counts["error"]
    return {
        "requestCount": str(total),
        "successfulRequestCount": str(done - failed),
        "failedRequestCount": str(failed),
        "pendingRequestCount": str(max(total - done, 0)),
    }


def _inlined(batch: Batch, job: GeminiJob, store: Store) -> list[dict[str, Any]]:
    """The inline responses: read whole (an inline batch is under 20 MB)."""
    if batch.output_file_id is None or job.inline is None:
        return []
    out = []
    for line in store.file_path(batch.output_file_id).read_bytes().splitlines():
        item = msgspec.json.decode(line)
        key = item.pop("key")
        metadata = job.inline.get(key)
        out.append(item | ({"metadata": metadata} if metadata else {}))
    return out


def to_json(
    batch: Batch, job: GeminiJob, store: Store, *, listing: bool = False
) -> dict[str, Any]:
    """The wire operation, as of now (a listing leaves inline responses out)."""
    view = advance(batch, store)
    ended = view.status in TERMINAL
    state = store.config.gemini_state_prefix + STATES[view.status]
    name = f"batches/{batch.id}"
    metadata: dict[str, Any] = {
        "@type": _TYPE + "GenerateContentBatch",
        "name": name,
        "model": job.model,
        "displayName": job.display_name,
        "inputConfig": job.input_config,
        "createTime": stamp(batch.created),
        "updateTime": stamp(store.clock.now()),
        "batchStats": _counts(batch, view),
        "state": state,
    }
    operation: dict[str, Any] = {"name": name, "metadata": metadata, "done": ended}
    if ended:
        metadata["endTime"] = stamp(batch.ended_at or store.clock.now())
    output: dict[str, Any] | None = None
    if ended and batch.written is not None and view.status != "failed":
        if job.inline is None:
            output = {"responsesFile": f"files/batch-{batch.id}"}
        elif not listing:
            responses = _inlined(batch, job, store)
            output = {"inlinedResponses": {"inlinedResponses": responses}}
    if output is not None:
        metadata["output"] = output
        operation["response"] = {"@type": _TYPE + "GenerateContentBatchOutput"} | output
    if view.status == "failed":
        message = "; ".join(e.get("message", "") for e in view.errors) or "failed"
        operation["error"] = {"code": 3, "message": message}
    return operation


async def create(request: web.Request) -> web.StreamResponse:
    """``POST /{v}/models/{model}:batchGenerateContent``."""
    store = runtime(request).store
    limits = store.config.limits
    if (request.content_length or 0) > limits.gemini_max_inline_bytes:
        return await send_error(request, 400, "Request payload size exceeds 20 MB.")
    body = _field(await request.json(), "batch") or {}
    config = _field(body, "inputConfig") or {}
    model = "models/" + request.match_info["model"]
    batch_id = store.new_id("", 18)
    plan = new_plan(store, "gemini", batch_id, model)
    file_name = _field(config, "fileName")
    inline = _field(config, "requests")
    job = GeminiJob(model, _field(body, "displayName") or "", config)
    loop = asyncio.get_running_loop()
    intake: asyncio.Future[Intake | None]
    if file_name:
        found = gemini_state(request).files.get(file_name)
        if found is None or found.deleted:
            return await send_error(request, 404, f"File {file_name} not found.")
        max_requests = limits.gemini_max_requests
        intake = store.run(intake_file, found.path, plan, max_requests, store.stop)
    elif inline is not None:
        items = _field(inline, "requests") or []
        job.inline = {
            str((i.get("metadata") or {}).get("key", n)): i.get("metadata")
            for n, i in enumerate(items)
        }
        result = intake_inline(items, plan, limits.gemini_max_requests)
        intake = loop.create_future()
        intake.set_result(result)
        job.input_config = {"requests": {"requests": []}}  # not echoed back whole
    else:
        return await send_error(request, 400, "batch.input_config is required.")
    batch = new_batch(store, plan, intake)
    store.batches[batch_id] = batch
    request.app[_JOBS][batch_id] = job
    return await send_json(request, to_json(batch, job, store))


async def _found(request: web.Request) -> tuple[Batch, GeminiJob] | web.StreamResponse:
    batch_id = request.match_info["batch_id"]
    batch = runtime(request).store.batches.get(batch_id)
    job = request.app[_JOBS].get(batch_id)
    if batch is None or job is None or batch.deleted:
        return await send_error(request, 404, f"Batch batches/{batch_id} not found.")
    return batch, job


async def retrieve(request: web.Request) -> web.StreamResponse:
    """``GET /{v}/batches/{id}``."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    return await send_json(request, to_json(*found, runtime(request).store))


async def cancel(request: web.Request) -> web.StreamResponse:
    """``POST /{v}/batches/{id}:cancel``: an empty answer; the state follows."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    batch, store = found[0], runtime(request).store
    if advance(batch, store).status not in TERMINAL and batch.cancel_at is None:
        batch.cancel_at = store.clock.now()
    return await send_json(request, {})


async def delete(request: web.Request) -> web.StreamResponse:
    """``DELETE /{v}/batches/{id}``."""
    found = await _found(request)
    if isinstance(found, web.StreamResponse):
        return found
    batch, store = found[0], runtime(request).store
    batch.deleted = True
    if batch.generation is None or batch.generation.done():
        await asyncio.get_running_loop().run_in_executor(
            None, shutil.rmtree, store.work_dir(batch.id), True
        )
    return await send_json(request, {})


async def listing(request: web.Request) -> web.StreamResponse:
    """``GET /{v}/batches?pageSize=&pageToken=``, newest first."""
    store = runtime(request).store
    jobs = request.app[_JOBS]
    size_text = request.query.get("pageSize", "50")
    size = min(int(size_text), 1000) if size_text.isdigit() and size_text != "0" else 50
    start = int(request.query.get("pageToken") or 0)
    items = [
        (b, jobs[b.id])
        for b in reversed(store.batches.values())
        if b.id in jobs and not b.deleted
    ]
    page = items[start : start + size]
    body: dict[str, Any] = {
        "operations": [to_json(b, j, store, listing=True) for b, j in page]
    }
    if start + size < len(items):
        body["nextPageToken"] = str(start + size)
    return await send_json(request, body)


def add_routes(app: web.Application) -> None:
    """Register the batch routes for both API versions."""
    app[_JOBS] = {}
    base = GEMINI_PREFIX + "/{version}"
    one = base + "/batches/{batch_id:[^/:]+}"
    app.router.add_post(base + "/models/{model:[^/:]+}:batchGenerateContent", create)
    app.router.add_get(base + "/batches", listing)
    app.router.add_post(one + ":cancel", cancel)
    app.router.add_get(one, retrieve)
    app.router.add_delete(one, delete)
