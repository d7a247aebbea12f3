"""The transport's promises in docs/reliability.md, each against the emulator:
a Retry-After above the cap is not waited for, a download is checked against the
provider's size, a socket that goes quiet times out and is retried."""

from __future__ import annotations

import pathlib

import aiohttp
import pytest

from streambatch import RetryPolicy
from streambatch._core.flow import HttpRequest
from streambatch._errors import RateLimitError, TransportError, TransportTimeout
from streambatch._io.http import Transport
from streambatch.testing import Emulator, EmulatorConfig, Faults, ManualClock

HEADERS = {"Authorization": "Bearer k"}


class Sleeps:
    """An injected sleep: records each wait, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def _upload(transport: Transport, path: pathlib.Path) -> str:
    from streambatch._providers.batches import ChunkRef
    from streambatch._providers.openai_api import OPENAI

    chunk = ChunkRef(path=str(path), n_requests=1, endpoint=None, tag={})
    return await transport.drive(OPENAI.upload(chunk))


async def test_a_retry_after_above_the_cap_fails_at_once() -> None:
    faults = Faults(rate_limit_rate=1.0, retry_after_seconds=120)
    async with Emulator(EmulatorConfig(faults=faults)) as emulator:
        sleeps = Sleeps()
        policy = RetryPolicy(max_retry_after=60)
        transport = Transport(
            emulator.openai_base_url, HEADERS, retry=policy, sleep=sleeps
        )
        try:
            with pytest.raises(RateLimitError) as caught:
                await transport.send(HttpRequest(method="GET", path="batches"))
        finally:
            await transport.aclose()
        sent = [r for r in emulator.records.requests if r.path == "/v1/batches"]
    assert caught.value.retry_after == 120
    assert len(sent) == 1 and sleeps.waits == []  # neither retried nor waited


async def test_a_retry_after_under_the_cap_is_a_floor() -> None:
    faults = Faults(rate_limit_rate=1.0, retry_after_seconds=7)
    async with Emulator(EmulatorConfig(faults=faults)) as emulator:
        sleeps = Sleeps()
        policy = RetryPolicy(max_attempts=4, max_delay=1.0)
        transport = Transport(
            emulator.openai_base_url, HEADERS, retry=policy, sleep=sleeps
        )
        try:
            with pytest.raises(RateLimitError):
                await transport.send(HttpRequest(method="GET", path="batches"))
        finally:
            await transport.aclose()
    assert len(sleeps.waits) == 3 and all(w >= 7 for w in sleeps.waits)


async def test_a_download_is_checked_against_the_providers_size(
    tmp_path: pathlib.Path,
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"custom_id": "a"}\n' * 10)
    async with Emulator() as emulator:
        transport = Transport(emulator.openai_base_url, HEADERS, sleep=Sleeps())
        try:
            file_id = await _upload(transport, source)
            request = HttpRequest(method="GET", path=f"files/{file_id}/content")
            size = source.stat().st_size
            got = await transport.download(request, tmp_path / "ok", expected=size)
            assert got == size
            with pytest.raises(TransportError, match=f"expected {size + 1}"):
                await transport.download(request, tmp_path / "bad", expected=size + 1)
        finally:
            await transport.aclose()


async def test_a_quiet_socket_times_out_and_is_retried() -> None:
    faults = Faults(slow_rate=1.0, slow_seconds=0.5)
    clock = ManualClock()  # the emulator holds every request until the end
    async with Emulator(EmulatorConfig(faults=faults, clock=clock)) as emulator:
        # A real wait: the client's own read timeout is the thing under test.
        timeout = aiohttp.ClientTimeout(total=None, sock_read=0.05)
        sleeps = Sleeps()
        async with aiohttp.ClientSession(timeout=timeout) as session:
            transport = Transport(
                emulator.openai_base_url,
                HEADERS,
                session=session,
                retry=RetryPolicy(max_attempts=3),
                sleep=sleeps,
            )
            with pytest.raises(TransportTimeout):
                await transport.send(HttpRequest(method="GET", path="batches"))
        clock.advance(0.5)  # let the held requests end before the emulator stops
    assert len(sleeps.waits) == 2  # three attempts, each timed out
