"""A chunk's ids are read from its lines once, then from the sidecar beside it;
a sidecar that does not match its chunk is built again, and one that cannot be
written is done without."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest

from streambatch._io.idfile import chunk_ids


def _lines(path: pathlib.Path) -> list[str]:
    return path.read_text().splitlines()


def _partials(folder: pathlib.Path) -> list[pathlib.Path]:
    return list(folder.glob("*.partial"))


class Reader:
    """Reads the ids from the chunk's lines (one id per line), counting reads."""

    def __init__(self) -> None:
        self.reads = 0

    async def __call__(self, path: pathlib.Path) -> AsyncIterator[list[str]]:
        self.reads += 1
        lines = _lines(path)
        for start in range(0, len(lines), 2):
            yield lines[start : start + 2]


async def test_the_ids_are_read_once_then_kept(tmp_path: pathlib.Path) -> None:
    chunk = tmp_path / "chunk-0.jsonl"
    chunk.write_text("a\nb\nc\n")
    read = Reader()
    assert await chunk_ids(chunk, read) == ["a", "b", "c"]
    assert await chunk_ids(chunk, read) == ["a", "b", "c"]
    assert read.reads == 1
    assert (tmp_path / "chunk-0.jsonl.ids").is_file()
    assert not _partials(tmp_path)


@pytest.mark.parametrize("damage", ["resized", "garbled"])
async def test_a_sidecar_not_of_its_chunk_is_built_again(
    tmp_path: pathlib.Path, damage: str
) -> None:
    chunk = tmp_path / "chunk-0.jsonl"
    chunk.write_text("a\nb\n")
    read = Reader()
    await chunk_ids(chunk, read)
    if damage == "resized":
        chunk.write_text("a\nb\nzz\n")
    else:
        (tmp_path / "chunk-0.jsonl.ids").write_bytes(b"\xc1 not msgpack")
    expected = ["a", "b", "zz"] if damage == "resized" else ["a", "b"]
    assert await chunk_ids(chunk, read) == expected
    assert await chunk_ids(chunk, read) == expected
    assert read.reads == 2


async def test_a_sidecar_that_cannot_be_written_is_done_without(
    tmp_path: pathlib.Path,
) -> None:
    chunk = tmp_path / "chunk-0.jsonl"
    chunk.write_text("a\n")
    (tmp_path / "chunk-0.jsonl.ids").mkdir()  # in the way of the rename
    read = Reader()
    assert await chunk_ids(chunk, read) == ["a"]
    assert await chunk_ids(chunk, read) == ["a"]
    assert read.reads == 2
    assert not _partials(tmp_path)
