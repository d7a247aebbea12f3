"""The job manifest: everything a job did, as values, and its JSON form.

Pure: no I/O (``_io.jobdir`` reads and writes it). The manifest is the job's
single source of truth for resume: which chunks exist, which file and batch ids
were created for them, the intent recorded before each create, and the last known
state of every batch. It never holds an API key.

Invariant: a batch record with ``creating_since`` set and no ``batch_id`` means a
create call may have reached the provider; resume must look the batch up before
creating another. A record marked ``unverified`` holds a batch found by matching
(a provider without tags): none of its results are used until its custom_ids
are shown to be the attempt's (``_proof``).

Fields added after version 2 was first written are optional, with defaults, so
a manifest an earlier streambatch wrote reads as it was (its batches have no
recorded times, its job no result tally: metrics and warnings say so).
"""

from __future__ import annotations

import msgspec

from .._errors import JobError
from .states import BatchState

__all__ = (
    "Adoption",
    "BatchRecord",
    "ChunkRecord",
    "Manifest",
    "Planned",
    "Tally",
    "decode_manifest",
    "encode_manifest",
)

VERSION = 2


class Planned(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A result file of an ended batch, as the provider named it when it ended:
    its kind (output, error, results), the request (path and query) that streams it, and the
    provider's file id when the file's size can be asked."""

    kind: str
    path: str
    query: dict[str, str] = {}
    file_id: str | None = None


class BatchRecord(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """One attempt at running (part of) one chunk as a provider batch.

    Attempt 1 holds the whole chunk; a retry (attempt 2, 3, ...) holds only the
    requests being retried, in its own file ``path`` of ``n_requests`` lines.
    ``unverified``: the batch was found by matching after a lost create answer
    and is not yet shown to be this attempt's; ``refused``: batches so found and
    shown not to be (never taken again). Frozen: ``_core.jobstate`` makes the
    changed copies, ``_io.store`` keeps them.

    Times (Unix seconds; None in manifests written before they were recorded):
    ``created_at`` the provider's creation time of an adopted batch (the
    job's own are created at ``creating_since``); ``state_since`` when a poll
    first saw the batch in its current state; ``changed_at`` when a poll last
    saw its state or counts change; ``ended_at`` when a poll first saw it ended.
    """

    attempt: int = 1
    path: str | None = None
    n_requests: int | None = None
    tag: dict[str, str] = {}
    file_id: str | None = None
    creating_since: float | None = None
    batch_id: str | None = None
    state: BatchState | None = None
    total: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    errors: list[str] = []
    plan: list[Planned] | None = None
    downloads: dict[str, int] = {}
    file_deleted: bool = False
    unverified: bool = False
    refused: list[str] = []
    created_at: float | None = None
    state_since: float | None = None
    changed_at: float | None = None
    ended_at: float | None = None

    @property
    def ended(self) -> bool:
        """Whether the batch has ended (its download plan is recorded)."""
        return self.plan is not None

    @property
    def downloaded(self) -> bool:
        """Whether every file of the ended batch is on disk."""
        return self.plan is not None and all(
            p.kind in self.downloads for p in self.plan
        )


class ChunkRecord(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """A chunk of the input (a file under ``chunks/``) and its batch attempts.

    ``ids_only``: the chunk is a batch adopted without its requests (an
    Anthropic batch has no input file): its file holds only the custom_ids,
    ``{"custom_id": ...}`` a line, written from the results once they are
    downloaded (empty before). Its requests cannot be sent again.
    """

    index: int
    path: str
    n_requests: int
    n_bytes: int
    first_line: int
    endpoint: str | None = None
    model: str | None = None
    batches: list[BatchRecord] = []
    ids_only: bool = False

    @property
    def batch(self) -> BatchRecord:
        """The latest attempt."""
        return self.batches[-1]

    def path_of(self, record: BatchRecord) -> str:
        """The requests file of an attempt."""
        return record.path or self.path

    def size_of(self, record: BatchRecord) -> int:
        """The number of requests in an attempt."""
        return record.n_requests if record.n_requests is not None else self.n_requests


class Cost(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the job's results cost, from their usage, when last written.

    ``usd`` counts the priced models only; ``unpriced`` names the others (their
    tokens are not in ``usd``). ``prices_as_of`` dates the price table used.
    ``cached_tokens`` of the input tokens were read from the provider's prompt
    cache (priced at the cached-input rate where the table has one).
    """

    usd: float
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    unpriced: list[str] = []
    prices_as_of: str = ""


class Tally(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The job's results, counted when last written: records per status, and
    failed records per error type (``error.type``)."""

    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}


class Adoption(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where an adopted job's batch came from: made by another tool, taken
    over with ``streambatch adopt``. ``input_file_id`` is the other tool's
    uploaded input (never deleted by streambatch), when the batch had one."""

    batch_id: str
    adopted_at: float
    input_file_id: str | None = None


class Manifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A whole job (``adopted``: a batch made elsewhere, see :class:`Adoption`)."""

    version: int = VERSION
    job_id: str
    provider: str
    base_url: str
    input_path: str
    input_sha256: str
    input_bytes: int
    n_requests: int
    created_at: float
    chunks: list[ChunkRecord] = []
    cancelled: bool = False
    keep_files: bool = False
    max_requests: int | None = None
    max_bytes: int | None = None
    cost: Cost | None = None
    completion_window: str | None = None
    tally: Tally | None = None
    adopted: Adoption | None = None


class _Version(msgspec.Struct):
    version: int


_VERSION = msgspec.json.Decoder(_Version)
_DECODER = msgspec.json.Decoder(Manifest)
_ENCODER = msgspec.json.Encoder()


def encode_manifest(manifest: Manifest) -> bytes:
    """The manifest as compact JSON (a job of thousands of batches rewrites it
    often; ``streambatch status --json`` or ``python -m json.tool`` shows it)."""
    return _ENCODER.encode(manifest) + b"\n"


def decode_manifest(data: bytes, source: str) -> Manifest:
    """Read a manifest.

    Raises:
        JobError: the bytes are not a manifest this version understands.
    """
    try:
        version = _VERSION.decode(data).version
        if version == VERSION:
            return _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise JobError(f"{source}: not a streambatch manifest ({exc})") from exc
    raise JobError(
        f"{source}: manifest version {version} is not supported "
        f"(this streambatch writes version {VERSION}); finish the job with the "
        "streambatch that started it"
    )
