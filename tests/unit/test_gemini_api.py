"""The Gemini flows, pure: what they send and how they read the operations."""

from __future__ import annotations

import msgspec
import pytest

from streambatch._core.flow import Flow, HttpRequest, HttpResponse
from streambatch._errors import AuthenticationError, ProtocolError
from streambatch._providers.batches import BatchStatus, ChunkRef
from streambatch._providers.gemini_api import GEMINI, display_name

TAG = {"streambatch_job": "j", "streambatch_chunk": "2", "streambatch_attempt": "1"}
CHUNK = ChunkRef(
    path="/tmp/c.jsonl",
    n_requests=3,
    endpoint="models/gemini-2.5-flash:batchGenerateContent",
    tag=TAG,
)


def answer(body: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status=status, headers={}, body=msgspec.json.encode(body))


def run(
    flow: Flow[object], *responses: HttpResponse
) -> tuple[list[HttpRequest], object]:
    sent = [next(flow)]
    for response in responses:
        try:
            sent.append(flow.send(response))
        except StopIteration as stop:
            return sent, stop.value
    raise AssertionError("the flow wants more")


def operation(state: str, **metadata: object) -> dict[str, object]:
    return {
        "name": "batches/abc123",
        "metadata": {"state": state, "displayName": display_name(TAG)} | metadata,
        "done": state.endswith(("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED")),
    }


def status(body: object) -> BatchStatus:
    _, value = run(GEMINI.retrieve("abc123"), answer(body))
    assert isinstance(value, BatchStatus)
    return value


@pytest.mark.parametrize("prefix", ["BATCH_STATE_", "JOB_STATE_"])
@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("PENDING", "validating"),
        ("RUNNING", "in_progress"),
        ("SUCCEEDED", "completed"),
        ("FAILED", "failed"),
        ("CANCELLED", "cancelled"),
        ("EXPIRED", "expired"),
    ],
)
def test_both_state_spellings_are_read(prefix: str, name: str, state: str) -> None:
    got = status(operation(prefix + name))
    assert (got.id, got.state, got.raw_state) == ("abc123", state, prefix + name)


def test_counts_arrive_as_strings_and_the_output_file_is_read() -> None:
    stats = {
        "requestCount": "5",
        "successfulRequestCount": "4",
        "failedRequestCount": "1",
        "pendingRequestCount": "0",
    }
    output = {"responsesFile": "files/batch-abc123"}
    got = status(operation("BATCH_STATE_SUCCEEDED", batchStats=stats, output=output))
    assert (got.total, got.succeeded, got.failed) == (5, 4, 1)
    assert got.output_file_id == "files/batch-abc123"
    [download] = GEMINI.downloads(got)
    assert download.path == "download/v1beta/files/batch-abc123:download"
    assert download.query == {"alt": "media"}


def test_the_output_may_come_in_the_response_only() -> None:
    body = operation("BATCH_STATE_SUCCEEDED")
    body["response"] = {"@type": "x", "responsesFile": "files/batch-z"}
    assert status(body).output_file_id == "files/batch-z"


def test_a_failed_batch_keeps_its_error_and_has_nothing_to_download() -> None:
    body = operation("BATCH_STATE_FAILED")
    body["error"] = {"code": 3, "message": "bad input file"}
    got = status(body)
    assert got.errors == ["3: bad input file"]
    assert GEMINI.downloads(got) == []


def test_a_count_that_is_not_a_number_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        status(operation("BATCH_STATE_RUNNING", batchStats={"requestCount": "x"}))


def test_create_names_the_model_the_file_and_the_tag_and_is_not_retried() -> None:
    [request], batch_id = run(
        GEMINI.create(CHUNK, "files/f1"), answer(operation("BATCH_STATE_PENDING"))
    )
    assert batch_id == "abc123"
    assert request.path == "v1beta/models/gemini-2.5-flash:batchGenerateContent"
    assert not request.idempotent
    assert msgspec.json.decode(request.json or b"") == {
        "batch": {
            "displayName": display_name(TAG),
            "inputConfig": {"fileName": "files/f1"},
        }
    }


def test_find_pages_until_the_display_name_matches() -> None:
    other = operation("BATCH_STATE_RUNNING") | {"name": "batches/old"}
    other["metadata"] = {"displayName": "someone else's"}
    pages = [
        answer({"operations": [other], "nextPageToken": "p2"}),
        answer({"operations": [operation("BATCH_STATE_RUNNING")]}),
    ]
    sent, found = run(GEMINI.find(CHUNK, frozenset()), *pages)
    assert found == "abc123"
    assert sent[1].query == {"pageSize": "100", "pageToken": "p2"}
    _, none = run(GEMINI.find(CHUNK, frozenset({"abc123"})), *pages)
    assert none is None


def test_the_start_announces_the_size_and_refusals_raise() -> None:
    flow = GEMINI.upload(CHUNK)
    start = next(flow)
    assert start.path == "upload/v1beta/files"
    assert start.headers["X-Goog-Upload-Command"] == "start"
    assert start.size_header is not None
    assert start.size_header.header == "X-Goog-Upload-Header-Content-Length"
    with pytest.raises(AuthenticationError):
        flow.send(answer({"error": {"code": 403}}, status=403))


def test_the_key_goes_in_a_header() -> None:
    assert GEMINI.auth_headers("k") == {"x-goog-api-key": "k"}
