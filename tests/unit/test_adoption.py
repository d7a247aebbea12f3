"""Adoption's pure parts: the first manifest, and reading a foreign batch from
the provider's literal answer (flows stepped by hand)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from streambatch._core.adoption import (
    AdoptedInput,
    FirstStatus,
    adoption_job_id,
    adoption_manifest,
)
from streambatch._core.flow import HttpResponse
from streambatch._core.jobstate import Action, BatchState, next_action, progress_of
from streambatch._core.manifest import Planned, decode_manifest, encode_manifest
from streambatch._errors import HTTPStatusError
from streambatch._providers.anthropic_api import ANTHROPIC
from streambatch._providers.foreign import (
    Foreign,
    batch_id_of,
    describe,
    input_download,
)
from streambatch._providers.gemini_api import GEMINI
from streambatch._providers.openai_api import OPENAI

NOW = 1_800_000_000.0


def answer(flow: object, body: Mapping[str, object], status: int = 200) -> Foreign:
    """Step ``flow`` through one request, answered with ``body``."""
    request = next(flow)  # type: ignore[call-overload]
    assert request.method == "GET"
    response = HttpResponse(status=status, headers={}, body=json.dumps(body).encode())
    with pytest.raises(StopIteration) as stop:
        flow.send(response)  # type: ignore[attr-defined]
    found: Foreign = stop.value.value
    return found


def test_an_openai_batch_names_its_input_file_endpoint_and_time() -> None:
    body = {
        "id": "batch_1",
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "input_file_id": "file-in",
        "status": "in_progress",
        "created_at": 1_700_000_000,
        "request_counts": {"total": 9, "completed": 3, "failed": 1},
    }
    foreign = answer(describe(OPENAI, "batch_1"), body)
    assert (foreign.input_file_id, foreign.endpoint) == (
        "file-in",
        "/v1/chat/completions",
    )
    assert foreign.created_at == 1_700_000_000.0
    assert (foreign.status.state, foreign.status.total) == (BatchState.IN_PROGRESS, 9)
    planned = input_download(OPENAI, "batch_1", "file-in")
    assert (planned.path, planned.file_id) == ("files/file-in/content", "file-in")


def test_an_anthropic_batch_has_no_input_file() -> None:
    body = {
        "id": "msgbatch_1",
        "type": "message_batch",
        "processing_status": "in_progress",
        "request_counts": {"processing": 5, "succeeded": 0, "errored": 0},
        "created_at": "2026-12-01T10:00:00Z",
    }
    foreign = answer(describe(ANTHROPIC, "msgbatch_1"), body)
    assert (foreign.input_file_id, foreign.endpoint) == (None, None)
    assert foreign.status.total == 5
    assert foreign.created_at is not None


def test_a_gemini_batch_names_its_model_and_file() -> None:
    body = {
        "name": "batches/abc",
        "metadata": {
            "model": "models/gemini-2.5-flash",
            "inputConfig": {"fileName": "files/in"},
            "createTime": "2026-12-01T10:00:00Z",
            "state": "BATCH_STATE_PENDING",
        },
    }
    assert batch_id_of(GEMINI, "batches/abc") == "abc"
    assert batch_id_of(OPENAI, "batches/abc") == "batches/abc"
    foreign = answer(describe(GEMINI, "abc"), body)
    assert foreign.endpoint == "models/gemini-2.5-flash:batchGenerateContent"
    assert foreign.input_file_id == "files/in"


def test_an_unknown_batch_is_the_providers_404() -> None:
    with pytest.raises(HTTPStatusError) as refused:
        answer(describe(OPENAI, "nope"), {"error": {"message": "no"}}, status=404)
    assert refused.value.status == 404


def test_the_first_manifest_of_an_ended_batch_plans_its_download() -> None:
    plan = [Planned(kind="results", path="v1/messages/batches/m/results")]
    first = FirstStatus(
        state=BatchState.COMPLETED, total=4, succeeded=3, failed=1, plan=plan
    )
    job_id = adoption_job_id("anthropic", "http://127.0.0.1:1/", "m", "/jobs/a")
    assert job_id == adoption_job_id("anthropic", "http://127.0.0.1:1", "m", "/jobs/a")
    assert job_id != adoption_job_id("anthropic", "http://127.0.0.1:1", "m", "/jobs/b")
    manifest = adoption_manifest(
        job_id=job_id,
        provider="anthropic",
        base_url="http://127.0.0.1:1",
        batch_id="m",
        requests=AdoptedInput(n_requests=4, ids_only=True),
        status=first,
        now=NOW,
        created_at=NOW - 600,
    )
    (chunk,) = manifest.chunks
    (record,) = chunk.batches
    assert chunk.ids_only and chunk.n_requests == 4
    assert (record.batch_id, record.state, record.plan) == ("m", "completed", plan)
    assert (record.created_at, record.ended_at) == (NOW - 600, NOW)
    assert record.file_id is None  # the other tool's input is never deleted
    assert next_action(record, uploads=False, keep_files=False) is Action.DOWNLOAD
    assert progress_of(manifest).done == 4
    assert manifest.adopted is not None and manifest.adopted.batch_id == "m"
    assert decode_manifest(encode_manifest(manifest), "m.json") == manifest
