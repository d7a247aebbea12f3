"""Encoding an output file on several cores gives the same records, byte for byte,
as splicing it whole: for 1, 2 and 3 workers and ranges cut anywhere, with bad,
blank, over-long and unterminated lines (their line numbers included)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import msgspec
import pytest

from streambatch._providers.splice import RecordSplicer, encode_block
from streambatch._spliced import SHARED_MIN_BYTES, WorkerPool, encoded_blocks, pool_for

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures"


def whole(data: bytes, **options: object) -> bytes:
    splicer = RecordSplicer("openai", **options)  # type: ignore[arg-type]
    return encode_block(splicer.feed(data) + splicer.close()).data


def awkward_file(path: pathlib.Path) -> bytes:
    good = (FIXTURES / "openai_output.jsonl").read_bytes()
    errors = (FIXTURES / "openai_errors.jsonl").read_bytes()
    lines = [
        good,
        b"\n",  # a blank line
        b'{"custom_id": "broken", "response": {\n',  # not JSON
        b'{"custom_id": "huge", "x": "' + b"y" * 3000 + b'"}\n',  # over the limit
        errors.replace(b"\n", b"\r\n"),
        good.replace(b'"custom_id": "', b'"custom_id": "again-'),
        b'{"custom_id": "last", "response": null, "error": {"code": "batch_expired"}}',
    ]
    data = b"".join(lines)
    path.write_bytes(data)
    return data


async def joined(
    path: pathlib.Path, workers: int = 1, range_bytes: int = 1 << 20, **options: object
) -> tuple[bytes, list[str]]:
    data, ids = b"", []
    async with WorkerPool(workers, range_bytes=range_bytes) as pool:
        blocks = encoded_blocks(path, "openai", pool=pool, **options)  # type: ignore[arg-type]
        async for block in blocks:
            assert block.pick(list(range(len(block.ends)))) == block.data
            data += block.data
            ids += block.custom_ids
    return data, ids


@pytest.mark.parametrize("workers", [1, 2, 3])
async def test_any_number_of_workers_gives_the_same_bytes(
    tmp_path: pathlib.Path, workers: int
) -> None:
    path = tmp_path / "out.jsonl"
    data = awkward_file(path)
    options = {"batch_id": "batch_1", "attempt": 2, "max_line_bytes": 2048}
    expected = whole(data, source="out.jsonl", **options)
    records: list[Any] = []
    for range_bytes in (97, 1000, 1 << 20):
        got, ids = await joined(
            path, workers=workers, range_bytes=range_bytes, **options
        )
        assert got == expected
        records = [json.loads(line) for line in got.splitlines()]
        assert ids == [r["custom_id"] for r in records]
    messages = [r["error"]["message"] for r in records if r["error"]]
    assert any(": line 10: " in m for m in messages)  # numbered in the whole file
    assert records[-1]["custom_id"] == "last"


async def test_an_empty_file_gives_no_record(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"")
    assert await joined(path, workers=2) == (b"", [])


def test_pick_keeps_the_records_asked_for() -> None:
    data = (FIXTURES / "anthropic_results.jsonl").read_bytes()
    splicer = RecordSplicer("anthropic")
    block = encode_block(splicer.feed(data))
    lines = block.data.splitlines(keepends=True)
    assert block.pick([2, 0]) == lines[2] + lines[0]
    assert [msgspec.json.decode(line)["status"] for line in lines] == block.statuses


def test_a_write_too_small_to_pay_for_processes_splices_in_a_thread() -> None:
    assert pool_for(4, SHARED_MIN_BYTES - 1).workers == 1
    assert pool_for(4, SHARED_MIN_BYTES).workers == 4
    assert pool_for(1, 10 * SHARED_MIN_BYTES).workers == 1
