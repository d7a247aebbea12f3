"""The command line, called as `main([...])` and as a process, against the emulator."""

from __future__ import annotations

import asyncio
import json
import pathlib
import subprocess
import sys

import pytest

import streambatch as sb
from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig, Faults, Timings
from streambatch.testing.sample import write_sample

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]


@pytest.mark.parametrize("provider", ["anthropic", "gemini", "mistral"])
def test_run_against_the_built_in_emulator(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), provider, 250)
    args = [
        "run",
        str(tmp_path / "in.jsonl"),
        "--provider",
        provider,
        "--emulator",
        "--emulator-clock",
        "instant",
        "--job-dir",
        str(tmp_path / "job"),
        "-o",
        str(tmp_path / "out.jsonl"),
        "--max-requests",
        "100",
        *POLL,
    ]
    assert main(args) == 0
    lines = (tmp_path / "out.jsonl").read_bytes().splitlines()
    assert len(lines) == 250
    assert {json.loads(line)["status"] for line in lines} == {"succeeded"}
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith(
        "results: succeeded=250 errored=0 expired=0 canceled=0 total=250"
    )


def test_bad_input_exits_2_listing_every_bad_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}}\n'
        '{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}}\n'
        '{"method": "POST"}\n'
    )
    code = main(
        [
            "run",
            str(source),
            "--provider",
            "openai",
            "--emulator",
            "--job-dir",
            str(tmp_path / "job"),
            "-o",
            str(tmp_path / "out.jsonl"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "in.jsonl:2" in err
    assert "in.jsonl:3" in err
    assert "Traceback" not in err


async def test_submit_status_wait_results_as_separate_commands(
    tmp_path: pathlib.Path,
) -> None:
    config = EmulatorConfig(faults=Faults(item_error_rate=0.2, seed=3))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 300)
        job = str(tmp_path / "job")

        def cli(*args: str) -> int:
            return main(list(args))

        base = ["--base-url", emulator.openai_base_url]
        assert (
            await asyncio.to_thread(
                cli,
                "submit",
                str(tmp_path / "in.jsonl"),
                "--provider",
                "openai",
                "--job-dir",
                job,
                "--max-requests",
                "120",
                *base,
            )
            == 0
        )
        assert await asyncio.to_thread(cli, "wait", job, *POLL) == 0
        out = tmp_path / "failed.jsonl"
        assert (
            await asyncio.to_thread(
                cli, "results", job, "-o", str(out), "--only", "failed"
            )
            == 0
        )
        failed = [json.loads(line) for line in out.read_bytes().splitlines()]
        assert failed
        assert all(
            r["status"] == "errored" and r["error"]["status_code"] for r in failed
        )
        everything = tmp_path / "all.jsonl"
        assert (
            await asyncio.to_thread(
                cli, "results", job, "-o", str(everything), "--with-response"
            )
            == 0
        )
        rows = [json.loads(line) for line in everything.read_bytes().splitlines()]
        assert len(rows) == 300
        assert len({r["custom_id"] for r in rows}) == 300
        assert all("response" in r for r in rows)
        assert sum(r["status"] == "errored" for r in rows) == len(failed)


def test_status_json_reads_the_job_directory(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 30)
    job = str(tmp_path / "job")
    assert (
        main(
            [
                "run",
                str(tmp_path / "in.jsonl"),
                "--provider",
                "openai",
                "--emulator",
                "--emulator-clock",
                "instant",
                "--job-dir",
                job,
                "-o",
                str(tmp_path / "o.jsonl"),
                "--max-requests",
                "10",
                "--quiet",
                *POLL,
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["status", job, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["requests"] == 30
    assert document["done"] == 30
    assert document["batches"] == {"completed": 3}
    assert [c["requests"] for c in document["chunks"]] == [10, 10, 10]


def test_not_a_job_directory_is_a_one_line_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not a job directory" in err


def test_python_dash_m_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streambatch", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("run", "submit", "status", "wait", "results", "cancel", "emulator"):
        assert command in done.stdout


async def test_retry_then_results_gives_the_latest_attempt(
    tmp_path: pathlib.Path,
) -> None:
    config = EmulatorConfig(faults=Faults(expiry_rate=1.0, seed=4))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 120)
        job = str(tmp_path / "job")
        base = ["--base-url", emulator.openai_base_url]
        first = tmp_path / "first.jsonl"
        code = await asyncio.to_thread(
            main,
            [
                "run",
                str(tmp_path / "in.jsonl"),
                "--provider",
                "openai",
                "--job-dir",
                job,
                "-o",
                str(first),
                *base,
                *POLL,
            ],
        )
        assert code == 0
        expired = {
            r["custom_id"]
            for r in map(json.loads, first.read_bytes().splitlines())
            if r["status"] == "expired"
        }
        assert expired
        emulator.faults.expiry_rate = 0.0
        assert await asyncio.to_thread(main, ["retry", job, "--wait", *POLL]) == 0
        final = tmp_path / "final.jsonl"
        assert await asyncio.to_thread(main, ["results", job, "-o", str(final)]) == 0
    rows = {r["custom_id"]: r for r in map(json.loads, final.read_bytes().splitlines())}
    assert len(rows) == 120
    assert {r["status"] for r in rows.values()} == {"succeeded"}
    assert {c for c, r in rows.items() if r["attempt"] == 2} == expired


async def test_wait_timeout_exits_1_and_the_job_goes_on(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = EmulatorConfig(timings=Timings.realistic(speed=1.0))
    async with Emulator(config) as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
        job = str(tmp_path / "job")
        submit = [
            "submit",
            str(tmp_path / "in.jsonl"),
            "--provider",
            "openai",
            "--job-dir",
            job,
            "--base-url",
            emulator.openai_base_url,
        ]
        assert await asyncio.to_thread(main, submit) == 0
        code = await asyncio.to_thread(main, ["wait", job, "--timeout", "0.3", *POLL])
    assert code == 1
    assert "still running after 0.3s" in capsys.readouterr().err


async def test_status_works_while_another_process_holds_the_job(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Emulator() as emulator:
        write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
        client = sb.Client("openai", base_url=emulator.openai_base_url)
        async with client:
            with await client.submit(tmp_path / "in.jsonl", job_dir=tmp_path / "job"):
                status = ["status", str(tmp_path / "job")]
                assert await asyncio.to_thread(main, status) == 0
                assert "0/5 requests done" in capsys.readouterr().out
                wait = ["wait", str(tmp_path / "job")]
                assert await asyncio.to_thread(main, wait) == 1
                assert "job is locked" in capsys.readouterr().err


def test_estimate_prints_requests_tokens_and_cost(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "anthropic", 40)
    assert (
        main(["estimate", str(tmp_path / "in.jsonl"), "--provider", "anthropic"]) == 0
    )
    out = capsys.readouterr().out
    assert "requests: 40\n" in out
    assert "output tokens at most (max_tokens): 8,000" in out
    assert "batch cost:" in out
    assert "no price known" not in out


def test_an_unfinished_emulator_job_is_not_resumed_against_a_new_emulator(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "openai", 5)
    job = str(tmp_path / "job")
    new = [
        "submit",
        str(tmp_path / "in.jsonl"),
        "--provider",
        "openai",
        "--emulator",
        "--job-dir",
        job,
    ]
    # Refused: the emulator would go away with the command, the job unfinished.
    assert main(new) == 2
    assert "--emulator is for run only" in capsys.readouterr().err
    assert not (tmp_path / "job").exists()
    # A job an earlier built-in emulator left unfinished (killed mid-run).
    run = [
        "run",
        str(tmp_path / "in.jsonl"),
        "--provider",
        "openai",
        "--emulator",
        "--emulator-clock",
        "instant",
        "--job-dir",
        job,
        "-o",
        str(tmp_path / "o.jsonl"),
    ]
    assert main(run) == 0
    manifest = tmp_path / "job" / "manifest.json"
    data = json.loads(manifest.read_bytes())
    for chunk in data["chunks"]:
        for batch in chunk["batches"]:
            batch["downloads"] = {}
    manifest.write_text(json.dumps(data))
    assert main(run) == 2
    assert "use a new --job-dir" in capsys.readouterr().err


def test_every_option_of_every_subcommand_has_help_text() -> None:
    import argparse

    from streambatch.cli import build_parser

    parser = build_parser()
    [commands] = [
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ]
    seen = 0
    for name, sub in {"": parser, **commands.choices}.items():
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if action.help == argparse.SUPPRESS:
                continue
            assert action.help, (
                f"streambatch {name} {action.option_strings or action.dest}"
            )
            seen += 1
    assert seen > 60  # the emulator's faults and limits among them
