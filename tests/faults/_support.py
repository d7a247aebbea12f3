"""Helpers of the fault-matrix suite: inputs, clients, and the judge of a result set."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable

import aiohttp

import streambatch as sb
from streambatch.testing import Emulator, ManualClock, expected_text
from streambatch.testing.sample import sample_requests, write_sample

POLL = sb.PollPolicy(min_delay=0.01, max_delay=0.05)
# Fast enough for the suite, patient enough for a 50% fault rate (0.5**20 ≈ 1e-6).
RETRY = sb.RetryPolicy(first_delay=0.01, max_delay=0.05, max_attempts=20)


def base_url(emulator: Emulator, provider: str) -> str:
    return {
        "openai": emulator.openai_base_url,
        "azure": emulator.azure_endpoint,
        "gemini": emulator.gemini_base_url,
        "mistral": emulator.mistral_base_url,
    }.get(provider, emulator.anthropic_base_url)


def client_for(emulator: Emulator, provider: str) -> sb.Client:
    return sb.Client(provider, base_url=base_url(emulator, provider), retry=RETRY)


def bodies(provider: str, count: int) -> dict[str, dict[str, object]]:
    """Each sample custom_id's request body (OpenAI ``body``, Anthropic ``params``,
    Gemini ``request``, keyed by ``key``; Mistral ``body``)."""
    id_key, key = {
        "openai": ("custom_id", "body"),
        "azure": ("custom_id", "body"),
        "mistral": ("custom_id", "body"),
        "gemini": ("key", "request"),
    }.get(provider, ("custom_id", "params"))
    found: dict[str, dict[str, object]] = {}
    for request in sample_requests(provider, count):
        body = request[key]
        assert isinstance(body, dict)
        found[str(request[id_key])] = body
    return found


def write_input(tmp_path: pathlib.Path, provider: str, count: int) -> pathlib.Path:
    path = tmp_path / "in.jsonl"
    write_sample(str(path), provider, count)
    return path


async def finish(job: sb.Job) -> dict[str, sb.Result]:
    """Wait, download, and read the results, checking there is one per custom_id."""
    await job.wait(poll=POLL)
    await job.download()
    results = [r async for r in job.results()]
    ids = Counter(r.custom_id for r in results)
    assert [cid for cid, n in ids.items() if n > 1] == []
    return {r.custom_id: r for r in results}


def check_succeeded(provider: str, count: int, results: dict[str, sb.Result]) -> None:
    """Every custom_id of the input present, succeeded, with its own request's text."""
    expected = bodies(provider, count)
    assert set(results) == set(expected)
    for cid, result in results.items():
        assert result.status == "succeeded", result
        assert result.text == expected_text(provider, expected[cid]), cid


def statuses(results: Iterable[sb.Result]) -> Counter[str]:
    return Counter(r.status for r in results)


def auth(provider: str) -> dict[str, str]:
    if provider in ("openai", "mistral"):
        return {"Authorization": "Bearer test"}
    if provider == "gemini":
        return {"x-goog-api-key": "test"}
    if provider == "azure":
        return {"api-key": "test"}
    return {"x-api-key": "test", "anthropic-version": "2023-06-01"}


async def _get(emulator: Emulator, provider: str, path: str) -> tuple[int, bytes]:
    url = base_url(emulator, provider).rstrip("/") + "/" + path
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=auth(provider)) as response,
    ):
        return response.status, await response.read()


async def served_bytes(emulator: Emulator, provider: str, path: str) -> bytes:
    """What the emulator serves at ``path`` (under the provider's base URL), whole."""
    status, body = await _get(emulator, provider, path)
    assert status == 200, body
    return body


async def served_status(emulator: Emulator, path: str) -> int:
    """The status of a GET of an OpenAI ``path`` (under ``/v1``)."""
    return (await _get(emulator, "openai", path))[0]


@contextlib.asynccontextmanager
async def clock_moved(
    clock: ManualClock, seconds: float, when: Callable[[], bool]
) -> AsyncIterator[None]:
    """For the ``async with`` block, move ``clock`` on by ``seconds`` each time
    ``when()`` holds (a request waits on the emulator's clock): no test sleeps
    for a fault's delay for real. ``when`` is looked at between loop turns."""

    async def mover() -> None:
        while True:
            if when():
                clock.advance(seconds)
            await asyncio.sleep(0.001)

    task = asyncio.create_task(mover())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
