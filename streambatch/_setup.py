"""Start a job's manifest by splitting its source, or check a resumed job's source.

The split goes to a staging folder first; only a complete, valid split becomes the
job's chunks, so bad input leaves nothing behind and nothing is submitted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ._core.jobstate import unfinished
from ._core.manifest import BatchRecord, ChunkRecord, Manifest
from ._core.structured import SchemaInjector
from ._errors import ConfigError, InputError, JobError
from ._io.disk import size_or_none, space_for
from ._io.jobdir import JobDir, sha256_file
from ._io.reader import first_line
from ._io.schemafile import load_schema, save_schema
from ._io.split import SplitPlan, split_input, split_requests
from ._providers import input_rules, translator_for
from ._providers.translate import is_openai_line

__all__ = ("Source", "open_manifest")

log = logging.getLogger("streambatch.job")

Source = str | os.PathLike[str] | Iterable[Any] | AsyncIterable[Any]
"""A job's requests: a JSONL file, or request objects (dicts or msgspec structs)."""


async def open_manifest(
    source: Source,
    job_dir: JobDir,
    provider: str,
    *,
    base_url: str,
    max_requests: int | None,
    max_bytes: int | None,
    keep_files: bool,
    completion_window: str | None = None,
    schema: Mapping[str, Any] | None = None,
) -> Manifest:
    """The manifest of the job in ``job_dir``: resumed, or made by splitting ``source``.

    ``schema`` (a JSON Schema) is put into every request as the provider's
    structured-output field, and kept in the job directory for ``results``.

    Raises:
        InputError: a line of the input is invalid (nothing was submitted).
        JobError: the directory holds a job for another input or provider.
    """
    existing = job_dir.load()
    if existing is not None:
        _check_same_job(existing, provider, base_url, max_requests, max_bytes)
        _check_same_window(existing, completion_window)
        _check_same_schema(job_dir, schema)
        await _check_same_input(existing, source)
        return existing
    staging = job_dir.path / "chunks.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with space_for(job_dir.path / "chunks", size_or_none(source)):  # DiskFull
        plan = await _split(source, provider, staging, max_requests, max_bytes, schema)
    job_id = uuid.uuid4().hex[:16]
    manifest = Manifest(
        job_id=job_id,
        provider=provider,
        base_url=base_url,
        input_path=_absolute(source) if isinstance(source, str | os.PathLike) else "",
        input_sha256=plan.input_sha256,
        input_bytes=plan.input_bytes,
        n_requests=plan.n_requests,
        created_at=time.time(),
        chunks=_adopt(plan, job_dir, job_id),
        keep_files=keep_files,
        max_requests=max_requests,
        max_bytes=max_bytes,
        completion_window=completion_window,
    )
    shutil.rmtree(staging, ignore_errors=True)
    if schema is not None:
        save_schema(job_dir.path, schema)  # before the manifest that implies it
    job_dir.save(manifest)
    return manifest


async def _split(
    source: Source,
    provider: str,
    staging: Path,
    max_requests: int | None,
    max_bytes: int | None,
    schema: Mapping[str, Any] | None = None,
) -> SplitPlan:
    rules = input_rules(provider)
    translator = translator_for(provider)  # OpenAI lines sent elsewhere
    rewrite = None
    if schema is not None:
        # An OpenAI input to be translated is asked for the schema as OpenAI
        # lines ask (response_format), which the translation maps.
        shape = provider
        if (
            translator is not None
            and isinstance(source, str | os.PathLike)
            and is_openai_line(await asyncio.to_thread(first_line, source))
        ):
            shape = "openai"
        rewrite = SchemaInjector(shape, schema).rewrite
    try:
        if isinstance(source, str | os.PathLike):
            _check_encoding(source)
            return await split_input(
                source,
                rules,
                staging,
                max_requests=max_requests,
                max_bytes=max_bytes,
                translator=translator,
                rewrite=rewrite,
            )
        return await split_requests(
            source,
            rules,
            staging,
            max_requests=max_requests,
            max_bytes=max_bytes,
            translator=translator,
            rewrite=rewrite,
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _adopt(plan: SplitPlan, job_dir: JobDir, job_id: str) -> list[ChunkRecord]:
    """Move the split's chunk files into the job and describe them."""
    chunks = []
    for chunk in plan.chunks:
        name = Path(chunk.path).name
        os.replace(chunk.path, job_dir.path / "chunks" / name)
        os.chmod(job_dir.path / "chunks" / name, 0o600)
        tag = {"streambatch_job": job_id, "streambatch_chunk": str(chunk.index)}
        chunks.append(
            ChunkRecord(
                index=chunk.index,
                path=f"chunks/{name}",
                n_requests=chunk.n_requests,
                n_bytes=chunk.n_bytes,
                first_line=chunk.first_line,
                endpoint=chunk.group[0] if chunk.group else None,
                model=chunk.group[1] if chunk.group else None,
                batches=[
                    BatchRecord(attempt=1, tag=tag | {"streambatch_attempt": "1"})
                ],
            )
        )
    return chunks


def _absolute(path: str | os.PathLike[str]) -> str:
    return str(Path(path).absolute())


_GZIP = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"


def _check_encoding(path: str | os.PathLike[str]) -> None:
    """Refuse, by name, the two inputs that are not plain UTF-8 JSON lines but
    look like them to a user: a gzip file and a file that starts with a BOM.

    Raises:
        InputError: the input is compressed or starts with a byte-order mark.
    """
    try:
        with open(path, "rb") as file:  # three bytes, once
            head = file.read(3)
    except OSError:
        return  # the split reports it
    if head.startswith(_GZIP):
        raise InputError(
            "the input is gzip-compressed: decompress it first "
            f"(gunzip -k {os.fspath(path)})",
            path=os.fspath(path),
        )
    if head.startswith(_BOM):
        raise InputError(
            "the input starts with a UTF-8 byte-order mark, which the providers "
            "refuse: save it as UTF-8 without BOM (e.g. sed -i '1s/^\\xEF\\xBB\\xBF//')",
            path=os.fspath(path),
            line_no=1,
        )


def _check_same_job(
    manifest: Manifest,
    provider: str,
    base_url: str,
    max_requests: int | None,
    max_bytes: int | None,
) -> None:
    """A resumed job keeps what it was submitted with: its provider, its host
    (its batches live there) and its split.

    Raises:
        ConfigError: a different host or split was asked for.
        JobError: the directory holds another provider's job.
    """
    if manifest.provider != provider:
        raise JobError(
            f"the job directory holds a {manifest.provider} job, not {provider}"
        )
    if base_url.rstrip("/") != manifest.base_url.rstrip("/") and unfinished(manifest):
        raise ConfigError(
            f"the job's batches live at {manifest.base_url}, not {base_url}: "
            "resume it without --base-url (or with that one), or use a new --job-dir"
        )
    for option, asked, recorded in (
        ("--max-requests", max_requests, manifest.max_requests),
        ("--max-bytes", max_bytes, manifest.max_bytes),
    ):
        if asked is not None and asked != recorded:
            was = "none" if recorded is None else str(recorded)
            raise ConfigError(
                f"the job was split with {option} {was}; a resumed job keeps its "
                f"split (use a new --job-dir, or 'streambatch retry {option} N' to "
                "re-split what failed)"
            )


def _check_same_window(manifest: Manifest, asked: str | None) -> None:
    """A resumed job keeps its completion window (None asks for nothing).

    Raises:
        ConfigError: another window was asked for.
    """
    if asked is not None and asked != manifest.completion_window:
        was = manifest.completion_window or "the provider's default"
        raise ConfigError(
            f"the job was submitted with --completion-window {was}; a resumed job "
            "keeps it (leave the option out, or use a new --job-dir)"
        )


def _check_same_schema(job_dir: JobDir, asked: Mapping[str, Any] | None) -> None:
    """A resumed job keeps the schema it was submitted with (None asks for
    nothing).

    Raises:
        ConfigError: another schema, or one for a job submitted without.
    """
    if asked is None:
        return
    recorded = load_schema(job_dir.path)
    if recorded is None:
        raise ConfigError(
            "the job was submitted without a schema; a resumed job keeps its "
            "requests (leave the schema out, or use a new --job-dir)"
        )
    if recorded != dict(asked):
        raise ConfigError(
            "the job was submitted with another schema; a resumed job keeps it "
            "(give the same one, leave it out, or use a new --job-dir)"
        )


async def _check_same_input(manifest: Manifest, source: Source) -> None:
    if not isinstance(source, str | os.PathLike):
        log.info("resuming; requests given from Python are not checked again")
        return
    input_path = source
    digest = await sha256_file(input_path)
    if digest != manifest.input_sha256:
        raise JobError(
            f"{input_path} has changed since this job was submitted "
            f"(sha256 {digest[:12]}…, the job has {manifest.input_sha256[:12]}…); "
            "use a new --job-dir for a new input"
        )
