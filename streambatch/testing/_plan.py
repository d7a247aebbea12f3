"""What a batch's background work needs to know, fixed when the batch is created.

Plain values shared by intake (validation) and generation; stdlib only.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from ._chance import happens

#: Target size of one bucket file: buckets are loaded whole to be shuffled.
BUCKET_BYTES = 4_000_000
MAX_BUCKETS = 256
MAX_ERRORS = 1000
SPLIT_RESULTS = ("openai", "mistral")
"""Providers whose results are an output file and an error file (OpenAI's lines)."""


@dataclass(frozen=True)
class Plan:
    """The fixed facts of one batch's work."""

    provider: str
    batch_id: str
    endpoint: str
    work_dir: Path
    seed: int
    item_error_rate: float
    fail_all: bool
    reply_words: int
    embedding_dims: int
    id_key: str = "id"
    model: str | None = None  # a batch that names its model (Mistral)

    def item_fails(self, custom_id: str) -> bool:
        """Return whether the item ``custom_id`` ends with an error result."""
        return self.fail_all or happens(
            self.item_error_rate, self.seed, "item", self.batch_id, custom_id
        )

    @property
    def tag(self) -> str:
        """A short hex tag of the batch, for per-item ids."""
        return f"{zlib.crc32(self.batch_id.encode()):08x}"


def bucket_count(size_bytes: int) -> int:
    """Return how many bucket files an input of ``size_bytes`` is split into."""
    return max(1, min(MAX_BUCKETS, size_bytes // BUCKET_BYTES + 1))


class Buckets:
    """Write items into bucket files by a hash of their custom_id.

    Invariant: equal custom_ids land in the same bucket, so duplicates can be
    found one bucket at a time in bounded memory. A record is
    ``index TAB custom_id-as-JSON TAB body-JSON`` (a JSON string holds no raw tab).
    """

    def __init__(self, work_dir: Path, count: int) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        self.paths = [work_dir / f"bucket-{i:03d}" for i in range(count)]
        self._files = [path.open("wb", buffering=32_768) for path in self.paths]
        self._ids = (work_dir / "custom_ids").open("wb", buffering=65_536)

    def add(self, index: int, custom_id_json: bytes, body: bytes) -> None:
        """Append one item."""
        target = self._files[zlib.crc32(custom_id_json) % len(self._files)]
        target.write(b"%d\t%s\t%s\n" % (index, custom_id_json, body))
        self._ids.write(custom_id_json + b"\n")

    def close(self) -> None:
        """Flush and close every file."""
        for file in [*self._files, self._ids]:
            file.close()


def find_duplicates(paths: list[Path]) -> list[tuple[int, str]]:
    """Return ``(line index, custom_id JSON)`` of each repeated custom_id."""
    found: list[tuple[int, str]] = []
    for path in paths:
        seen: set[bytes] = set()
        with path.open("rb") as file:
            for record in file:
                index, custom_id, _ = record.split(b"\t", 2)
                if custom_id in seen and len(found) < MAX_ERRORS:
                    found.append((int(index), custom_id.decode()))
                seen.add(custom_id)
    return found
