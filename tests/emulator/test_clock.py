"""The manual clock: time moves when a test says so, and a batch follows it."""

from __future__ import annotations

import asyncio
import math
import threading

import aiohttp
import pytest

from streambatch.testing import (
    Emulator,
    EmulatorConfig,
    ManualClock,
    ScaledClock,
    Timings,
)

from ._support import chat_line, create_batch, jsonl, wait_openai


def test_it_stands_still_until_advanced() -> None:
    clock = ManualClock(start=1_000.0)
    assert (clock.now(), clock.monotonic()) == (1_000.0, 0.0)
    clock.advance(2.5)
    clock.advance(0.0)
    assert (clock.now(), clock.monotonic()) == (1_002.5, 2.5)
    clock.resume_at(50.0)  # a reloaded state's time; the timer goes on
    assert (clock.now(), clock.monotonic()) == (50.0, 2.5)


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_it_never_goes_back_or_jumps_to_infinity(seconds: float) -> None:
    clock = ManualClock(start=0.0)
    with pytest.raises(ValueError, match="cannot advance"):
        clock.advance(seconds)
    assert clock.now() == 0.0


async def _turns(count: int = 10) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_a_sleep_ends_when_the_clock_passes_it() -> None:
    clock = ManualClock()
    short = asyncio.create_task(clock.sleep(1.0))
    long = asyncio.create_task(clock.sleep(5.0))
    await _turns()
    assert clock.sleeping == 2
    clock.advance(0.5)
    await _turns()
    assert not short.done()
    clock.advance(0.5)
    await _turns()
    assert short.done() and not long.done() and clock.sleeping == 1
    clock.advance(10.0)
    await long
    assert clock.sleeping == 0
    await asyncio.wait_for(clock.sleep(0), 1)  # nothing to wait for


async def test_a_cancelled_sleep_is_forgotten() -> None:
    clock = ManualClock()
    sleeper = asyncio.create_task(clock.sleep(1.0))
    await _turns()
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    assert clock.sleeping == 0
    clock.advance(2.0)  # nothing left to wake


async def test_another_thread_may_advance_it() -> None:
    clock = ManualClock()
    sleeper = asyncio.create_task(clock.sleep(3.0))
    await _turns()
    thread = threading.Thread(target=clock.advance, args=(3.0,))
    thread.start()
    thread.join()
    await asyncio.wait_for(sleeper, 5)


async def test_the_scaled_clock_runs_at_its_speed() -> None:
    # The default clock: emulated time runs ``speed`` times the wall clock's.
    clock = ScaledClock(speed=1e6)
    before, timer = clock.now(), clock.monotonic()
    await clock.sleep(0.01)  # a real wait: the wall clock is the thing under test
    assert clock.monotonic() - timer >= 0.01
    assert clock.now() - before >= 0.01 * 1e6


@pytest.fixture
def emulator_config(manual_clock: ManualClock) -> EmulatorConfig:
    """The plugin's ``emulator`` on the plugin's ``manual_clock``, as a user would."""
    return EmulatorConfig(timings=Timings.realistic(), clock=manual_clock)


async def test_the_plugin_emulator_runs_on_the_manual_clock(
    emulator: Emulator,
    manual_clock: ManualClock,
    openai_http: aiohttp.ClientSession,
) -> None:
    assert emulator.clock is manual_clock
    created = await create_batch(
        openai_http, emulator.url, jsonl([chat_line(i) for i in range(20)])
    )
    url = f"{emulator.url}/v1/batches/{created['id']}"
    manual_clock.advance(29.0)  # realistic: 30 s validating
    async with openai_http.get(url) as response:
        assert (await response.json())["status"] == "validating"
    manual_clock.advance(2.0 + 300.0)  # half of in_progress's 600 s + 1 s of items
    while True:
        async with openai_http.get(url) as response:
            batch = await response.json()
        if batch["status"] != "validating":
            break
        await asyncio.sleep(0.005)  # validation is work on a thread, not time
    assert batch["status"] == "in_progress"
    assert 0 < batch["request_counts"]["completed"] < 20
    manual_clock.advance(3600.0)
    ended = await wait_openai(openai_http, emulator.url, created["id"])
    assert ended["status"] == "completed"
    assert ended["request_counts"] == {"total": 20, "completed": 20, "failed": 0}
    assert ended["completed_at"] - ended["created_at"] >= 3_900
