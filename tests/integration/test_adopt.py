"""Adopting batches the official SDKs created, through the command line and
Client.adopt, against the emulator: wait, results, retry as any job's."""

from __future__ import annotations

import asyncio
import io
import json
import pathlib
from typing import Any

import anthropic
import openai
import pytest

import streambatch as sb
from streambatch._io.jobdir import read_manifest
from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig, Faults, Timings
from tests.emulator._support import anthropic_request, chat_line, jsonl

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]


def emulator(error_rate: float = 0.0) -> Emulator:
    """Item errors are drawn per (batch id, custom_id), and batch ids are random:
    a test that needs some to fail and some to succeed sends enough requests
    (40 at 0.3 or 0.4: none failing is one chance in a million or less)."""
    faults = Faults(item_error_rate=error_rate, seed=5)
    return Emulator(EmulatorConfig(timings=Timings.instant(), faults=faults))


async def cli(*args: str) -> int:
    """The command line, in a thread: the emulator serves on this loop."""
    return await asyncio.to_thread(main, list(args))


def records(path: pathlib.Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in path.read_bytes().splitlines()]
    by_id = {r["custom_id"]: r for r in rows}
    assert len(by_id) == len(rows)  # exactly one record per request
    return by_id


async def openai_batch(server: Emulator, n: int) -> tuple[str, str]:
    """A batch made by the openai SDK: (batch id, input file id)."""
    async with openai.AsyncOpenAI(
        base_url=server.openai_base_url, api_key="test"
    ) as client:
        uploaded = await client.files.create(
            file=("theirs.jsonl", io.BytesIO(jsonl([chat_line(i) for i in range(n)]))),
            purpose="batch",
        )
        batch = await client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
    return batch.id, uploaded.id


async def test_an_openai_sdk_batch_adopted_waited_collected_and_retried(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job, out = str(tmp_path / "job"), tmp_path / "out.jsonl"
    async with emulator(error_rate=0.3) as server:
        batch_id, input_id = await openai_batch(server, 40)
        base = ["--base-url", server.openai_base_url]
        adopt = ["adopt", batch_id, "--provider", "openai", "--job-dir", job, *base]
        assert await cli(*adopt) == 0
        said = capsys.readouterr().out
        assert f"adopted batch {batch_id} (openai, 40 requests" in said
        assert await cli("wait", job, *POLL) == 0
        assert await cli("results", job, "-o", str(out)) == 0
        first = records(out)
        assert sorted(first) == sorted(f"r-{i}" for i in range(40))
        failed = {c for c, r in first.items() if r["status"] != "succeeded"}
        assert failed and all(r["batch_id"] == batch_id for r in first.values())

        status = json.loads(await _status(job, capsys))
        metrics = status["metrics"]
        assert metrics["requests"] == metrics["done"] == 40
        assert metrics["failed"] == len(failed)
        assert sum(metrics["errors_by_type"].values()) == len(failed)
        assert metrics["batch_times"][0]["batch_id"] == batch_id
        assert metrics["batch_times"][0]["seconds"] is not None
        assert [w["kind"] for w in status["warnings"]] == ["error_rate"]
        assert await cli("status", job) == 0
        shown = capsys.readouterr().out
        assert "errors by type, in the results written: " in shown
        rate = f"{len(failed) / 40:.1%}"
        assert (
            f"warning: {rate} of the requests done failed ({len(failed)} of 40)"
            in shown
        )

        # The job's retry resends the failures from the downloaded input file.
        server.config.faults.item_error_rate = 0.0
        assert await cli("retry", job, "--all", "--wait", *POLL) == 0
        assert await cli("results", job, "-o", str(out)) == 0
        second = records(out)
        assert {r["status"] for r in second.values()} == {"succeeded"}
        assert {c for c, r in second.items() if r["attempt"] == 2} == failed

        # The other tool's input file is its own: never deleted.
        async with openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="test"
        ) as client:
            assert (await client.files.retrieve(input_id)).id == input_id

        # The batch is this job's: adopting it again elsewhere is refused; into
        # the same directory, it is the same job.
        assert await cli(*adopt) == 0
        other = ["adopt", batch_id, "--provider", "openai", "--job-dir"]
        assert await cli(*other, str(tmp_path / "other"), *base) == 1
        assert "another streambatch job's" in capsys.readouterr().err
        assert not (tmp_path / "other" / "manifest.json").exists()


async def _status(job: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert await cli("status", job, "--json") == 0
    return capsys.readouterr().out


async def test_an_anthropic_sdk_batch_is_known_by_its_results(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job, out = str(tmp_path / "job"), tmp_path / "out.jsonl"
    requests = [anthropic_request(i) for i in range(40)]
    async with emulator(error_rate=0.3) as server:
        async with anthropic.AsyncAnthropic(
            base_url=server.anthropic_base_url, api_key="test"
        ) as client:
            created = await client.messages.batches.create(
                requests=requests  # type: ignore[arg-type]
            )
        base = ["--base-url", server.anthropic_base_url]
        adopt = ["adopt", created.id, "--provider", "anthropic", "--job-dir", job]
        assert await cli(*adopt, *base) == 0
        assert "known by the custom_ids of its results" in capsys.readouterr().out
        assert await cli("wait", job, *POLL) == 0
        assert await cli("results", job, "-o", str(out)) == 0
        got = records(out)
        assert sorted(got) == sorted(r["custom_id"] for r in requests)
        assert {r["batch_id"] for r in got.values()} == {created.id}
        assert any(r["status"] == "errored" for r in got.values())
        # priced by the model the results name (the requests are unknown)
        cost = read_manifest(job).cost
        assert cost is not None and cost.usd > 0 and cost.unpriced == []
        # Without the requests, a retry cannot send them again: it says so.
        capsys.readouterr()
        assert await cli("retry", job, "--all") == 1
        assert "adopted without its requests" in capsys.readouterr().err
        assert read_manifest(job).chunks[0].batches[-1].attempt == 1


async def test_an_anthropic_batch_adopted_with_its_requests_is_retried(
    tmp_path: pathlib.Path,
) -> None:
    # 40 requests: with 10, none failed one run in 170 (0.6 ** 10), and the test
    # failed at `assert failed`.
    requests = [anthropic_request(i) for i in range(40)]
    given = tmp_path / "theirs.jsonl"
    given.write_bytes(jsonl(requests).rstrip(b"\n"))  # no newline at the end
    async with emulator(error_rate=0.4) as server:
        async with anthropic.AsyncAnthropic(
            base_url=server.anthropic_base_url, api_key="test"
        ) as client:
            created = await client.messages.batches.create(
                requests=requests  # type: ignore[arg-type]
            )
        async with sb.Client("anthropic", base_url=server.anthropic_base_url) as sbc:
            with await sbc.adopt(
                created.id, job_dir=tmp_path / "job", requests=given
            ) as job:
                await job.wait(poll=sb.PollPolicy(min_delay=0.01, max_delay=0.05))
                await job.download()
                failed = {
                    r.custom_id async for r in job.results() if r.status != "succeeded"
                }
                assert failed
                server.config.faults.item_error_rate = 0.0
                assert await job.retry_failed(all_failures=True) == len(failed)
                await job.wait(poll=sb.PollPolicy(min_delay=0.01, max_delay=0.05))
                await job.download()
                final = [r async for r in job.results()]
                metrics = job.metrics()
    assert sorted(r.custom_id for r in final) == sorted(
        r["custom_id"] for r in requests
    )
    assert {r.status for r in final} == {"succeeded"}
    assert {r.custom_id for r in final if r.attempt == 2} == failed
    assert metrics.sent_by_attempt == {1: 40, 2: len(failed)}
    assert metrics.retried == len(failed)


async def test_a_requests_file_that_is_not_the_batch_is_refused(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests = [anthropic_request(i) for i in range(6)]
    given = tmp_path / "theirs.jsonl"
    given.write_bytes(jsonl(requests[:5]))
    async with emulator() as server:
        async with anthropic.AsyncAnthropic(
            base_url=server.anthropic_base_url, api_key="test"
        ) as client:
            created = await client.messages.batches.create(
                requests=requests  # type: ignore[arg-type]
            )
        base = ["--base-url", server.anthropic_base_url]
        job = str(tmp_path / "job")
        adopt = ["adopt", created.id, "--provider", "anthropic", "--job-dir", job]
        assert await cli(*adopt, "--input", str(given), *base) == 2
        err = capsys.readouterr().err
        assert "theirs.jsonl: holds 5 requests; batch" in err and "has 6" in err
        assert "Traceback" not in err


async def test_an_unknown_batch_and_a_provider_without_adoption(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = str(tmp_path / "job")
    async with emulator() as server:
        base = ["--base-url", server.openai_base_url]
        code = await cli(
            "adopt", "batch_nope", "--provider", "openai", "--job-dir", job, *base
        )
    assert code == 1
    assert "no batch batch_nope at" in capsys.readouterr().err
    assert not (tmp_path / "job" / "manifest.json").exists()
    with pytest.raises(SystemExit) as exited:
        main(["adopt", "b", "--provider", "mistral", "--job-dir", job])
    assert exited.value.code == 2


async def test_an_azure_sdk_batch_adopted_through_the_classic_routes(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    config = EmulatorConfig(timings=Timings.instant(), api_key="azure-key")
    async with Emulator(config) as server:
        async with openai.AsyncAzureOpenAI(
            api_key="azure-key",
            azure_endpoint=server.azure_endpoint,
            api_version="2024-10-21",
            max_retries=0,
        ) as client:
            uploaded = await client.files.create(
                file=("in.jsonl", io.BytesIO(jsonl([chat_line(i) for i in range(9)]))),
                purpose="batch",
                expires_after={"anchor": "created_at", "seconds": 1_209_600},
            )
            created = await client.batches.create(
                input_file_id=uploaded.id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
            )
        url = server.azure_endpoint + "/openai?api-version=2024-10-21"
        async with sb.Client("azure", base_url=url) as sbc:
            with await sbc.adopt(created.id, job_dir=tmp_path / "job") as job:
                await job.wait(poll=sb.PollPolicy(min_delay=0.01, max_delay=0.05))
                await job.download()
                got = [r async for r in job.results()]
                adopted = job.manifest.adopted
                created_at = job.manifest.chunks[0].batch.created_at
        paths = {r.path for r in server.records.requests}
    assert sorted(r.custom_id for r in got) == sorted(f"r-{i}" for i in range(9))
    assert {r.status for r in got} == {"succeeded"}
    assert adopted is not None and adopted.input_file_id == uploaded.id
    assert created_at is not None  # the provider's ISO time, read
    assert f"/azure/openai/files/{uploaded.id}/content" in paths


async def test_an_openai_batch_whose_input_file_is_gone_is_known_by_its_results(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job, out = str(tmp_path / "job"), tmp_path / "out.jsonl"
    async with emulator() as server:
        batch_id, input_id = await openai_batch(server, 7)
        async with openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="test"
        ) as client:
            for _ in range(500):
                if (await client.batches.retrieve(batch_id)).status == "completed":
                    break
                await asyncio.sleep(0.01)
            await client.files.delete(input_id)
        base = ["--base-url", server.openai_base_url]
        adopt = ["adopt", batch_id, "--provider", "openai", "--job-dir", job, *base]
        assert await cli(*adopt) == 0
        assert "known by the custom_ids of its results" in capsys.readouterr().out
        # ended already: collected at once
        assert await cli("results", job, "-o", str(out)) == 0
    got = records(out)
    assert sorted(got) == sorted(f"r-{i}" for i in range(7))
    assert {r["status"] for r in got.values()} == {"succeeded"}
    cost = read_manifest(job).cost
    assert cost is not None and cost.unpriced == []  # body.model, from the results


@pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
)
async def test_a_gemini_sdk_batch_adopted_with_its_requests(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from google import genai
    from google.genai import types

    source = tmp_path / "requests.jsonl"
    lines: list[dict[str, Any]] = [
        {"key": f"k-{n}", "request": {"contents": [{"parts": [{"text": f"q {n}"}]}]}}
        for n in range(8)
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    job, out = str(tmp_path / "job"), tmp_path / "out.jsonl"
    async with emulator(error_rate=0.4) as server:
        client = genai.Client(
            api_key="test-key",
            http_options=types.HttpOptions(base_url=server.gemini_base_url),
        )
        uploaded = await client.aio.files.upload(
            file=source, config=types.UploadFileConfig(mime_type="jsonl")
        )
        assert uploaded.name is not None
        created = await client.aio.batches.create(
            model="gemini-2.5-flash", src=uploaded.name
        )
        assert created.name is not None and created.name.startswith("batches/")
        base = ["--base-url", server.gemini_base_url]
        adopt = ["adopt", created.name, "--provider", "gemini", "--job-dir", job]
        # The Gemini API gives no uploaded file back: the requests are needed.
        assert await cli(*adopt, *base) == 2
        assert "--input FILE" in capsys.readouterr().err
        assert await cli(*adopt, "--input", str(source), *base) == 0
        assert await cli("wait", job, *POLL) == 0
        assert await cli("results", job, "-o", str(out)) == 0
        first = records(out)
        failed = {k for k, r in first.items() if r["status"] != "succeeded"}
        assert sorted(first) == sorted(line["key"] for line in lines) and failed
        server.config.faults.item_error_rate = 0.0
        assert await cli("retry", job, "--all", "--wait", *POLL) == 0
        assert await cli("results", job, "-o", str(out)) == 0
    second = records(out)
    assert {r["status"] for r in second.values()} == {"succeeded"}
    assert {k for k, r in second.items() if r["attempt"] == 2} == failed
    assert read_manifest(job).adopted.batch_id == created.name.removeprefix("batches/")  # type: ignore[union-attr]
