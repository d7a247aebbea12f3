"""Mistral's batch jobs: create, get, list (by page number), cancel.

Wire shapes from PROVIDERS.md 6 and the ``mistralai`` SDK (``BatchJob``,
``ListBatchJobsResponse``, ``CreateBatchJobRequest``), served under ``/mistral``.
A job names its input files, endpoint and model; its lines are
``{"custom_id", "body"}``; its statuses are UPPERCASE; its results are an output
file and an error file, as OpenAI's (the shared batch machinery writes them).
Imports aiohttp, msgspec and stdlib only.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from ._batch import TERMINAL, Batch, View, advance, new_batch, new_plan
from ._http import MISTRAL_PREFIX, runtime, send_error, send_json
from ._intake import Intake, bucket_lines, finish_intake
from ._openai_batches import read_json
from ._plan import Buckets, Plan
from ._store import Store

STATES = {
    # our (OpenAI-vocabulary) batch status -> Mistral's
    "validating": "QUEUED",
    "in_progress": "RUNNING",
    "finalizing": "RUNNING",
    "cancelling": "CANCELLATION_REQUESTED",
    "completed": "SUCCESS",
    "failed": "FAILED",
    "expired": "TIMEOUT_EXCEEDED",
    "cancelled": "CANCELLED",
}
ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings")
"""The endpoints emulated (the API takes more: PROVIDERS.md 6)."""
MAX_REQUESTS = 100_000  # "Known limitations" (PROVIDERS.md 6)
MAX_FILE_BYTES = 512_000_000


class _Line(msgspec.Struct):
    custom_id: str
    body: msgspec.Raw


_decode_line = msgspec.json.Decoder(_Line).decode
_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def intake_mistral(source: Path, plan: Plan, stop: threading.Event) -> Intake | None:
    """Validate a Mistral input file and bucket its lines (in a worker thread).

    Returns:
        The intake (``errors`` set when the job must fail), or None when
        ``stop`` was set.
    """
    if source.stat().st_size > MAX_FILE_BYTES:
        message = f"The input file is larger than {MAX_FILE_BYTES} bytes."
        return Intake(errors=[{"code": "file_too_large", "message": message}])
    result = Intake(model=plan.model)

    def take(line: bytes, number: int, buckets: Buckets) -> None:
        result.count += 1
        if result.count > MAX_REQUESTS:
            return
        try:
            parsed = _decode_line(line)
            body = _decode_any(parsed.body)
        except msgspec.DecodeError:
            message = "Invalid line: not a JSON object with custom_id and body."
            result.errors.append({"message": message, "line": number})
            return
        if not isinstance(body, dict):
            message = "Invalid line: body must be an object."
            result.errors.append({"message": message, "line": number})
            return
        if plan.item_fails(parsed.custom_id):
            result.failing += 1
        buckets.add(number - 1, _encode(parsed.custom_id), bytes(parsed.body))

    paths = bucket_lines(source, plan, result, take, stop)
    return None if paths is None else finish_intake(result, paths, MAX_REQUESTS)


def _problem(store: Store, body: dict[str, Any]) -> str | None:
    files = body.get("input_files")
    if not isinstance(files, list) or len(files) != 1 or not isinstance(files[0], str):
        return "input_files: the emulator takes exactly one input file id."
    if body.get("endpoint") not in ENDPOINTS:
        return f"endpoint: the emulator supports {', '.join(ENDPOINTS)}."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: a model is required (agents are not emulated)."
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "metadata: must be an object."
    stored = store.find_file(files[0])
    if stored is None or stored.purpose != "batch":
        return f"input_files: no batch file {files[0]}."
    return None


def _errors(view: View) -> list[dict[str, Any]]:
    return [
        {
            "message": (f"line {e['line']}: " if e.get("line") else "")
            + str(e.get("message", "")),
            "count": 1,
        }
        for e in view.errors
    ]


def to_json(batch: Batch, store: Store) -> dict[str, Any]:
    """The wire BatchJob, as of now."""
    view = advance(batch, store)
    status = view.status
    terminal = status in TERMINAL
    total, done, failed = view.count, view.done, view.failed
    if terminal and batch.written is not None:
        counts = batch.written.counts
        total = sum(counts.values())
        done = counts["ok"] + counts["error"]
        failed = counts["error"]
    started = status not in ("validating", "failed")
    timings = store.config.timings
    return {
        "id": batch.id,
        "object": "batch",
        "input_files": [batch.input_file_id],
        "metadata": batch.metadata,
        "endpoint": batch.plan.endpoint,
        "model": batch.plan.model,
        "agent_id": None,
        "output_file": batch.output_file_id if terminal else None,
        "error_file": batch.error_file_id if terminal else None,
        "errors": _errors(view),
        "outputs": None,
        "status": STATES[status],
        "created_at": int(batch.created),
        "total_requests": total,
        "completed_requests": done,
        "succeeded_requests": done - failed,
        "failed_requests": failed,
        "started_at": int(batch.created + timings.validating) if started else None,
        "completed_at": int(batch.ended_at)
        if terminal and batch.ended_at is not None
        else None,
    }


async def create(request: web.Request) -> web.StreamResponse:
    """``POST /v1/batch/jobs`` (input files only; inline requests not emulated)."""
    store = runtime(request).store
    body = await read_json(request)
    if body is None:
        return await send_error(request, 422, "The request body is not a JSON object.")
    problem = _problem(store, body)
    if problem is not None:
        return await send_error(request, 422, problem)
    job_id = str(uuid.uuid4())
    plan = new_plan(store, "mistral", job_id, body["endpoint"], model=body["model"])
    source = store.files[body["input_files"][0]].path
    intake = store.run(intake_mistral, source, plan, store.stop)
    metadata = body.get("metadata")
    batch = new_batch(
        store,
        plan,
        intake,
        input_file_id=body["input_files"][0],
        metadata={str(k): str(v) for k, v in metadata.items()} if metadata else None,
    )
    store.batches[batch.id] = batch
    return await send_json(request, to_json(batch, store))


def _found(request: web.Request) -> Batch | None:
    batch = runtime(request).store.batches.get(request.match_info["job_id"])
    return batch if batch is not None and batch.plan.provider == "mistral" else None


async def retrieve(request: web.Request) -> web.StreamResponse:
    """``GET /v1/batch/jobs/{job_id}``."""
    batch = _found(request)
    if batch is None:
        message = f"Batch job {request.match_info['job_id']} not found."
        return await send_error(request, 404, message)
    return await send_json(request, to_json(batch, runtime(request).store))


async def cancel(request: web.Request) -> web.StreamResponse:
    """``POST /v1/batch/jobs/{job_id}/cancel`` (an ended job is left as it is)."""
    store = runtime(request).store
    batch = _found(request)
    if batch is None:
        message = f"Batch job {request.match_info['job_id']} not found."
        return await send_error(request, 404, message)
    if advance(batch, store).status not in TERMINAL and batch.cancel_at is None:
        batch.cancel_at = store.clock.now()
    return await send_json(request, to_json(batch, store))


async def listing(request: web.Request) -> web.StreamResponse:
    """``GET /v1/batch/jobs?page=&page_size=&order_by=`` (newest first by default)."""
    store = runtime(request).store
    page, size = request.query.get("page", "0"), request.query.get("page_size", "100")
    if not page.isdigit() or not size.isdigit() or not 1 <= int(size) <= 1000:
        return await send_error(request, 422, "page and page_size must be integers.")
    jobs = [b for b in store.batches.values() if b.plan.provider == "mistral"]
    if request.query.get("order_by", "-created") == "-created":
        jobs.reverse()
    start = int(page) * int(size)
    data = [to_json(b, store) for b in jobs[start : start + int(size)]]
    return await send_json(
        request, {"object": "list", "data": data, "total": len(jobs)}
    )


def add_routes(app: web.Application) -> None:
    """Register the batch jobs routes under ``/mistral``."""
    base = MISTRAL_PREFIX + "/v1/batch/jobs"
    app.router.add_post(base, create)
    app.router.add_get(base, listing)
    app.router.add_get(base + "/{job_id}", retrieve)
    app.router.add_post(base + "/{job_id}/cancel", cancel)
