"""What every provider's batch API looks like to the rest of streambatch.

Pure: no I/O. Each provider module implements :class:`BatchAPI` with flows (see
``_core.flow``); states are normalised to :data:`BatchState`.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from .._core.flow import Flow
from .._core.manifest import Planned
from .._core.states import TERMINAL, BatchState

__all__ = ("TERMINAL", "BatchAPI", "BatchState", "BatchStatus", "ChunkRef", "Planned")


class BatchStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the provider says of one batch.

    ``total``, ``succeeded`` and ``failed`` are request counts; None where the
    provider gives none yet (Anthropic reports them only at the end).
    """

    id: str
    state: BatchState
    raw_state: str
    total: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    results_url: str | None = None
    errors: list[str] = []

    @property
    def terminal(self) -> bool:
        """Whether the batch has ended."""
        return self.state.terminal


class ChunkRef(msgspec.Struct, frozen=True, kw_only=True):
    """A chunk of requests to create one batch from.

    ``tag`` identifies the chunk's batch among the provider's batches (OpenAI keeps
    it in batch metadata); ``since`` is the Unix time just before the create call,
    used to look the batch up after an interrupted create; ``completion_window``
    is the one the job asked for (None: the provider's default); ``model`` is the
    chunk's one model, for a provider that names it on the batch (Mistral).
    """

    path: str
    n_requests: int
    endpoint: str | None
    tag: dict[str, str]
    model: str | None = None
    since: float = 0.0
    completion_window: str | None = None


class BatchAPI(Protocol):
    """One provider's batch operations, as flows.

    ``uploads``: the requests go in an uploaded file first. ``tags``: a batch
    carries our tag (metadata), so an interrupted create is found exactly; without
    tags it is found by matching, which is exact only while one create at a time
    is in flight.
    """

    name: str
    default_base_url: str
    key_env: str
    uploads: bool
    tags: bool

    def auth_headers(self, key: str) -> dict[str, str]:
        """The headers that carry ``key``."""
        ...

    def upload(self, chunk: ChunkRef) -> Flow[str]:
        """Upload a chunk's file; return its file id (only if ``uploads``)."""
        ...

    def create(self, chunk: ChunkRef, file_id: str | None) -> Flow[str]:
        """Create the chunk's batch; return the batch id."""
        ...

    def find(self, chunk: ChunkRef, known: frozenset[str]) -> Flow[str | None]:
        """Look up a batch created for ``chunk`` (not in ``known``), if any."""
        ...

    def retrieve(self, batch_id: str) -> Flow[BatchStatus]:
        """The batch's current status."""
        ...

    def cancel(self, batch_id: str) -> Flow[BatchStatus]:
        """Ask the provider to cancel the batch."""
        ...

    def downloads(self, status: BatchStatus) -> list[Planned]:
        """The result files of an ended batch (recorded as its download plan)."""
        ...

    def file_size(self, file_id: str) -> Flow[int]:
        """The size in bytes of a file (only if ``uploads``)."""
        ...

    def delete_file(self, file_id: str) -> Flow[None]:
        """Delete a file; one already gone is not an error (only if ``uploads``)."""
        ...
