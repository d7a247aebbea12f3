"""Structured concurrency for the job's many tasks, without leaking ExceptionGroup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

__all__ = ("task_group",)

log = logging.getLogger("streambatch")


@contextlib.asynccontextmanager
async def task_group() -> AsyncIterator[asyncio.TaskGroup]:
    """A TaskGroup that raises the first failure itself, not an ExceptionGroup.

    One failing task cancels its siblings (TaskGroup semantics); the others'
    errors, if any, are logged.
    """
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failures:
        first, *others = failures.exceptions
        for other in others:
            log.warning("also failed: %s", other)
        raise first from None
