"""One worker thread for an operation's Arrow work.

pyarrow's allocator keeps memory per thread that allocated it: spread over the
event loop's pool of worker threads, one table operation's few MiB become a
hundred. Each operation (a render, a results write, a join) runs its Arrow
calls on a thread of its own instead, one at a time, in order.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

__all__ = ("Worker",)

T = TypeVar("T")


class Worker:
    """A thread to run blocking calls on, for the ``with`` block."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="streambatch-arrow"
        )

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the worker's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, functools.partial(fn, *args, **kwargs)
        )

    def __enter__(self) -> Worker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True)  # a call still running ends first
