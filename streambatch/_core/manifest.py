"""The job manifest: everything a job did, as values, and its JSON form.

Pure: no I/O (``_io.jobdir`` reads and writes it). The manifest is the job's
single source of truth for resume: which chunks exist, which file and batch ids
were created for them, the intent recorded before each create, and the last known
state of every batch. It never holds an API key.

Invariant: a batch record with ``creating_since`` set and no ``batch_id`` means a
create call may have reached the provider; resume must look the batch up before
creating another.
"""

from __future__ import annotations

import msgspec

from .._errors import JobError

__all__ = (
    "BatchRecord",
    "ChunkRecord",
    "Manifest",
    "decode_manifest",
    "encode_manifest",
)

VERSION = 1


class BatchRecord(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One attempt at running (part of) one chunk as a provider batch.

    Attempt 1 holds the whole chunk; a retry (attempt 2, 3, ...) holds only the
    requests being retried, in its own file ``path`` of ``n_requests`` lines.
    """

    attempt: int = 1
    path: str | None = None
    n_requests: int | None = None
    tag: dict[str, str] = {}
    file_id: str | None = None
    creating_since: float | None = None
    batch_id: str | None = None
    state: str | None = None
    total: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[str] = []
    downloads: dict[str, int] = {}
    downloaded: bool = False
    file_deleted: bool = False


class ChunkRecord(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A chunk of the input (a file under ``chunks/``) and its batch attempts."""

    index: int
    path: str
    n_requests: int
    n_bytes: int
    first_line: int
    endpoint: str | None = None
    batches: list[BatchRecord] = []

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


class Manifest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A whole job."""

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
        manifest = _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise JobError(f"{source}: not a streambatch manifest ({exc})") from exc
    if manifest.version != VERSION:
        raise JobError(
            f"{source}: manifest version {manifest.version} is not supported"
        )
    return manifest
