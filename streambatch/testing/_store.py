"""The emulator's state: files on disk, batches, the worker pool and the clock.

Owns the state directory. Blocking work (validation, generation, file I/O)
runs on its own small thread pool, which `aclose` drains. Imports aiohttp-free
stdlib and sibling modules only.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._clock import Clock, ScaledClock
from ._config import EmulatorConfig

if TYPE_CHECKING:
    from ._batch import Batch

T = TypeVar("T")


@dataclass
class StoredFile:
    """One file of the OpenAI Files API, kept on disk.

    Attributes:
        id: ``file-...``.
        filename: The name given at upload (or generated for outputs).
        purpose: ``batch`` for inputs, ``batch_output`` for results.
        bytes: Size on disk.
        created_at: Emulated unix time of creation.
        path: Where the bytes are.
        visible_at: The clock's monotonic time before which the file answers 404.
        deleted: Whether the file was deleted.
    """

    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: int
    path: Path
    visible_at: float = 0.0
    deleted: bool = False

    def visible(self, monotonic: float) -> bool:
        """Return whether the file can be seen at the clock's ``monotonic`` time."""
        return not self.deleted and monotonic >= self.visible_at

    def to_json(self) -> dict[str, Any]:
        """The wire File object."""
        expires = self.created_at + 30 * 86_400 if self.purpose == "batch" else None
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": expires,
            "status_details": None,
        }


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request the emulator answered."""

    method: str
    path: str
    status: int


@dataclass
class Traffic:
    """The request log and the in-flight counter."""

    log: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=100_000))
    in_flight: int = 0
    peak_in_flight: int = 0


class Store:
    """Everything the emulator holds, rooted in one directory."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._temporary = config.state_dir is None
        root = config.state_dir or Path(tempfile.mkdtemp(prefix="streambatch-emu-"))
        self.root = root
        (root / "files").mkdir(parents=True, exist_ok=True)
        (root / "batches").mkdir(parents=True, exist_ok=True)
        self.clock: Clock = config.clock or ScaledClock(config.timings.speed)
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, Batch] = {}
        self.traffic = Traffic()
        self.stop = threading.Event()
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="streambatch-emulator")
        self._serial = itertools.count()

    def new_id(self, prefix: str, size: int = 12) -> str:
        """Return a fresh id such as ``file-3f2a...``."""
        return f"{prefix}{secrets.token_hex(size)}"

    def now(self) -> int:
        """Return the emulated unix time, whole seconds."""
        return int(self.clock.now())

    def file_path(self, file_id: str) -> Path:
        """Where the bytes of ``file_id`` live."""
        return self.root / "files" / file_id

    def work_dir(self, batch_id: str) -> Path:
        """Where the work files of ``batch_id`` live."""
        return self.root / "batches" / batch_id

    def run(self, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run blocking ``func(*args)`` on the worker pool."""
        return asyncio.get_running_loop().run_in_executor(self._pool, func, *args)

    def add_file(self, stored: StoredFile) -> None:
        """Register a file."""
        self.files[stored.id] = stored

    def find_file(self, file_id: str) -> StoredFile | None:
        """Return the visible file ``file_id``, if any."""
        stored = self.files.get(file_id)
        if stored is None or not stored.visible(self.clock.monotonic()):
            return None
        return stored

    async def aclose(self) -> None:
        """Stop background work, wait for the pool, remove a temporary root."""
        self.stop.set()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._pool.shutdown, True)
        if self._temporary:
            await loop.run_in_executor(None, shutil.rmtree, self.root, True)
