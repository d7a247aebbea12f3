"""`write_results` splices texts into records: the same JSON values as the records
`job.results()` gives, for a multi-chunk job with failed items, and with repeated,
unknown and missing result lines."""

from __future__ import annotations

import json
import pathlib

import msgspec
import pytest

from streambatch._collect import write_results
from streambatch._spliced import WorkerPool
from streambatch.testing import Emulator, EmulatorConfig, Faults
from streambatch.testing.sample import write_sample
from tests.integration.test_jobs import FAST, client_for


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(faults=Faults(item_error_rate=0.2, seed=7))


def tamper(output: pathlib.Path) -> None:
    """Repeat one line, add a stranger's, and lose one (so one is missing)."""
    lines = output.read_bytes().splitlines(keepends=True)
    stranger = lines[0].replace(b'"custom_id":"', b'"custom_id":"stranger-')
    output.write_bytes(b"".join([*lines[1:], lines[2], stranger]))


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_written_records_equal_the_results(
    emulator: Emulator, tmp_path: pathlib.Path, provider: str
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), provider, 300)
    async with client_for(emulator, provider) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=120
        ) as job:
            await job.wait(poll=FAST)
            await job.download()
            downloads = sorted((tmp_path / "job" / "downloads").glob("*.jsonl"))
            tamper(downloads[0])
            # As if the provider had served the tampered file: its recorded size.
            for _, record in job.attempts():
                for kind in record.downloads:
                    if (
                        job.dir.download_path(record.batch_id or "", kind)
                        == downloads[0]
                    ):
                        record.downloads[kind] = downloads[0].stat().st_size
            for with_response in (False, True):
                out = tmp_path / f"out-{with_response}.jsonl"
                counts = await job.write_results(out, with_response=with_response)
                written = [json.loads(line) for line in out.read_bytes().splitlines()]
                expected = [
                    json.loads(msgspec.json.encode(r))
                    async for r in job.results(with_response=with_response)
                ]
                assert written == expected
                assert sum(counts.values()) == len(written) == 300
                assert {r["status"] for r in written} >= {"succeeded", "errored"}
                assert any(
                    r["error"] and r["error"]["type"] == "missing" for r in written
                )
                assert ("response" in written[0]) == with_response


async def test_the_same_bytes_for_any_number_of_workers(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    """A multi-chunk job whose chunks have one, two and three attempts, with
    repeated, unknown and missing lines: 1, 2 and 3 worker processes (the files
    cut into ranges small enough that every worker gets some) write the same
    bytes, and those are the records ``job.results()`` gives."""
    write_sample(str(tmp_path / "in.jsonl"), "openai", 200)
    async with client_for(emulator, "openai") as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=5
        ) as job:
            await job.wait(poll=FAST)
            await job.download()
            for _ in range(2):  # attempts 2, then 3 for what fails again
                assert await job.retry_failed(all_failures=True) > 0
                await job.wait(poll=FAST)
                await job.download()
            assert {len(c.batches) for c in job.manifest.chunks} == {1, 2, 3}
            outputs = (tmp_path / "job" / "downloads").glob("*output.jsonl")
            first = max(outputs, key=lambda path: path.stat().st_size)
            tamper(first)
            for _, record in job.attempts():
                for kind in record.downloads:
                    path = job.dir.download_path(record.batch_id or "", kind)
                    if path == first:
                        record.downloads[kind] = first.stat().st_size
            written = []
            for workers, range_bytes in ((1, 1 << 20), (2, 4096), (3, 1000)):
                out = tmp_path / f"out-{workers}.jsonl"
                pool = WorkerPool(workers, range_bytes=range_bytes)
                counts = await write_results(job.store, out, pool=pool)
                assert sum(counts.values()) == 200
                written.append(out.read_bytes())
            assert written[0] == written[1] == written[2]
            expected = [json.loads(msgspec.json.encode(r)) async for r in job.results()]
            assert [json.loads(line) for line in written[0].splitlines()] == expected
            attempts = {r["attempt"] for r in expected}
            assert attempts == {1, 2, 3}
            assert any(r["error"] and r["error"]["type"] == "missing" for r in expected)
