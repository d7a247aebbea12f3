"""Fixtures of the emulator tests: an aiohttp session per provider."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from ._support import ANTHROPIC_HEADERS, OPENAI_HEADERS


@pytest_asyncio.fixture
async def openai_http() -> AsyncIterator[aiohttp.ClientSession]:
    """A session carrying OpenAI credentials."""
    async with aiohttp.ClientSession(headers=OPENAI_HEADERS) as session:
        yield session


@pytest_asyncio.fixture
async def anthropic_http() -> AsyncIterator[aiohttp.ClientSession]:
    """A session carrying Anthropic credentials."""
    async with aiohttp.ClientSession(headers=ANTHROPIC_HEADERS) as session:
        yield session
