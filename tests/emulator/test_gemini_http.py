"""The Gemini flows over the real transport against the emulator: the resumable
upload (whole, cut and resumed, lost and restarted), the key's header, the
responses file streamed, states and counts as the wire sends them."""

from __future__ import annotations

import pathlib

import pytest

from streambatch._core.flow import HttpRequest, HttpResponse
from streambatch._core.policy import RetryPolicy
from streambatch._errors import AuthenticationError
from streambatch._io.http import Transport
from streambatch._providers.batches import ChunkRef
from streambatch._providers.gemini_api import GEMINI
from streambatch.testing import Emulator, EmulatorConfig, Faults, open_emulator
from streambatch.testing.sample import write_sample

TAG = {"streambatch_job": "j1", "streambatch_chunk": "0", "streambatch_attempt": "1"}
RETRY = RetryPolicy(max_attempts=6, first_delay=0.001, max_delay=0.01)


def chunk(path: pathlib.Path, count: int) -> ChunkRef:
    return ChunkRef(
        path=str(path),
        n_requests=count,
        endpoint="models/gemini-2.5-flash:batchGenerateContent",
        tag=TAG,
    )


def transport(emulator: Emulator, key: str = "the-key") -> Transport:
    headers = GEMINI.auth_headers(key)
    return Transport(emulator.gemini_base_url, headers, retry=RETRY)


def uploaded_bytes(emulator: Emulator) -> list[bytes]:
    paths = sorted(p for p in emulator.config.state_dir.rglob("gemini-*"))  # type: ignore[union-attr]
    return [p.read_bytes() for p in paths]


@pytest.fixture
def emulator_config(tmp_path: pathlib.Path) -> EmulatorConfig:
    return EmulatorConfig(state_dir=tmp_path / "state")


async def test_a_file_goes_up_whole_and_a_batch_runs_on_it(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    source = tmp_path / "chunk.jsonl"
    write_sample(str(source), "gemini", 40)
    sent = transport(emulator)
    try:
        name = await sent.drive(GEMINI.upload(chunk(source, 40)))
        assert name.startswith("files/")
        assert uploaded_bytes(emulator) == [source.read_bytes()]
        batch_id = await sent.drive(GEMINI.create(chunk(source, 40), name))
        assert "/" not in batch_id
        status = await sent.drive(GEMINI.retrieve(batch_id))
        while not status.terminal:
            status = await sent.drive(GEMINI.retrieve(batch_id))
        assert (status.state, status.total, status.succeeded) == ("completed", 40, 40)
        assert status.output_file_id == f"files/batch-{batch_id}"
        [download] = GEMINI.downloads(status)
        request = HttpRequest(method="GET", path=download.path, query=download.query)
        size = await sent.download(request, tmp_path / "out.jsonl")
        assert size == (tmp_path / "out.jsonl").stat().st_size > 0
        found = await sent.drive(GEMINI.find(chunk(source, 40), frozenset()))
        assert found == batch_id
        known = frozenset({batch_id})
        assert await sent.drive(GEMINI.find(chunk(source, 40), known)) is None
        await sent.drive(GEMINI.delete_file(name))
        await sent.drive(GEMINI.delete_file(name))  # gone already: not an error
    finally:
        await sent.aclose()
    for record in emulator.records.requests:
        assert "the-key" not in record.path


async def test_a_cut_upload_resumes_from_the_offset_the_session_reports(
    tmp_path: pathlib.Path,
) -> None:
    """Seed 1: the first upload request is cut, the next ones are not."""
    source = tmp_path / "chunk.jsonl"
    write_sample(str(source), "gemini", 3000)
    faults = Faults(seed=1, drop_upload_rate=0.5)
    config = EmulatorConfig(state_dir=tmp_path / "state", faults=faults)
    async with open_emulator(config) as emulator:
        sent = transport(emulator)
        try:
            name = await sent.drive(GEMINI.upload(chunk(source, 3000)))
        finally:
            await sent.aclose()
        assert name.startswith("files/")
        assert uploaded_bytes(emulator) == [source.read_bytes()]
        uploads = [r.status for r in emulator.records.requests if "/upload/" in r.path]
    # start; the cut upload; its resend refused at a stale offset; query; the rest
    assert uploads == [200, 0, 400, 200, 200]


async def test_a_lost_session_starts_the_upload_over(tmp_path: pathlib.Path) -> None:
    """A session the server forgot (its query fails) is abandoned for a new one."""
    source = tmp_path / "chunk.jsonl"
    write_sample(str(source), "gemini", 10)
    async with open_emulator() as emulator:
        flow = GEMINI.upload(chunk(source, 10))
        sent = transport(emulator)
        try:
            start = next(flow)
            first = await sent.send(start)
            upload = flow.send(first)
            assert upload.headers["X-Goog-Upload-Command"] == "upload, finalize"
            query = flow.send(HttpResponse(status=503, headers={}, body=b""))
            assert query.headers == {"X-Goog-Upload-Command": "query"}
            again = flow.send(HttpResponse(status=404, headers={}, body=b""))
            assert again.path == start.path  # a new session
            response = await sent.send(again)
            upload = flow.send(response)
            with pytest.raises(StopIteration) as done:
                flow.send(await sent.send(upload))
            assert done.value.value.startswith("files/")
        finally:
            await sent.aclose()


async def test_a_wrong_key_is_an_error_naming_no_key(tmp_path: pathlib.Path) -> None:
    async with open_emulator(EmulatorConfig(api_key="right")) as emulator:
        sent = transport(emulator, key="wrong-key-123")
        try:
            with pytest.raises(AuthenticationError) as caught:
                await sent.drive(GEMINI.retrieve("nope"))
        finally:
            await sent.aclose()
    assert "API key not valid" in str(caught.value)
    assert "wrong-key-123" not in str(caught.value)
