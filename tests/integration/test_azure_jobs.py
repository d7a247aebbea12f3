"""Whole Azure OpenAI jobs against the emulator's Azure routes: both URL shapes,
multi-chunk through the Python API and the command line, resume after an
interruption at every step, and the key in the ``api-key`` header only."""

from __future__ import annotations

import asyncio
import json
import pathlib

import pytest

import streambatch as sb
from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig
from streambatch.testing.sample import write_sample

from .test_cli import POLL
from .test_jobs import check_complete, finish

KEY = "azure-secret-key"


def azure_client(emulator: Emulator, shape: str = "v1") -> sb.Client:
    url = emulator.azure_endpoint
    if shape == "classic":
        url += "/openai?api-version=2024-10-21"
    return sb.Client("azure", base_url=url)


@pytest.fixture
def azure_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    return KEY


@pytest.mark.parametrize("shape", ["v1", "classic"])
async def test_a_multi_chunk_job_ends_with_one_result_per_request(
    tmp_path: pathlib.Path, shape: str, azure_key: str
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 1200)
    async with (
        Emulator(EmulatorConfig(api_key=azure_key)) as emulator,
        azure_client(emulator, shape) as client,
    ):
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=500
        ) as job:
            assert [c.n_requests for c in job.manifest.chunks] == [500, 500, 200]
            results = await finish(job)
            assert {b.state for _, b in job.attempts()} == {"completed"}
            # Every batch has its (empty) error file, downloaded without fuss.
            for _, b in job.attempts():
                assert {p.kind for p in b.plan or []} == {"output", "error"}
                assert b.downloaded and b.downloads["error"] == 0
        paths = {r.path for r in emulator.records.requests}
        prefix = "/azure/openai/v1/" if shape == "v1" else "/azure/openai/"
        assert prefix + "batches" in paths
        assert all(p.startswith("/azure/") for p in paths)
        assert emulator.records.duplicates() == {}
    check_complete("openai", 1200, results)
    assert len({r.batch_id for r in results}) == 3
    text = "".join(p.read_text() for p in (tmp_path / "job").rglob("*.json"))
    assert KEY not in text


async def test_a_resumed_job_keeps_its_routes(
    tmp_path: pathlib.Path, azure_key: str
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 300)
    async with Emulator(EmulatorConfig(api_key=azure_key)) as emulator:
        async with azure_client(emulator, "classic") as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100
            ):
                pass
        async with azure_client(emulator, "classic") as client:
            with await client.submit(
                tmp_path / "in.jsonl", job_dir=tmp_path / "job", max_requests=100
            ) as job:
                results = await finish(job)
        assert len(emulator.records.batches()) == 3
    check_complete("openai", 300, results)


def test_no_endpoint_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, azure_key: str
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(sb.ConfigError, match="AZURE_OPENAI_ENDPOINT"):
        sb.Client("azure")


def test_the_endpoint_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, azure_key: str
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    client = sb.Client("azure")
    assert client.transport.url("batches").human_repr() == (
        "https://res.openai.azure.com/openai/v1/batches"
    )


async def test_run_with_the_built_in_emulator_then_resume(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``run --provider azure --emulator``: chunks, results, and a second run
    of the finished job submits nothing."""
    write_sample(str(tmp_path / "in.jsonl"), "openai", 250)
    out = tmp_path / "out.jsonl"
    argv = ["run", str(tmp_path / "in.jsonl"), "--provider", "azure", "--emulator"]
    argv += ["--emulator-clock", "instant", "--job-dir", str(tmp_path / "job")]
    argv += ["--max-requests", "100", "-o", str(out), *POLL]
    assert await asyncio.to_thread(main, argv) == 0
    rows = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert sorted(r["custom_id"] for r in rows) == [f"req-{n:06d}" for n in range(250)]
    assert {r["status"] for r in rows} == {"succeeded"}
    assert await asyncio.to_thread(main, argv) == 0  # finished: nothing to do
    assert "Traceback" not in capsys.readouterr().err


async def test_submit_wait_results_against_a_running_emulator(
    tmp_path: pathlib.Path, azure_key: str
) -> None:
    """Separate commands: the job directory carries the endpoint and routes."""
    write_sample(str(tmp_path / "in.jsonl"), "openai", 120)
    job = str(tmp_path / "job")
    async with Emulator(EmulatorConfig(api_key=azure_key)) as emulator:
        base = ["--base-url", emulator.azure_endpoint + "?api-version=2024-10-21"]
        submit = ["submit", str(tmp_path / "in.jsonl"), "--provider", "azure"]
        submit += ["--job-dir", job, "--max-requests", "50", *base]
        assert await asyncio.to_thread(main, submit) == 0
        assert await asyncio.to_thread(main, ["wait", job, *POLL]) == 0
        out = tmp_path / "out.jsonl"
        assert await asyncio.to_thread(main, ["results", job, "-o", str(out)]) == 0
        assert len(emulator.records.batches()) == 3
        assert "/azure/openai/batches" in {r.path for r in emulator.records.requests}
    rows = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert len(rows) == 120 and {r["status"] for r in rows} == {"succeeded"}


async def test_deployments_are_models_one_per_file(
    tmp_path: pathlib.Path, azure_key: str
) -> None:
    """A file naming two deployments is split by deployment, as Azure wants
    (``model_mismatch`` otherwise): every batch file holds one."""
    source = tmp_path / "in.jsonl"
    with source.open("w") as file:
        for n in range(90):
            body = {
                "model": f"deploy-{n % 3}",
                "messages": [{"role": "user", "content": "hi"}],
            }
            line = {
                "custom_id": f"c{n}",
                "method": "POST",
                "url": "/v1/chat/completions",
            }
            file.write(json.dumps({**line, "body": body}) + "\n")
    async with (
        Emulator(EmulatorConfig(api_key=azure_key)) as emulator,
        azure_client(emulator) as client,
    ):
        with await client.submit(source, job_dir=tmp_path / "job") as job:
            models = []
            for chunk in job.manifest.chunks:
                lines = (tmp_path / "job" / chunk.path).read_text().splitlines()
                models.append({json.loads(line)["body"]["model"] for line in lines})
            results = await finish(job)
    assert all(len(m) == 1 for m in models)
    assert sorted(m.pop() for m in models) == ["deploy-0", "deploy-1", "deploy-2"]
    assert len(results) == 90 and {r.status for r in results} == {"succeeded"}


def test_a_byte_order_mark_is_refused_before_anything_is_sent(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Azure rejects a BOM with a misleading deployment-name error: refused here."""
    source = tmp_path / "in.jsonl"
    write_sample(str(source), "openai", 3)
    source.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    argv = ["run", str(source), "--provider", "azure", "--emulator"]
    argv += ["--job-dir", str(tmp_path / "job"), "-o", str(tmp_path / "out.jsonl")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "byte-order mark" in err and "Traceback" not in err


def test_a_completion_window_is_refused_for_azure(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Azure fails a batch with any window but 24h: refused before the split."""
    write_sample(str(tmp_path / "in.jsonl"), "openai", 3)
    argv = ["run", str(tmp_path / "in.jsonl"), "--provider", "azure", "--emulator"]
    argv += ["--job-dir", str(tmp_path / "job"), "-o", str(tmp_path / "o.jsonl")]
    assert main([*argv, "--completion-window", "7d"]) == 2
    assert "no completion window" in capsys.readouterr().err
