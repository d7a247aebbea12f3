"""A job: the thin facade over its store, its provider and its transport.

Each step lives in its own module, which takes the store, the provider and the
transport (never a ``Job``): ``_submit`` creates batches, ``_poll`` watches them,
``_download`` fetches their files, ``_collect`` reads the results back, ``_retry``
plans new attempts. The job's state changes only through ``_io.store.JobStore``,
by the transitions of ``_core.jobstate``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from ._adopted_ids import write_adopted_ids
from ._collect import Only, ResultCounts, iter_results, write_results
from ._core.health import HealthWarning, warnings_of
from ._core.jobstate import Progress, progress_of
from ._core.manifest import BatchRecord, ChunkRecord, Manifest
from ._core.metrics import Metrics, metrics_of
from ._core.policy import PollPolicy
from ._core.pricing import Price
from ._core.structure import structure_for
from ._download import download_all
from ._health import OnWarning, watching
from ._io.http import Transport
from ._io.jobdir import JobDir
from ._io.retrying import Sleep
from ._io.store import JobStore
from ._models import Result
from ._poll import apply_status, poll_all
from ._proof import settle_adopted
from ._providers.batches import BatchAPI, BatchStatus
from ._retry import plan_retry
from ._setup import Source, open_manifest
from ._spliced import pool_for
from ._submit import submit_all
from ._tables.deps import need
from ._tables.results import arrow_reader, write_table_results
from ._tables.sink import target_format

__all__ = ("Job", "Sleep")


class Job:
    """A batch job and its directory. Made by ``Client.submit`` or ``Client.open_job``.

    Attributes:
        store: the job's state (read ``job.manifest``; only the store changes it).
        api: the provider's batch API.
        transport: the HTTP transport, with the credentials.
    """

    def __init__(
        self, job_dir: JobDir, manifest: Manifest, api: BatchAPI, transport: Transport
    ) -> None:
        self.store = JobStore(job_dir, manifest)
        self.api = api
        self.transport = transport

    @property
    def dir(self) -> JobDir:
        """The open, locked job directory."""
        return self.store.dir

    @property
    def manifest(self) -> Manifest:
        """What the job did so far (read-only)."""
        return self.store.manifest

    @property
    def path(self) -> Path:
        """The job directory."""
        return self.store.path

    def close(self) -> None:
        """Release the job directory's lock (the job can be opened again later)."""
        self.store.flush()
        self.dir.close()

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @classmethod
    async def create(
        cls,
        source: Source,
        job_dir: JobDir,
        api: BatchAPI,
        transport: Transport,
        *,
        base_url: str,
        max_requests: int | None = None,
        max_bytes: int | None = None,
        keep_files: bool = False,
        completion_window: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> Job:
        """Split ``source`` into the job directory, or resume what is there.

        ``source`` is a JSONL file, or an (async) iterable of request objects in
        the provider's native line shape. On resume a file is checked against
        the hash recorded at submission; an iterable is not read again.

        Raises:
            InputError: a line of the input is invalid (nothing was submitted).
            JobError: the directory holds a job for another input or provider.
        """
        manifest = await open_manifest(
            source,
            job_dir,
            api.name,
            base_url=base_url,
            max_requests=max_requests,
            max_bytes=max_bytes,
            keep_files=keep_files,
            completion_window=completion_window,
            schema=schema,
        )
        return cls(job_dir, manifest, api, transport)

    def attempts(self) -> list[tuple[ChunkRecord, BatchRecord]]:
        """Every (chunk, attempt) pair, in chunk order."""
        return self.store.attempts()

    def progress(self) -> Progress:
        """Batches per state and requests done, from the last poll."""
        return progress_of(self.manifest)

    def metrics(self) -> Metrics:
        """Success and error rates, errors by type, batch times, requests sent
        per attempt, bytes and cost, from the manifest (``_core.metrics``)."""
        return metrics_of(self.manifest)

    def warnings(
        self, *, now: float | None = None, stall_after: float | None = None
    ) -> list[HealthWarning]:
        """What may need a look at time ``now`` (Unix seconds, default the
        current time): see ``_core.health.warnings_of``."""
        when = time.time() if now is None else now
        return warnings_of(self.manifest, when, stall_after=stall_after)

    async def submit(self, *, concurrency: int = 4) -> None:
        """Create a batch for every attempt that has none yet (the resumable step)."""
        await submit_all(self.store, self.api, self.transport, concurrency=concurrency)

    async def wait(
        self,
        *,
        poll: PollPolicy | None = None,
        on_progress: Callable[[Progress], object] | None = None,
        concurrency: int = 8,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        stall_after: float | None = None,
        on_warning: OnWarning | None = None,
    ) -> Progress:
        """Poll every unfinished batch, concurrently, until all have ended.

        Args:
            poll: the delays between polls of one batch.
            on_progress: called with a snapshot whenever a batch changes.
            concurrency: the most status requests in flight at once.
            sleep: the sleep function (tests pass a fast or recording one).
            rng: randomness for the poll jitter.
            stall_after: warn of a batch whose state and counts have not
                changed for this many seconds (None: never).
            on_warning: called with each health warning as it appears (each
                is also logged, once).

        Returns:
            The final progress snapshot.

        Transient failures of a poll (network, 429, 5xx) are retried by the
        transport and then by the next poll; any other error (a 401, a 404 for a
        batch the provider does not know) ends the wait.

        A batch found by matching after a lost create answer (Anthropic) is
        checked once it has ended (``_proof``): a batch shown not to be the
        job's is left alone, and its chunk is submitted anew and waited for.
        """
        async with watching(
            lambda: self.manifest, stall_after=stall_after, on_warning=on_warning
        ):
            while True:
                await poll_all(
                    self.store,
                    self.api,
                    self.transport,
                    poll or PollPolicy(),
                    on_progress=on_progress,
                    concurrency=concurrency,
                    sleep=sleep,
                    rng=rng or random.Random(),
                )
                refused = await settle_adopted(self.store, self.api, self.transport)
                if (
                    not refused
                    or self.manifest.cancelled
                    or self.dir.cancel_requested()
                ):
                    return progress_of(self.manifest)
                await self.submit()

    async def download(self) -> int:
        """Download the files of every ended batch not yet on disk; return how many.

        An adopted batch known by its results only gets its custom_ids from
        them then (``_adopted_ids``)."""
        count = await download_all(self.store, self.api, self.transport)
        await write_adopted_ids(self.store)
        return count

    def results(
        self, *, with_response: bool = False, schema: Any = None
    ) -> AsyncIterator[Result]:
        """Every request's result, exactly once (see ``_collect.iter_results``).

        Call :meth:`download` first; results of batches not downloaded yet come
        out as ``missing``. ``schema`` decodes each succeeded text into
        ``Result.parsed`` (a msgspec Struct, dataclass, TypedDict, pydantic
        model or JSON Schema dict; anything else raises ``TypeError`` here); by
        default, a job submitted with a schema is checked against it.
        """
        structure = structure_for(schema)  # refused here, not at the first record
        return iter_results(self.store, with_response=with_response, schema=structure)

    async def write_results(
        self,
        path: str | os.PathLike[str],
        *,
        with_response: bool = False,
        only: Only | None = None,
        prices: Mapping[str, Price] | None = None,
        workers: int | None = None,
        format: str | None = None,
        join_input: bool = False,
    ) -> ResultCounts:
        """Write one JSON line per request to ``path``; return the counts by status.

        Call :meth:`download` first. ``only`` keeps the succeeded records, the
        failed ones (errored, expired, canceled) or the truncated ones (cut off
        at the token limit); the counts cover all. The counts also tell how many
        were truncated and what the results cost (``prices``: the user's, in
        USD per million tokens, before the built-in table), which is recorded
        for ``status``. ``workers`` processes share the encoding of the
        output files when they come to 128 MiB or more in all (by default, and
        for less, one thread of this process does it); the file written is the
        same for any number. More than one starts processes with
        ``spawn``: a script must then guard its entry point with
        ``if __name__ == "__main__":``, as any ``multiprocessing`` code must.

        As a table (docs/tables.md): ``format`` ``"parquet"`` or ``"csv"`` (by
        default from the name: ``.parquet``, ``.csv``; a name ending in ``/`` is
        a Parquet dataset directory) writes one row per request;
        ``join_input`` puts each beside its input row's columns (a job made
        from a table).
        """
        if join_input or target_format(path, format) != "jsonl":
            return await write_table_results(
                self.store,
                path,
                format,
                with_response=with_response,
                only=only,
                prices=prices,
                join_input=join_input,
            )
        return await write_results(
            self.store,
            path,
            with_response=with_response,
            only=only,
            prices=prices,
            pool=pool_for(workers or 1, self.store.downloaded_bytes()),
        )

    def to_arrow(self, *, with_response: bool = False, join_input: bool = False) -> Any:
        """Every request's result as a streaming ``pyarrow.RecordBatchReader``
        (the columns of docs/tables.md; ``join_input``: beside its input row's
        columns). Call :meth:`download` first. Needs ``streambatch[parquet]``.
        """
        return arrow_reader(
            self.store, with_response=with_response, join_input=join_input
        )

    def to_pandas(self, *, join_input: bool = False) -> Any:
        """Every request's result as a pandas DataFrame (held whole in memory)."""
        return self.to_arrow(join_input=join_input).read_all().to_pandas()

    def to_polars(self, *, join_input: bool = False) -> Any:
        """Every request's result as a polars DataFrame (held whole in memory)."""
        polars = need("polars", "Job.to_polars()")
        return polars.from_arrow(self.to_arrow(join_input=join_input).read_all())

    async def retry_failed(
        self,
        *,
        all_failures: bool = False,
        max_attempts: int = 3,
        max_requests: int | None = None,
        max_bytes: int | None = None,
    ) -> int:
        """Resubmit the failed requests as new batches (attempt N); return how many.

        Only retryable failures (expired, canceled, missing, server and rate-limit
        errors) unless ``all_failures``; a request is sent at most
        ``max_attempts`` times. ``max_requests`` and ``max_bytes`` split a
        chunk's retry into smaller batches (for a batch the provider failed for
        its size). Wait for the new batches with :meth:`wait`.

        Raises:
            JobError: a batch has not ended or has not been downloaded yet.
        """
        count = await plan_retry(
            self.store,
            all_failures=all_failures,
            max_attempts=max_attempts,
            max_requests=max_requests,
            max_bytes=max_bytes,
        )
        if count:
            await self.submit()
        return count

    async def cancel(self) -> list[BatchStatus]:
        """Cancel every batch of the job that has not ended; record it.

        A batch found by matching and not yet shown to be the job's is left
        running: it may be another job's."""
        self.store.cancel()
        statuses = []
        for chunk, record in self.attempts():
            if record.batch_id is None or record.ended or record.unverified:
                continue
            status = await self.transport.drive(self.api.cancel(record.batch_id))
            apply_status(self.store, self.api, chunk, record, status)
            statuses.append(status)
        return statuses
