"""The emulator server: an aiohttp application on loopback, started and stopped.

Ties the routes, the middleware and the store together. Imports aiohttp and
stdlib only (never the rest of streambatch).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from aiohttp import web

from . import (
    _anthropic,
    _azure,
    _gemini_batches,
    _gemini_files,
    _mistral_files,
    _mistral_jobs,
    _openai_batches,
    _openai_files,
)
from ._azure_wire import AZURE_PREFIX
from ._batch import advance
from ._clock import Clock
from ._config import EmulatorConfig, Faults
from ._http import GEMINI_PREFIX, MISTRAL_PREFIX, RUNTIME, Runtime
from ._middleware import middleware
from ._persist import Saver, load
from ._records import Records
from ._store import Store


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_app(store: Store) -> web.Application:
    """Build the aiohttp application serving every provider's API."""
    app = web.Application(middlewares=[middleware], client_max_size=1 << 20)
    app[RUNTIME] = Runtime(store, random.Random(store.config.faults.seed))
    _openai_files.add_routes(app)
    _openai_batches.add_routes(app)
    _anthropic.add_routes(app)
    _gemini_files.add_routes(app)
    _gemini_batches.add_routes(app)
    _azure.add_routes(app)
    _mistral_files.add_routes(app)
    _mistral_jobs.add_routes(app)
    return app


class Emulator:
    """A running emulator of the OpenAI, Azure OpenAI, Anthropic, Gemini and Mistral
    batch APIs.

    Use it as an async context manager (or call `start` and `aclose`); it
    serves on ``config.host`` and ``config.port`` (port 0 picks a free one).

    Args:
        config: Settings; the defaults are loopback, a free port, a temporary
            state directory, the instant timings on the wall clock and no
            faults; ``EmulatorConfig(clock=ManualClock())`` lets a test move
            time itself.

    Raises:
        ValueError: From `start`, for a non-loopback host without
            ``allow_remote``.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._store: Store | None = None
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._url = ""

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>`` (the Anthropic base URL)."""
        if not self._url:
            raise RuntimeError("the emulator is not running")
        return self._url

    @property
    def openai_base_url(self) -> str:
        """The OpenAI base URL, which includes ``/v1``."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The Anthropic base URL (no ``/v1``)."""
        return self.url

    @property
    def gemini_base_url(self) -> str:
        """The Gemini base URL (paths below it carry the API version)."""
        return self.url + GEMINI_PREFIX

    @property
    def mistral_base_url(self) -> str:
        """The Mistral base URL (``Mistral(server_url=...)``; no ``/v1``)."""
        return self.url + MISTRAL_PREFIX

    @property
    def azure_endpoint(self) -> str:
        """The Azure OpenAI resource endpoint (``AzureOpenAI(azure_endpoint=...)``;
        its routes are ``/openai/v1/...`` and ``/openai/...?api-version=``)."""
        return self.url + AZURE_PREFIX

    @property
    def records(self) -> Records:
        """A handle on what the emulator recorded."""
        if self._store is None:
            raise RuntimeError("the emulator is not running")
        return Records(self._store)

    @property
    def clock(self) -> Clock:
        """The clock the emulator reads (``config.clock``, or the scaled wall clock)."""
        if self._store is None:
            raise RuntimeError("the emulator is not running")
        return self._store.clock

    @property
    def faults(self) -> Faults:
        """The live faults; change a field or assign new ones at any time."""
        return self.config.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self.config.faults = value

    async def start(self) -> None:
        """Bind and start serving."""
        config = self.config
        if not config.allow_remote and not _is_loopback(config.host):
            raise ValueError(f"refusing to bind {config.host!r} without allow_remote")
        self._store = Store(config)
        self._saver = Saver(self._store, enabled=config.state_dir is not None)
        load(self._store)  # a --state-dir from an earlier run: go on from it
        runner = web.AppRunner(
            build_app(self._store), access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        self._ticker = asyncio.create_task(_tick(self._store, self._saver))
        host, port = runner.addresses[0][:2]
        shown = host if ":" not in host else f"[{host}]"
        self._url = f"http://{shown}:{port}"

    async def aclose(self) -> None:
        """Stop serving, finish background work and remove temporary state."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._store is not None:
            self._saver.save()
            await self._store.aclose()
        self._url = ""

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _tick(store: Store, saver: Saver, interval: float = 0.1) -> None:
    """Move batches along without waiting to be asked.

    As at a real service, a batch's results are written when its time is up,
    not when a client next happens to poll it.
    """
    while True:
        await asyncio.sleep(interval)
        for batch in list(store.batches.values()):
            if batch.generation is None and batch.ended_at is None:
                advance(batch, store)
        saver.maybe_save()


@contextlib.asynccontextmanager
async def open_emulator(
    config: EmulatorConfig | None = None, **options: Any
) -> AsyncIterator[Emulator]:
    """Start an emulator on a free loopback port for the ``async with`` block.

    Args:
        config: Settings; keyword ``options`` override its fields
            (e.g. ``faults=Faults(item_error_rate=0.1)``).

    Yields:
        The running `Emulator`: ``url``, ``openai_base_url``,
        ``anthropic_base_url``, ``gemini_base_url``, ``azure_endpoint``,
        ``mistral_base_url``,
        ``records`` and live
        ``faults``.
    """
    config = config or EmulatorConfig()
    for name, value in options.items():
        if not hasattr(config, name):
            raise TypeError(f"unknown emulator option {name!r}")
        setattr(config, name, value)
    async with Emulator(config) as emulator:
        yield emulator
