"""pytest fixtures: a running emulator per test, in the test's own event loop.

Registered through the ``pytest11`` entry point. ``emulator`` yields a running
`Emulator` (``url``, ``openai_base_url``, ``anthropic_base_url``, ``records``,
live ``faults``, ``clock``); override ``emulator_config`` to change its
settings. ``manual_clock`` is a fresh `ManualClock`: put it in the config
(``EmulatorConfig(clock=manual_clock)``) and move time with
``manual_clock.advance(seconds)`` instead of sleeping.
Imports pytest, pytest-asyncio (when installed) and the testing package.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ._clock import ManualClock
from ._config import EmulatorConfig
from ._emulator import Emulator

try:
    import pytest_asyncio

    _async_fixture: Callable[..., Any] = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - pytest-asyncio is optional
    _async_fixture = pytest.fixture


@pytest.fixture
def manual_clock() -> ManualClock:
    """A clock that stands still until the test calls ``advance(seconds)``."""
    return ManualClock()


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """The emulator's settings; override this fixture to change them."""
    return EmulatorConfig()


async def _emulator(emulator_config: EmulatorConfig) -> AsyncIterator[Emulator]:
    """A running emulator on a free loopback port, closed after the test."""
    async with Emulator(emulator_config) as running:
        yield running


emulator = _async_fixture(name="emulator")(_emulator)
