"""A thin synchronous facade, for scripts and notebooks.

``run_job`` (submit) and ``adopt_job`` (a batch another tool made) block until
a whole job is done; inside a running event loop (a Jupyter notebook) they run
the job on its own loop in a worker thread.
(``read_results``, in ``_results``, parses a file with no event loop at all.)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from ._client import Client
from ._core.jobstate import Progress
from ._core.policy import PollPolicy
from ._job import Job

__all__ = ("adopt_job", "run_job")

_Only = Literal["succeeded", "failed"]

T = TypeVar("T")


def _block(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run_job(
    input_path: str | os.PathLike[str],
    *,
    provider: str,
    job_dir: str | os.PathLike[str],
    output: str | os.PathLike[str],
    base_url: str | None = None,
    api_key_env: str | None = None,
    max_requests: int | None = None,
    max_bytes: int | None = None,
    poll: PollPolicy | None = None,
    with_response: bool = False,
    only: _Only | None = None,
    on_progress: Callable[[Progress], object] | None = None,
    workers: int | None = None,
    schema: object = None,
) -> dict[str, int]:
    """Submit (or resume) a job, wait for it and write its results; block meanwhile.

    The arguments are those of :class:`Client`, :meth:`Client.submit`,
    :meth:`Job.wait` and :meth:`Job.write_results`.

    Returns:
        The number of results per status.

    Raises:
        InputError: the input has bad lines; nothing was submitted.
        StreamBatchError: anything else that stopped the job (it resumes when
            called again with the same ``job_dir``).
    """

    async def whole() -> dict[str, int]:
        async with Client(
            provider, base_url=base_url, api_key_env=api_key_env
        ) as client:
            job = await client.submit(
                input_path,
                job_dir=job_dir,
                max_requests=max_requests,
                max_bytes=max_bytes,
                schema=schema,
            )
            return await _finish(
                job, output, poll, on_progress, with_response, only, workers
            )

    return _block(whole())


def adopt_job(
    batch_id: str,
    *,
    provider: str,
    job_dir: str | os.PathLike[str],
    output: str | os.PathLike[str],
    requests: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    poll: PollPolicy | None = None,
    with_response: bool = False,
    only: _Only | None = None,
    on_progress: Callable[[Progress], object] | None = None,
    workers: int | None = None,
) -> dict[str, int]:
    """Adopt a batch another tool created (or open the job an earlier adoption
    made), wait for it and write its results; block meanwhile.

    The arguments are those of :class:`Client`, :meth:`Client.adopt`,
    :meth:`Job.wait` and :meth:`Job.write_results`.

    Returns:
        The number of results per status.

    Raises:
        ConfigError: the provider's batches cannot be adopted.
        JobError: the batch is unknown, another job's, or ``job_dir`` holds
            another job.
        StreamBatchError: anything else that stopped the job (it resumes when
            called again with the same ``job_dir``).
    """

    async def whole() -> dict[str, int]:
        async with Client(
            provider, base_url=base_url, api_key_env=api_key_env
        ) as client:
            job = await client.adopt(batch_id, job_dir=job_dir, requests=requests)
            return await _finish(
                job, output, poll, on_progress, with_response, only, workers
            )

    return _block(whole())


async def _finish(
    job: Job,
    output: str | os.PathLike[str],
    poll: PollPolicy | None,
    on_progress: Callable[[Progress], object] | None,
    with_response: bool,
    only: _Only | None,
    workers: int | None,
) -> dict[str, int]:
    """Wait for ``job``, download and write its results; close it."""
    with job:
        await job.wait(poll=poll, on_progress=on_progress)
        await job.download()
        counts = await job.write_results(
            output, with_response=with_response, only=only, workers=workers
        )
    return dict(counts)
