"""A job made of a batch another tool created: its first manifest, as a value.

Pure: no I/O, no clock (``now`` comes in). The adopted batch is the one attempt
of the job's one chunk, recorded as created (its id known), with the status the
adoption saw applied as any poll's is (``status_seen``): its state, counts,
times and, for a batch that has ended, its download plan.
Its ``creating_since`` is the adoption's time (the job sent no create); the
provider's creation time is its ``created_at``.

The chunk file holds the batch's requests when they are known (OpenAI's input
file, or a file the user gives), and otherwise (Anthropic keeps no input) only
their custom_ids, written from the results once downloaded: ``ids_only``.
"""

from __future__ import annotations

import hashlib

import msgspec

from .jobstate import status_seen
from .manifest import Adoption, BatchRecord, ChunkRecord, Manifest, Planned
from .states import BatchState

__all__ = (
    "ADOPTED_CHUNK",
    "AdoptedInput",
    "FirstStatus",
    "adoption_job_id",
    "adoption_manifest",
)

ADOPTED_CHUNK = "chunks/adopted-00000.jsonl"
"""The adopted job's one chunk file, relative to the job directory."""


def adoption_job_id(provider: str, base_url: str, batch_id: str, job_dir: str) -> str:
    """The job id of an adoption: the same for the same batch into the same
    directory, so an adoption cut short is taken up again as the same job (its
    claim on the batch is its own)."""
    key = "\n".join((provider, base_url.rstrip("/"), batch_id, job_dir))
    return "adopt-" + hashlib.sha256(key.encode()).hexdigest()[:16]


class AdoptedInput(msgspec.Struct, frozen=True, kw_only=True):
    """What is known of the adopted batch's requests.

    Attributes:
        n_requests: how many.
        n_bytes: the chunk file's size (0 for ids only, until the results).
        sha256: the chunk file's hex SHA-256 ("" for ids only).
        path: the user's file they came from ("" when downloaded or unknown).
        ids_only: the requests themselves are unknown (see the module).
    """

    n_requests: int
    n_bytes: int = 0
    sha256: str = ""
    path: str = ""
    ids_only: bool = False


class FirstStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The batch's status when it was adopted (see ``jobstate.status_seen``)."""

    state: BatchState
    total: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    errors: list[str] = []
    plan: list[Planned] | None = None


def adoption_manifest(
    *,
    job_id: str,
    provider: str,
    base_url: str,
    batch_id: str,
    requests: AdoptedInput,
    status: FirstStatus,
    now: float,
    endpoint: str | None = None,
    created_at: float | None = None,
    input_file_id: str | None = None,
) -> Manifest:
    """The manifest of a new job whose one batch is ``batch_id``.

    The attempt records no ``file_id``: the other tool's input file is its own,
    never deleted by this job (it is named in ``Manifest.adopted``).
    """
    tag = {"streambatch_job": job_id, "streambatch_chunk": "0"}
    record = BatchRecord(
        attempt=1,
        tag=tag | {"streambatch_attempt": "1"},
        creating_since=now,
        batch_id=batch_id,
        created_at=created_at,
    )
    step = status_seen(
        record,
        state=status.state,
        total=status.total,
        succeeded=status.succeeded,
        failed=status.failed,
        errors=status.errors,
        plan=status.plan,
        now=now,
    )
    chunk = ChunkRecord(
        index=0,
        path=ADOPTED_CHUNK,
        n_requests=requests.n_requests,
        n_bytes=requests.n_bytes,
        first_line=1,
        endpoint=endpoint,
        batches=[record if step is None else step.record],
        ids_only=requests.ids_only,
    )
    return Manifest(
        job_id=job_id,
        provider=provider,
        base_url=base_url,
        input_path=requests.path,
        input_sha256=requests.sha256,
        input_bytes=requests.n_bytes,
        n_requests=requests.n_requests,
        created_at=now,
        chunks=[chunk],
        adopted=Adoption(
            batch_id=batch_id, adopted_at=now, input_file_id=input_file_id
        ),
    )
