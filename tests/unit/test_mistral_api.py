"""Mistral, pure: its description, its input rules, and its flows stepped by hand
against literal answers in the SDK's shapes (``BatchJob``, ``ListBatchJobsResponse``)."""

from __future__ import annotations

import msgspec
import pytest

from streambatch._core.flow import FileUpload
from streambatch._core.requests import Problem, Request, RequestChecker
from streambatch._errors import HTTPStatusError, ProtocolError
from streambatch._providers import PROVIDER_NAMES, codec_for, provider
from streambatch._providers.batches import BatchState, BatchStatus, ChunkRef, Planned
from streambatch._providers.mistral.api import MISTRAL, PAGE_SIZE, STATES

from .test_gemini_api import answer, run

TAG = {"streambatch_job": "j", "streambatch_chunk": "0", "streambatch_attempt": "1"}
CHUNK = ChunkRef(
    path="/tmp/job/chunks/chunk-00000.jsonl",
    n_requests=3,
    endpoint="/v1/chat/completions",
    model="mistral-small-latest",
    tag=TAG,
    since=1_800_000_000.0,
)


def job(status: str, **fields: object) -> dict[str, object]:
    """A BatchJob with the fields the SDK requires."""
    return {
        "id": "b7e1c5d2-0000-4000-8000-000000000001",
        "object": "batch",
        "input_files": ["f-1"],
        "endpoint": "/v1/chat/completions",
        "model": "mistral-small-latest",
        "errors": [],
        "status": status,
        "created_at": 1_800_000_100,
        "total_requests": 3,
        "completed_requests": 0,
        "succeeded_requests": 0,
        "failed_requests": 0,
    } | fields


def status_of(body: object) -> BatchStatus:
    _, value = run(MISTRAL.retrieve("b7e1"), answer(body))
    assert isinstance(value, BatchStatus)
    return value


def test_mistral_is_described_once_and_runs_jobs() -> None:
    described = provider("mistral")
    assert "mistral" in PROVIDER_NAMES
    assert described.key_env == "MISTRAL_API_KEY"
    assert described.base_url_env == "MISTRAL_BASE_URL"
    assert (described.limits.max_requests, described.limits.frame_bytes) == (100_000, 0)
    assert described.limits.max_bytes <= 512_000_000
    assert described.rules.name == "mistral"
    assert MISTRAL.auth_headers("k") == {"Authorization": "Bearer k"}


def test_every_status_is_normalised_in_any_case() -> None:
    assert {s: STATES[s] for s in STATES} == {
        "QUEUED": BatchState.VALIDATING,
        "RUNNING": BatchState.IN_PROGRESS,
        "SUCCESS": BatchState.COMPLETED,
        "FAILED": BatchState.FAILED,
        "TIMEOUT_EXCEEDED": BatchState.EXPIRED,
        "CANCELLATION_REQUESTED": BatchState.CANCELLING,
        "CANCELLED": BatchState.CANCELLED,
    }
    assert status_of(job("timeout_exceeded")).state is BatchState.EXPIRED
    unknown = status_of(job("PAUSED"))  # the SDK allows statuses it does not know
    assert (unknown.state, unknown.raw_state) == (BatchState.IN_PROGRESS, "PAUSED")


def test_a_finished_job_names_its_counts_and_files() -> None:
    got = status_of(
        job(
            "SUCCESS",
            completed_requests=3,
            succeeded_requests=2,
            failed_requests=1,
            output_file="f-out",
            error_file="f-err",
        )
    )
    assert (got.total, got.succeeded, got.failed) == (3, 2, 1)
    assert got.terminal
    plans = MISTRAL.downloads(got)
    assert [(p.kind, p.path, p.file_id) for p in plans] == [
        ("output", "v1/files/f-out/content", "f-out"),
        ("error", "v1/files/f-err/content", "f-err"),
    ]
    only_output = status_of(job("SUCCESS", output_file="f-o"))
    assert MISTRAL.downloads(only_output) == [
        Planned(kind="output", path="v1/files/f-o/content", file_id="f-o")
    ]


def test_a_failed_job_keeps_its_reasons() -> None:
    errors = [{"message": "Invalid model", "count": 3}, {"message": "Bad line"}]
    got = status_of(job("FAILED", errors=errors))
    assert got.state is BatchState.FAILED
    assert got.errors == ["Invalid model (3 requests)", "Bad line"]


def test_upload_then_create_names_file_endpoint_model_and_tag() -> None:
    sent, file_id = run(MISTRAL.upload(CHUNK), answer({"id": "f-1", "bytes": 10}))
    assert file_id == "f-1"
    assert (sent[0].method, sent[0].path) == ("POST", "v1/files")
    assert sent[0].upload == FileUpload(
        path=CHUNK.path, filename="chunk-00000.jsonl", fields={"purpose": "batch"}
    )
    sent, batch_id = run(MISTRAL.create(CHUNK, "f-1"), answer(job("QUEUED")))
    assert batch_id == job("QUEUED")["id"]
    request = sent[0]
    assert (request.method, request.path, request.idempotent) == (
        "POST",
        "v1/batch/jobs",
        False,
    )
    assert request.json is not None
    assert msgspec.json.decode(request.json) == {
        "input_files": ["f-1"],
        "endpoint": "/v1/chat/completions",
        "model": "mistral-small-latest",
        "metadata": TAG,
    }


def test_a_chunk_without_its_model_is_not_sent() -> None:
    flow = MISTRAL.create(msgspec.structs.replace(CHUNK, model=None), "f-1")
    with pytest.raises(ProtocolError):
        next(flow)


def test_an_http_error_is_raised_with_its_status() -> None:
    flow = MISTRAL.retrieve("x")
    next(flow)
    with pytest.raises(HTTPStatusError) as caught:
        flow.send(answer({"object": "error", "message": "no"}, 404))
    assert caught.value.status == 404


def test_find_pages_by_number_until_the_tag_or_the_end() -> None:
    strangers = [
        job(
            "SUCCESS", id=f"other-{n}", metadata={"x": str(n)}, created_at=1_800_000_500
        )
        for n in range(PAGE_SIZE)
    ]
    ours = job("RUNNING", id="ours", metadata=TAG)
    sent, found = run(
        MISTRAL.find(CHUNK, frozenset()),
        answer({"object": "list", "data": strangers, "total": PAGE_SIZE + 1}),
        answer({"object": "list", "data": [ours], "total": PAGE_SIZE + 1}),
    )
    assert found == "ours"
    assert [r.query for r in sent] == [
        {"page": "0", "page_size": "100", "order_by": "-created"},
        {"page": "1", "page_size": "100", "order_by": "-created"},
    ]
    # a known id is not found again; a short page ends the search
    _, none = run(
        MISTRAL.find(CHUNK, frozenset({"ours"})),
        answer({"object": "list", "data": [ours], "total": 1}),
    )
    assert none is None


def test_find_stops_at_jobs_older_than_the_create() -> None:
    old = [
        job("SUCCESS", id=f"o{n}", metadata={}, created_at=1_700_000_000)
        for n in range(PAGE_SIZE)
    ]
    sent, found = run(
        MISTRAL.find(CHUNK, frozenset()),
        answer({"object": "list", "data": old, "total": 10 * PAGE_SIZE}),
    )
    assert found is None and len(sent) == 1


def test_files_are_sized_and_deleted_a_gone_one_is_no_error() -> None:
    _, size = run(MISTRAL.file_size("f-1"), answer({"id": "f-1", "bytes": 99}))
    assert size == 99
    sent, _ = run(
        MISTRAL.delete_file("f-1"),
        answer({"id": "f-1", "object": "file", "deleted": True}),
    )
    assert (sent[0].method, sent[0].path) == ("DELETE", "v1/files/f-1")
    _, gone = run(MISTRAL.delete_file("f-1"), answer({"detail": "not found"}, 404))
    assert gone is None


def line(custom_id: object = "r-1", **body: object) -> bytes:
    fields: dict[str, object] = {
        "model": "mistral-small-latest",
        "messages": [{"role": "user", "content": "hi"}],
    }
    fields.update(body)
    return msgspec.json.encode({"custom_id": custom_id, "body": fields})


def checked(data: bytes) -> Request | Problem:
    [item] = RequestChecker(provider("mistral").lines).check_run(data + b"\n", 3)
    return item


def test_lines_group_by_endpoint_read_from_the_body_and_model() -> None:
    chat = line("a")
    embed = msgspec.json.encode(
        {"custom_id": "b", "body": {"model": "mistral-embed", "input": ["x", "y"]}}
    )
    fim = msgspec.json.encode(
        {"custom_id": "c", "body": {"model": "codestral-latest", "prompt": "def f("}}
    )
    got = RequestChecker(provider("mistral").lines).check_run(
        b"\n".join([chat, embed, fim]) + b"\n", 1
    )
    assert got == [
        Request(1, "a", ("/v1/chat/completions", "mistral-small-latest"), chat),
        Request(2, "b", ("/v1/embeddings", "mistral-embed"), embed),
        Request(3, "c", ("/v1/fim/completions", "codestral-latest"), fim),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (line(""), "custom_id must be a non-empty string"),
        (line(7), "custom_id must be a non-empty string"),
        (line(model=""), "body.model must name the model, e.g. mistral-small-latest"),
        (line(stream=True), "body.stream must not be true: batches do not stream"),
        (line(input="x"), "body: must hold exactly one of messages"),
        (line(messages=[1]), "body.messages[0]: expected `object`, got `int`"),
        (
            b'{"custom_id": "r-1", "method": "POST", "url": "/v1/chat/completions"}',
            "missing field body",
        ),
    ],
)
def test_bad_lines_say_which_rule(data: bytes, reason: str) -> None:
    problem = checked(data)
    assert isinstance(problem, Problem)
    assert problem.line_no == 3
    assert problem.reason.startswith(reason), problem.reason


def test_result_lines_are_read_as_openai_s() -> None:
    """Mistral's ``model_length`` (the context was full) is a ``max_tokens`` stop."""
    codec = codec_for("mistral", batch_id="b", attempt=1)
    ok = {
        "id": "r",
        "custom_id": "a",
        "response": {
            "status_code": 200,
            "body": {
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Bonjour"},
                        "finish_reason": "model_length",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2},
            },
        },
        "error": None,
    }
    result = codec.decode_line(msgspec.json.encode(ok))
    assert (result.status, result.text, result.stop_reason) == (
        "succeeded",
        "Bonjour",
        "max_tokens",
    )
    assert result.usage is not None and result.usage.output_tokens == 2


def test_an_answer_in_chunks_keeps_its_text_and_leaves_thinking_out() -> None:
    """A reasoning model's content is a list of chunks: read, not refused."""
    content = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
        {"type": "text", "text": "Brie"},
        {"type": "text", "text": " de Meaux"},
    ]
    body = {
        "choices": [{"message": {"content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 9},
    }
    line = msgspec.json.encode(
        {"custom_id": "a", "response": {"status_code": 200, "body": body}}
    )
    codec = codec_for("mistral", batch_id="b")
    for result in (
        codec.decode_line(line),
        codec.decode_block(line + b"\n")[0],
        codec_for("mistral", with_response=True).decode_line(line),
    ):
        assert (result.status, result.text, result.stop_reason) == (
            "succeeded",
            "Brie de Meaux",
            "end",
        )
    assert codec.splice_block(line + b"\n") == [None]  # assembled: decoded alone
