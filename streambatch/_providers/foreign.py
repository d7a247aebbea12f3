"""What a batch made by another tool is, to adopt it: its status, and what the
job needs besides (its input file, endpoint and creation time).

Pure: no I/O. :func:`describe` runs the provider's own ``retrieve`` flow (so
each provider's routes and status mapping are used as they are) and reads the
few more fields adoption needs from the same response body.
"""

from __future__ import annotations

import msgspec

from .._core.flow import Flow, HttpResponse
from .._errors import ConfigError
from .batches import BatchAPI, BatchState, BatchStatus, Planned
from .openai_api import unix_time

__all__ = (
    "ADOPTABLE",
    "INPUT_ONLY",
    "Foreign",
    "batch_id_of",
    "check_adoptable",
    "describe",
    "input_download",
)

ADOPTABLE = ("anthropic", "azure", "gemini", "openai")
"""The providers whose batches ``streambatch adopt`` takes over."""

INPUT_ONLY = ("gemini",)
"""The providers whose batches are adopted only with their requests given: the
Gemini API lets no uploaded file be downloaded again, and its results alone do
not say which model each request named."""


class Foreign(msgspec.Struct, frozen=True, kw_only=True):
    """A batch made elsewhere.

    ``input_file_id`` and ``endpoint`` are OpenAI's (and Azure's), or
    Gemini's input file and batch URL (``models/{model}:batchGenerateContent``);
    an Anthropic batch has neither. ``created_at`` is the provider's creation
    time, Unix seconds, when it gives one.
    """

    status: BatchStatus
    input_file_id: str | None = None
    endpoint: str | None = None
    created_at: float | None = None


class _Extra(msgspec.Struct):
    input_file_id: str | None = None
    endpoint: str | None = None
    created_at: int | float | str | None = None


class _GeminiInput(msgspec.Struct, rename="camel"):
    file_name: str | None = None


class _GeminiMetadata(msgspec.Struct, rename="camel"):
    model: str | None = None
    input_config: _GeminiInput | None = None
    create_time: str | None = None


class _GeminiOperation(msgspec.Struct):
    metadata: _GeminiMetadata = msgspec.field(default_factory=_GeminiMetadata)


_EXTRA = msgspec.json.Decoder(_Extra)
_GEMINI = msgspec.json.Decoder(_GeminiOperation)


def check_adoptable(api: BatchAPI) -> None:
    """Raises ConfigError for a provider whose batches cannot be adopted."""
    if api.name not in ADOPTABLE:
        raise ConfigError(
            f"adopting {api.name} batches is not supported (only "
            f"{', '.join(ADOPTABLE)})"
        )


def batch_id_of(api: BatchAPI, name: str) -> str:
    """The batch id as the job records it: Gemini's SDK names a batch
    ``batches/{id}``, the job keeps the bare id."""
    return name.removeprefix("batches/") if api.name == "gemini" else name


def describe(api: BatchAPI, batch_id: str) -> Flow[Foreign]:
    """The batch ``batch_id`` of another tool, with what adoption needs.

    Raises:
        HTTPStatusError: the provider does not know the batch (404), or refused.
        ProtocolError: the answer is not a batch.
    """
    flow = api.retrieve(batch_id)
    request = next(flow)
    while True:
        response = yield request
        try:
            request = flow.send(response)
        except StopIteration as stop:
            if api.name == "gemini":
                return _gemini(stop.value, response)
            return _foreign(stop.value, response)


def _gemini(status: BatchStatus, response: HttpResponse) -> Foreign:
    try:
        metadata = _GEMINI.decode(response.body).metadata
    except msgspec.DecodeError:
        metadata = _GeminiMetadata()
    source = metadata.input_config or _GeminiInput()
    return Foreign(
        status=status,
        input_file_id=source.file_name,
        endpoint=f"{metadata.model}:batchGenerateContent" if metadata.model else None,
        created_at=unix_time(metadata.create_time),
    )


def _foreign(status: BatchStatus, response: HttpResponse) -> Foreign:
    try:
        extra = _EXTRA.decode(response.body)
    except msgspec.DecodeError:  # a wrapped batch (a compatible host): none known
        extra = _Extra()
    return Foreign(
        status=status,
        input_file_id=extra.input_file_id,
        endpoint=extra.endpoint,
        created_at=unix_time(extra.created_at),
    )


def input_download(api: BatchAPI, batch_id: str, file_id: str) -> Planned:
    """How to download a batch's input file ``file_id``: as the provider would
    download an output file of that id (its routes and query)."""
    as_output = BatchStatus(
        id=batch_id,
        state=BatchState.COMPLETED,
        raw_state="completed",
        output_file_id=file_id,
    )
    (planned,) = api.downloads(as_output)
    return planned
