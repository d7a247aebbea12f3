"""The Azure and OpenAI-compatible flows, pure: routes chosen by the URL, what
they send, and how they read what Azure and compatible hosts answer."""

from __future__ import annotations

import msgspec
import pytest

from streambatch._core.flow import FileUpload
from streambatch._core.pack import limits_for
from streambatch._errors import ConfigError, ProtocolError
from streambatch._providers import provider
from streambatch._providers.azure_api import FILE_TTL_SECONDS, azure_api
from streambatch._providers.batches import BatchState, BatchStatus, ChunkRef
from streambatch._providers.openai_api import OPENAI, check_window, unix_time

from .test_gemini_api import answer, run

TAG = {"streambatch_job": "j", "streambatch_chunk": "2", "streambatch_attempt": "1"}
CHUNK = ChunkRef(
    path="/tmp/c.jsonl",
    n_requests=3,
    endpoint="/v1/chat/completions",
    tag=TAG,
    since=1_800_000_000.0,
)


@pytest.mark.parametrize(
    ("given", "base", "version"),
    [
        (
            "https://res.openai.azure.com",
            "https://res.openai.azure.com/openai/v1",
            None,
        ),
        (
            "https://res.openai.azure.com/",
            "https://res.openai.azure.com/openai/v1",
            None,
        ),
        (
            "https://res.openai.azure.com/openai/v1/",
            "https://res.openai.azure.com/openai/v1",
            None,
        ),
        (
            "https://res.openai.azure.com?api-version=2024-10-21",
            "https://res.openai.azure.com/openai",
            "2024-10-21",
        ),
        (
            "https://res.openai.azure.com/openai?api-version=2025-04-01-preview",
            "https://res.openai.azure.com/openai",
            "2025-04-01-preview",
        ),
        ("http://127.0.0.1:9/azure", "http://127.0.0.1:9/azure/openai/v1", None),
    ],
)
def test_the_url_given_picks_the_routes(
    given: str, base: str, version: str | None
) -> None:
    routes, api = azure_api(given)
    assert routes == base
    assert api.api_version == version
    assert api.query == ({"api-version": version} if version else {})


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "AZURE_OPENAI_ENDPOINT"),
        ("https://res.openai.azure.com/openai", "api-version"),
        ("https://res.openai.azure.com/openai/v1?api-version=2024-10-21", "no api"),
    ],
)
def test_an_ambiguous_url_is_refused(given: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        azure_api(given)


def test_the_key_goes_in_the_api_key_header() -> None:
    _, api = azure_api("https://res.openai.azure.com")
    assert api.auth_headers("k") == {"api-key": "k"}
    assert api.key_env == "AZURE_OPENAI_API_KEY"
    assert provider("azure", jobs=True).base_url_env == "AZURE_OPENAI_ENDPOINT"


def test_every_classic_request_carries_the_api_version() -> None:
    _, api = azure_api("https://r.openai.azure.com/openai?api-version=2024-10-21")
    version = {"api-version": "2024-10-21"}
    batch = {"id": "batch_1", "status": "Completed", "output_file_id": "file-o"}
    requests = [
        run(api.upload(CHUNK), answer({"id": "file-1"}))[0][0],
        run(api.create(CHUNK, "file-1"), answer(batch))[0][0],
        run(api.retrieve("batch_1"), answer(batch))[0][0],
        run(api.cancel("batch_1"), answer(batch))[0][0],
        run(api.find(CHUNK, frozenset()), answer({"data": []}))[0][0],
        run(api.file_size("file-1"), answer({"id": "file-1", "bytes": 3}))[0][0],
        run(api.delete_file("file-1"), answer({"id": "file-1"}))[0][0],
    ]
    assert all(r.query.items() >= version.items() for r in requests)
    assert requests[4].query == {"limit": "100", **version}
    status = BatchStatus(id="b", state=BatchState.COMPLETED, raw_state="Completed")
    plans = api.downloads(
        msgspec.structs.replace(status, output_file_id="o", error_file_id="e")
    )
    assert [(p.kind, p.path, p.query) for p in plans] == [
        ("output", "files/o/content", version),
        ("error", "files/e/content", version),
    ]


def test_uploads_expire_so_the_500_file_quota_is_never_hit() -> None:
    _, api = azure_api("https://r.openai.azure.com")
    sent, file_id = run(api.upload(CHUNK), answer({"id": "file-1"}))
    upload = sent[0].upload
    assert file_id == "file-1" and isinstance(upload, FileUpload)
    assert upload.fields == {  # the SDK's bracket notation
        "purpose": "batch",
        "expires_after[anchor]": "created_at",
        "expires_after[seconds]": str(FILE_TTL_SECONDS),
    }
    assert 1_209_600 <= FILE_TTL_SECONDS <= 2_592_000  # Azure's allowed range
    assert sent[0].query == {}  # v1 routes: no api-version


def status_of(body: object) -> BatchStatus:
    _, value = run(OPENAI.retrieve("b"), answer(body))
    assert isinstance(value, BatchStatus)
    return value


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Validating", BatchState.VALIDATING),
        ("IN_PROGRESS", BatchState.IN_PROGRESS),
        ("In_progress", BatchState.IN_PROGRESS),
        ("Finalizing", BatchState.FINALIZING),
        ("COMPLETED", BatchState.COMPLETED),
        ("Failed", BatchState.FAILED),
        ("EXPIRED", BatchState.EXPIRED),
        ("Cancelled", BatchState.CANCELLED),
    ],
)
def test_statuses_in_any_case(raw: str, state: BatchState) -> None:
    status = status_of({"id": "b", "status": raw})
    assert status.state is state and status.raw_state == raw


def test_null_counts_are_unknown_not_zero() -> None:
    body = {
        "id": "b",
        "status": "Validating",
        "created_at": "2024-07-19T17:13:57.2491382+00:00",
        "request_counts": {"total": None, "completed": None, "failed": None},
    }
    status = status_of(body)
    assert (status.total, status.succeeded, status.failed) == (None, None, None)


def test_a_job_wrapper_is_unwrapped_on_create_retrieve_and_cancel() -> None:
    job = {
        "id": "b-1",
        "status": "IN_PROGRESS",
        "created_at": "2026-01-02T03:04:05Z",
        "error": "one request was too long",
    }
    wrapped = {"job": job, "warning": "batch may take longer"}
    _, created = run(OPENAI.create(CHUNK, "f"), answer(wrapped))
    assert created == "b-1"
    status = status_of(wrapped)
    assert status.state is BatchState.IN_PROGRESS
    assert status.errors == ["one request was too long"]
    _, cancelled = run(OPENAI.cancel("b-1"), answer(wrapped))
    assert isinstance(cancelled, BatchStatus) and cancelled.id == "b-1"


def test_a_body_that_is_no_batch_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        status_of({"job": {"status": "COMPLETED"}})


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1_700_000_000, 1_700_000_000),
        (1_700_000_000.5, 1_700_000_000.5),
        ("2023-11-14T22:13:20Z", 1_700_000_000),
        ("2023-11-14T22:13:20+00:00", 1_700_000_000),
        ("2023-11-14T22:13:20.2491382+00:00", 1_700_000_000.249138),  # Azure's 7 digits
        ("not a time", None),
        (None, None),
    ],
)
def test_timestamps_as_int_or_iso(
    value: int | float | str | None, seconds: float | None
) -> None:
    assert unix_time(value) == seconds


def test_find_stops_at_iso_timestamps_older_than_the_create() -> None:
    """An interrupted create is looked for among recent batches only, when the
    host gives ISO timestamps as well as when it gives Unix seconds."""
    page = {
        "data": [
            {"id": "old", "status": "COMPLETED", "created_at": "2020-01-01T00:00:00Z"}
        ],
        "has_more": True,
    }
    sent, found = run(OPENAI.find(CHUNK, frozenset()), answer(page))
    assert found is None and len(sent) == 1


def test_the_completion_window_is_the_jobs() -> None:
    sent, _ = run(OPENAI.create(CHUNK, "f"), answer({"id": "b", "status": "x"}))
    assert sent[0].json is not None
    assert msgspec.json.decode(sent[0].json)["completion_window"] == "24h"
    week = msgspec.structs.replace(CHUNK, completion_window="7d")
    sent, _ = run(OPENAI.create(week, "f"), answer({"id": "b", "status": "x"}))
    assert sent[0].json is not None
    assert msgspec.json.decode(sent[0].json)["completion_window"] == "7d"


@pytest.mark.parametrize("window", ["24h", "48h", "7d", "12h"])
def test_windows_as_hosts_spell_them(window: str) -> None:
    assert check_window(window) == window


@pytest.mark.parametrize("window", ["", "24", "0h", "1w", "24 h", "24h\n"])
def test_other_windows_are_refused(window: str) -> None:
    with pytest.raises(ConfigError, match="completion window"):
        check_window(window)


def test_azure_splits_at_100000_requests_per_file() -> None:
    assert limits_for(provider("azure").limits).max_requests == 100_000
    assert limits_for(provider("openai").limits).max_requests == 50_000
