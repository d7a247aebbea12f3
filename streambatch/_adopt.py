"""Adopt a batch another tool created: make it a job, so its results come out
through the same ledger, formats and retry as a job streambatch submitted.

Steps, each safe to cut short (running the same adoption again takes it up):

1. the batch is looked up at the provider (unknown: an error, nothing written);
2. it is claimed for the job on this machine (``_io.claims``), so no other job
   takes it; the job's id is fixed by the batch and the directory, so an
   adoption cut short finds its claim its own;
3. its requests become the job's chunk: OpenAI's and Azure's input file is
   downloaded; a file the user gives (``--input``) is copied; otherwise
   (Anthropic keeps no input, or the input file is gone) the chunk is known by
   its custom_ids only, taken from the results once downloaded
   (``_adopted_ids``), and its requests cannot be retried. A Gemini batch
   needs its requests given (the API gives no uploaded file back);
4. the manifest is written, the batch's status in it as a poll's would be.

The caller (``Client.adopt``) makes the ``Job`` of the directory and manifest.

The chunk is made in ``chunks.partial/`` and moved into ``chunks/`` only when
whole, right before the manifest: a directory never holds job files without a
manifest.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

import msgspec

from ._collect import decode_id
from ._core.adoption import (
    ADOPTED_CHUNK,
    AdoptedInput,
    FirstStatus,
    adoption_job_id,
    adoption_manifest,
)
from ._core.flow import HttpRequest
from ._core.lines import LineFramer, Lines, Overlong
from ._core.manifest import Manifest
from ._errors import ConfigError, HTTPStatusError, InputError, JobError, ResultsLost
from ._io.claims import claim
from ._io.failures import gone_is_lost
from ._io.http import Transport
from ._io.jobdir import JobDir
from ._io.reader import file_chunks
from ._providers.batches import BatchAPI, BatchStatus
from ._providers.foreign import (
    INPUT_ONLY,
    Foreign,
    batch_id_of,
    check_adoptable,
    describe,
    input_download,
)

__all__ = ("adopt_batch",)

log = logging.getLogger("streambatch.adopt")


async def adopt_batch(
    batch_id: str,
    job_dir: str | os.PathLike[str],
    api: BatchAPI,
    transport: Transport,
    *,
    base_url: str,
    requests: str | os.PathLike[str] | None = None,
) -> tuple[JobDir, Manifest]:
    """The job of batch ``batch_id``, made in ``job_dir`` (or the one there):
    its locked directory and its manifest.

    Raises:
        ConfigError: the provider's batches cannot be adopted.
        JobError: the batch is unknown, another job's, or ``job_dir`` holds
            another job.
        InputError: a line of ``requests`` is not a request with a custom_id,
            or the file holds another number of requests than the batch.
    """
    check_adoptable(api)
    batch_id = batch_id_of(api, batch_id)
    if requests is None and api.name in INPUT_ONLY:
        raise ConfigError(
            f"a {api.name} batch is adopted with --input FILE, its requests: the "
            f"{api.name} API gives no uploaded file back"
        )
    directory = JobDir.open(job_dir, create=True)
    try:
        manifest = directory.load()
        if manifest is not None:
            _check_same(manifest, api.name, batch_id, directory.path)
            return directory, manifest
        manifest = await _adopt(batch_id, directory, api, transport, base_url, requests)
        return directory, manifest
    except BaseException:
        directory.close()
        raise


def _check_same(manifest: Manifest, provider: str, batch_id: str, path: Path) -> None:
    adopted = manifest.adopted
    if adopted is None or adopted.batch_id != batch_id or manifest.provider != provider:
        what = f"batch {adopted.batch_id}" if adopted else "a job"
        raise JobError(
            f"{path} holds {what} of {manifest.provider} already: adopt "
            f"{batch_id} into a new --job-dir"
        )


async def _adopt(
    batch_id: str,
    directory: JobDir,
    api: BatchAPI,
    transport: Transport,
    base_url: str,
    requests: str | os.PathLike[str] | None,
) -> Manifest:
    foreign = await _describe(api, transport, batch_id, base_url)
    job_id = adoption_job_id(
        api.name, base_url, batch_id, str(directory.path.absolute())
    )
    if not await asyncio.to_thread(claim, batch_id, job_id):
        raise JobError(
            f"batch {batch_id} is another streambatch job's (claimed on this "
            "machine): it was submitted or adopted there; use that job"
        )
    staging = directory.path / "chunks.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    try:
        known = await _requests(foreign, api, transport, staging, requests)
        os.replace(staging / Path(ADOPTED_CHUNK).name, directory.path / ADOPTED_CHUNK)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = adoption_manifest(
        job_id=job_id,
        provider=api.name,
        base_url=base_url,
        batch_id=batch_id,
        requests=known,
        status=_first(api, foreign.status),
        now=time.time(),
        endpoint=foreign.endpoint,
        created_at=foreign.created_at,
        input_file_id=foreign.input_file_id,
    )
    directory.save(manifest)
    log.info("batch %s adopted as job %s", batch_id, job_id)
    return manifest


def _first(api: BatchAPI, status: BatchStatus) -> FirstStatus:
    return FirstStatus(
        state=status.state,
        total=status.total,
        succeeded=status.succeeded,
        failed=status.failed,
        errors=status.errors,
        plan=api.downloads(status) if status.terminal else None,
    )


async def _describe(
    api: BatchAPI, transport: Transport, batch_id: str, base_url: str
) -> Foreign:
    try:
        return await transport.drive(describe(api, batch_id))
    except HTTPStatusError as exc:
        if exc.status != 404:
            raise
        raise JobError(
            f"no batch {batch_id} at {base_url} ({api.name}): check the "
            "id, --provider and --base-url"
        ) from exc


async def _requests(
    foreign: Foreign,
    api: BatchAPI,
    transport: Transport,
    staging: Path,
    given: str | os.PathLike[str] | None,
) -> AdoptedInput:
    """Make the chunk file in ``staging``; say what it holds."""
    target = staging / Path(ADOPTED_CHUNK).name
    total = foreign.status.total
    if given is not None:
        await _copy(given, target)
        known = await _scan(target, str(given))
        if total and known.n_requests != total:
            raise InputError(
                f"holds {known.n_requests:,} requests; batch {foreign.status.id} "
                f"has {total:,}",
                path=str(given),
            )
        return AdoptedInput(
            n_requests=known.n_requests,
            n_bytes=known.n_bytes,
            sha256=known.sha256,
            path=_absolute(given),
        )
    if foreign.input_file_id is not None:
        try:
            await _download_input(foreign, api, transport, target)
        except ResultsLost:
            log.warning(
                "batch %s: its input file %s is gone; its requests are known by "
                "their results only",
                foreign.status.id,
                foreign.input_file_id,
            )
        else:
            return await _scan(target, f"input file {foreign.input_file_id}")
    if not total:
        raise JobError(
            f"batch {foreign.status.id} gives no number of requests yet, and its "
            "requests are not known: adopt it again once it is in progress, or "
            "pass --input FILE (its requests)"
        )
    target.touch(mode=0o600)
    return AdoptedInput(n_requests=total, ids_only=True)


def _absolute(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(path)


async def _download_input(
    foreign: Foreign, api: BatchAPI, transport: Transport, target: Path
) -> None:
    batch_id, file_id = foreign.status.id, foreign.input_file_id or ""
    planned = input_download(api, batch_id, file_id)
    request = HttpRequest(method="GET", path=planned.path, query=planned.query)
    with gone_is_lost(batch_id, "input"):  # ResultsLost: the file is gone
        expected = await transport.drive(api.file_size(file_id))
        await transport.download(request, target, expected=expected)
    os.chmod(target, 0o600)


async def _copy(source: str | os.PathLike[str], target: Path) -> None:
    """Copy the user's file, each line ending with a newline (the uploads join
    lines on that)."""
    last = b"\n"
    # Writes to a local file; created readable by the owner only.
    with open(  # noqa: ASYNC230
        target, "wb", opener=lambda p, f: os.open(p, f, 0o600)
    ) as out:
        async for block in file_chunks(source):
            out.write(block)
            last = block[-1:]
        if last != b"\n":
            out.write(b"\n")


async def _scan(path: Path, label: str) -> AdoptedInput:
    """Count the requests of a chunk file, each checked to name a custom_id."""
    digest = hashlib.sha256()
    framer = LineFramer()
    count = size = 0
    async for block in file_chunks(path):
        digest.update(block)
        size += len(block)
        count += _count(framer.feed(block), label)
    count += _count(framer.close(), label)
    return AdoptedInput(n_requests=count, n_bytes=size, sha256=digest.hexdigest())


def _count(frames: list[Lines | Overlong], label: str) -> int:
    count = 0
    for frame in frames:
        if isinstance(frame, Overlong):
            raise InputError("line too long", path=label, line_no=frame.line)
        for offset, line in enumerate(bytes(frame.data).split(b"\n")):
            if not line.strip():
                continue
            try:
                custom_id = decode_id(line)
            except msgspec.DecodeError:
                custom_id = ""
            if not custom_id:
                raise InputError(
                    "not a request with a custom_id",
                    path=label,
                    line_no=frame.first_line + offset,
                )
            count += 1
    return count
