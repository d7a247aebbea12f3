"""The job directory on disk: its lock, its manifest, its chunk and download files.

Layout::

    DIR/manifest.json      the manifest (atomic: write, fsync, rename, fsync dir)
    DIR/lock               held (flock) while a process works on the job; holds its PID
    DIR/cancel             asks the process holding the lock to stop (streambatch cancel)
    DIR/chunks/            the input, split into one JSONL file per chunk
    DIR/downloads/         raw output and error files, as downloaded

Everything is created readable by the owner only. No API key is ever written here.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path

from .._core.manifest import BatchRecord, Manifest, decode_manifest, encode_manifest
from .._errors import JobError, JobLocked
from .disk import replace_file
from .reader import file_chunks
from .schemafile import SCHEMA_FILE

__all__ = ("JobDir", "holder", "read_manifest", "request_cancel", "sha256_file")

log = logging.getLogger("streambatch.jobdir")

MANIFEST = "manifest.json"
CANCEL = "cancel"
# What a job directory holds before its first manifest (a split cut short):
# the job folders empty, the split's staging, a temporary manifest not renamed,
# the requests rendered from a table (``_tables.jobtable``).
_BEFORE_MANIFEST = frozenset(
    {"lock", "chunks", "downloads", "chunks.partial", MANIFEST + ".tmp", "table"}
) | {SCHEMA_FILE, SCHEMA_FILE + ".tmp"}  # a job's schema is written first
_JOB_FOLDERS = ("chunks", "downloads")


def _lost(root: Path, what: str) -> JobError:
    """The refusal for a job directory whose manifest is gone or damaged."""
    return JobError(
        f"{root}: {what}, but the job's files are there: streambatch cannot tell "
        "which batches this job already submitted, and will not submit them again "
        f"(that could bill them twice). To recover: restore {MANIFEST} from a "
        "backup; or find this job's batches in the provider's batch list (OpenAI: "
        "metadata streambatch_job) and collect or cancel them by hand, then delete "
        f"{root}/chunks and {root}/downloads (or use a new --job-dir) to start again"
    )


class JobDir:
    """An open, locked job directory.

    Use :meth:`open`; close with :meth:`close` (or ``with``).
    """

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock_fd: int | None = lock_fd

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool) -> JobDir:
        """Lock the job directory at ``path``, creating it if ``create``.

        Raises:
            JobError: it does not exist (and ``create`` is false), is not a
                directory, or another process holds its lock.
        """
        root = Path(path)
        if create and not root.exists():
            root.mkdir(mode=0o700, parents=True)
        elif not (root / MANIFEST).is_file():
            if _has_job_files(root):
                raise _lost(root, f"no {MANIFEST}")
            if not (create and _unstarted(root)):
                raise JobError(f"{root}: not a job directory (no {MANIFEST})")
        try:
            fd = os.open(root / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JobError(f"{root}: cannot use as a job directory: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JobLocked(root, holder(root)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        for sub in ("chunks", "downloads"):
            (root / sub).mkdir(mode=0o700, exist_ok=True)
        return cls(root, fd)

    def __enter__(self) -> JobDir:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the lock."""
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def load(self) -> Manifest | None:
        """The manifest, or None in a new job directory."""
        path = self.path / MANIFEST
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return _decoded(data, path)

    def save(self, manifest: Manifest, *, durable: bool = True) -> None:
        """Write the manifest atomically: a reader sees the old or the new, whole.

        Every byte is checked to have landed before the rename, so the previous
        manifest survives any failure (a full disk raises ``DiskFull``).
        Synchronous on purpose: a state change must be on disk before the next
        step starts. ``durable`` also flushes it to the disk (fsync), so that it
        survives the machine crashing, not only the process; progress that can be
        had again by polling need not be.
        """
        replace_file(
            self.path / MANIFEST,
            encode_manifest(manifest),
            durable=durable,
            temp=self.path / (MANIFEST + ".tmp"),
        )

    def cancel_requested(self) -> bool:
        """Whether another process asked this job to stop (see :func:`request_cancel`)."""
        return (self.path / CANCEL).exists()

    def download_path(self, batch_id: str, kind: str) -> Path:
        """Where a batch's ``kind`` file (output, error, results) is kept."""
        return self.path / "downloads" / f"{batch_id}.{kind}.jsonl"

    def download_problem(self, batch_id: str, kind: str, size: int) -> str | None:
        """What is wrong with a downloaded file recorded as ``size`` bytes, or None."""
        path = self.download_path(batch_id, kind)
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            return f"{path.name} is missing"
        if actual != size:
            return f"{path.name} holds {actual:,} bytes, not the {size:,} downloaded"
        return None

    def damaged(self, record: BatchRecord) -> list[str]:
        """The kinds of ``record``'s downloads whose file is missing or not of
        the recorded size (to be fetched again)."""
        kinds = []
        for kind, size in record.downloads.items():
            problem = self.download_problem(record.batch_id or "", kind, size)
            if problem is not None:
                log.warning("batch %s: %s; fetching it again", record.batch_id, problem)
                kinds.append(kind)
        return kinds

    def checked_download(self, record: BatchRecord, kind: str) -> Path:
        """The path of a downloaded file, checked against the size recorded.

        Raises:
            JobError: the file is missing or of another size (it was changed
                after it was downloaded); nothing of it is read.
        """
        batch_id = record.batch_id or ""
        problem = self.download_problem(batch_id, kind, record.downloads[kind])
        if problem is not None:
            raise JobError(
                f"batch {batch_id}: {problem}; download it again "
                "(`streambatch results` or Job.download() does)"
            )
        return self.download_path(batch_id, kind)

    def chunk_path(self, relative: str) -> Path:
        """The absolute path of a chunk file named in the manifest."""
        return self.path / relative


def holder(root: Path) -> int | None:
    """The PID of the process holding the job's lock, if it wrote one."""
    try:
        return int((root / "lock").read_text().strip() or "x")
    except (OSError, ValueError):
        return None


def request_cancel(path: str | os.PathLike[str]) -> None:
    """Ask the process working on the job at ``path`` to record a cancel and stop
    creating batches (it notices at its next poll or create)."""
    fd = os.open(Path(path) / CANCEL, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)


def _unstarted(root: Path) -> bool:
    """Whether ``root`` is an empty directory or a job's that never got a manifest."""
    return root.is_dir() and all(p.name in _BEFORE_MANIFEST for p in root.iterdir())


def _has_job_files(root: Path) -> bool:
    """Whether a job's chunk or download files are in ``root``."""
    for name in _JOB_FOLDERS:
        folder = root / name
        if folder.is_dir() and any(folder.iterdir()):
            return True
    return False


def _decoded(data: bytes, path: Path) -> Manifest:
    try:
        return decode_manifest(data, str(path))
    except JobError as exc:
        if _has_job_files(path.parent):
            raise _lost(path.parent, f"{MANIFEST} is damaged ({exc})") from exc
        raise


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read a job directory's manifest without locking it (another process may
    be working on the job; the manifest is replaced atomically, so it is whole).

    Raises:
        JobError: ``path`` is not a job directory.
    """
    source = Path(path) / MANIFEST
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        if _has_job_files(Path(path)):
            raise _lost(Path(path), f"no {MANIFEST}") from None
        raise JobError(f"{path}: not a job directory (no {MANIFEST})") from None
    except OSError as exc:
        raise JobError(f"{path}: cannot read the job: {exc}") from exc
    return _decoded(data, source)


async def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file, read in 1 MiB blocks (see ``_io.reader``: a
    task cancelled while a thread opened the file would leave it open)."""
    digest = hashlib.sha256()
    async for block in file_chunks(path):
        digest.update(block)
    return digest.hexdigest()


def remove_quietly(path: Path) -> None:
    """Delete a file if it is there."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
