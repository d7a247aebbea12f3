"""The user-facing entry point: a provider, its credentials and one HTTP session.

Keys come from the environment only (each provider's: ``OPENAI_API_KEY``,
``ANTHROPIC_API_KEY``, ``GEMINI_API_KEY``, ``AZURE_OPENAI_API_KEY``,
``MISTRAL_API_KEY``; or
the variable named by ``api_key_env``), and are kept in the transport's headers:
never in the job directory, a log line, an exception or a repr.
"""

from __future__ import annotations

import os
from types import TracebackType

import aiohttp

from ._adopt import adopt_batch
from ._core.policy import RetryPolicy
from ._core.structure import json_schema_for
from ._core.tables import RequestParams
from ._errors import ConfigError
from ._io.failures import check_base_url, check_key, is_loopback
from ._io.http import Transport
from ._io.jobdir import JobDir
from ._job import Job
from ._providers import provider as provider_named
from ._providers.batches import BatchAPI
from ._providers.openai_api import check_window
from ._setup import Source
from ._tables.jobtable import rows_named, table_requests

__all__ = ("Client",)

EMULATOR_KEY = "streambatch-emulator"
"""The key used against a loopback server (the emulator) when none is set."""


def _key(api: BatchAPI, base_url: str, api_key_env: str | None) -> str:
    name = api_key_env or api.key_env
    key = os.environ.get(name, "")
    if key:
        check_key(key, name)  # a line break would reach the headers
        return key
    if is_loopback(base_url):
        return EMULATOR_KEY
    raise ConfigError(
        f"no API key: set {name} (or name another variable with --api-key-env)"
    )


class Client:
    """Submit and manage batch jobs with one provider.

    Args:
        provider: ``"openai"``, ``"anthropic"``, ``"gemini"``, ``"azure"`` or
            ``"mistral"`` (``streambatch._providers.PROVIDER_NAMES``).
        base_url: the API's base URL, by the official SDKs' convention (OpenAI's
            includes ``/v1``, Anthropic's and Gemini's do not; Azure's is the
            resource endpoint, with ``?api-version=...`` for the classic
            routes); defaults to ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL`` /
            ``GEMINI_BASE_URL`` / ``AZURE_OPENAI_ENDPOINT`` / ``MISTRAL_BASE_URL``
            or the public API (Mistral's, like Anthropic's, has no ``/v1``).
        api_key_env: the environment variable holding the key.
        session: an ``aiohttp.ClientSession`` to share (the caller closes it).
        retry: how failed HTTP exchanges are retried.
        allow_insecure: allow a key over plain http to a non-loopback host.

    Raises:
        ConfigError: unknown provider, no key, or an insecure base URL.
    """

    def __init__(
        self,
        provider: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        allow_insecure: bool = False,
    ) -> None:
        spec = provider_named(provider, jobs=True)
        assert spec.api is not None  # jobs=True
        self.api: BatchAPI = spec.api
        self.base_url = (
            base_url
            or (os.environ.get(spec.base_url_env) if spec.base_url_env else None)
            or self.api.default_base_url
        )
        routes = self.base_url
        if spec.for_url is not None:
            routes, self.api = spec.for_url(self.base_url)
        check_base_url(routes)
        headers = self.api.auth_headers(_key(self.api, routes, api_key_env))
        self.transport = Transport(
            routes,
            headers,
            session=session,
            retry=retry,
            allow_insecure=allow_insecure,
        )

    def __repr__(self) -> str:
        return f"Client({self.api.name!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session if the client opened it."""
        await self.transport.aclose()

    async def submit(
        self,
        source: Source,
        *,
        job_dir: str | os.PathLike[str],
        max_requests: int | None = None,
        max_bytes: int | None = None,
        keep_files: bool = False,
        completion_window: str | None = None,
        schema: object = None,
        prompt: str | None = None,
        id_column: str | None = None,
        model: str | None = None,
        system: str | None = None,
        max_tokens: int | None = None,
    ) -> Job:
        """Split ``source`` and create its batches; resume if ``job_dir`` has it.

        Args:
            source: the requests in the provider's native batch format: a JSONL
                file, or an iterable or async iterable of dicts or msgspec
                structs (on resume an iterable is not read again).
            job_dir: where the job keeps its state (created if needed).
            max_requests: at most this many requests per batch (below the
                provider's limit).
            max_bytes: at most this many bytes per batch (likewise).
            keep_files: keep uploaded input files at the provider after their
                batch has ended (by default they are deleted).
            completion_window: the batches' completion window, for an
                OpenAI-compatible host that offers others than ``24h``
                (``openai`` only; recorded, so a resume keeps it).
            schema: structured output: a JSON Schema dict, or a msgspec
                Struct, dataclass, TypedDict or pydantic model (its JSON
                Schema). Every request asks the provider for it (its
                structured-output field is added where absent), and the job's
                results are checked against it (see docs/structured.md).
            prompt: make the requests from a table (docs/tables.md): ``source``
                is then a Parquet, CSV or JSONL file of rows, a pyarrow Table,
                Dataset or RecordBatchReader, a pandas or polars DataFrame or an
                iterable of dicts, and each row renders this jinja2 template
                (``{{ column }}``) into the prompt of one request.
            id_column: the column of each row's custom_id (unique); by default
                a stable hash of the row.
            model: the model of the requests made from a table.
            system: their system prompt.
            max_tokens: their token limit (Anthropic needs one).

        Returns:
            The job, its directory locked until ``job.close()``.

        Raises:
            InputError: a line of the input is invalid; nothing was submitted.
            JobError: the directory is locked, or holds a job for another input.
            ConfigError: a completion window for a provider without them, or
                a JSON Schema that cannot be used.
            TypeError: ``schema`` is none of the kinds above.
        """
        wanted = None if schema is None else json_schema_for(schema)
        if completion_window is not None:
            if self.api.name != "openai":
                raise ConfigError(
                    f"{self.api.name} batches have no completion window to choose "
                    "(--completion-window is for OpenAI-compatible hosts)"
                )
            check_window(completion_window)
        directory = JobDir.open(job_dir, create=True)
        try:
            table = None
            if prompt is not None:
                table, source = (
                    source,
                    await table_requests(
                        source,
                        directory.path,
                        self.api.name,
                        resumed=directory.load() is not None,
                        template=prompt,
                        id_column=id_column,
                        params=RequestParams(
                            model=model or "", system=system, max_tokens=max_tokens
                        ),
                    ),
                )
            with rows_named(table):  # a bad request names the table's row
                job = await Job.create(
                    source,
                    directory,
                    self.api,
                    self.transport,
                    base_url=self.base_url,
                    max_requests=max_requests,
                    max_bytes=max_bytes,
                    keep_files=keep_files,
                    completion_window=completion_window,
                    schema=wanted,
                )
            await job.submit()
        except BaseException:
            directory.close()
            raise
        return job

    async def adopt(
        self,
        batch_id: str,
        *,
        job_dir: str | os.PathLike[str],
        requests: str | os.PathLike[str] | None = None,
    ) -> Job:
        """Make a job of a batch another tool created (``streambatch adopt``).

        Args:
            batch_id: the provider's batch id.
            job_dir: a new directory for the job (or the one an earlier
                adoption of the same batch made: it is opened again).
            requests: a JSONL file of the batch's requests, to retry them
                where the provider keeps no input (Anthropic); OpenAI's and
                Azure's input file is downloaded.

        Returns:
            The job, its directory locked until ``job.close()``: wait for it,
            download and read its results, retry its failures as any job's.

        Raises:
            ConfigError: the provider's batches cannot be adopted (Mistral's, so far).
            JobError: the batch is unknown, another job's, or ``job_dir``
                holds another job.
            InputError: ``requests`` does not match the batch.
        """
        directory, manifest = await adopt_batch(
            batch_id,
            job_dir,
            self.api,
            self.transport,
            base_url=self.base_url,
            requests=requests,
        )
        return Job(directory, manifest, self.api, self.transport)

    def open_job(self, job_dir: str | os.PathLike[str]) -> Job:
        """Open an existing job directory (locking it) to wait, collect or cancel.

        Raises:
            JobError: not a job directory, locked, or a job of another provider.
        """
        directory = JobDir.open(job_dir, create=False)
        manifest = directory.load()
        if manifest is None or manifest.provider != self.api.name:
            directory.close()
            raise ConfigError(f"{job_dir}: not a {self.api.name} job")
        return Job(directory, manifest, self.api, self.transport)
