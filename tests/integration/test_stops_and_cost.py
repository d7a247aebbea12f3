"""Stop reasons and cost on the command line and in Python, against the emulator.

The emulator answers a request whose ``max_tokens`` is below its reply length
with a cut-off answer (``length`` / ``max_tokens`` / ``MAX_TOKENS``).
"""

from __future__ import annotations

import asyncio
import json
import pathlib

import pytest

import streambatch as sb
from streambatch._core.pricing import price_of
from streambatch._providers import ALL_PRICES
from streambatch.cli import main
from streambatch.testing import Emulator
from streambatch.testing.sample import sample_requests

POLL = ["--poll-min", "0.01", "--poll-max", "0.05"]
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}  # fmt: skip


def write_input(path: pathlib.Path, provider: str) -> None:
    """Six sample requests; the 1st and 4th capped below the emulator's 12 words."""
    lines = []
    for i, item in enumerate(sample_requests(provider, 6)):
        if i % 3 == 0:
            if provider == "gemini":
                item["request"]["generationConfig"]["maxOutputTokens"] = 3  # type: ignore[index]
            else:
                item["body" if provider == "openai" else "params"]["max_tokens"] = 3  # type: ignore[index]
        lines.append(json.dumps(item))
    path.write_text("\n".join(lines) + "\n")


CUT = ["req-000000", "req-000003"]


def run(tmp_path: pathlib.Path, provider: str, *extra: str) -> list[str]:
    return [
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
        "--quiet",
        *POLL,
        *extra,
    ]


def records(path: pathlib.Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def expected_cost(rows: list[dict[str, object]], model: str) -> float:
    price = price_of(model, ALL_PRICES)
    assert price is not None
    usage = [r["usage"] for r in rows if r["usage"]]
    tokens_in = sum(u["input_tokens"] for u in usage)  # type: ignore[index]
    tokens_out = sum(u["output_tokens"] for u in usage)  # type: ignore[index]
    return tokens_in / 1e6 * price.input + tokens_out / 1e6 * price.output


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_cut_off_answers_are_flagged_counted_selected_and_priced(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    write_input(tmp_path / "in.jsonl", provider)
    assert main(run(tmp_path, provider)) == 0
    rows = records(tmp_path / "out.jsonl")
    stops = {r["custom_id"]: (r["status"], r["stop_reason"]) for r in rows}
    assert stops == {
        f"req-00000{i}": ("succeeded", "max_tokens" if i % 3 == 0 else "end")
        for i in range(6)
    }
    assert all(list(r)[list(r).index("usage") + 1] == "stop_reason" for r in rows)
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert " total=6 truncated=2 cost=$" in summary
    cost = expected_cost(rows, MODELS[provider])
    assert cost > 0
    shown = summary.split("cost=$")[1].split()[0]
    assert shown != "0.00"
    assert float(shown) == pytest.approx(cost, rel=0.05)

    # results --only truncated: the cut-off answers only; the summary counts all
    cut = tmp_path / "cut.jsonl"
    job = str(tmp_path / "job")
    assert main(["results", job, "-o", str(cut), "--only", "truncated"]) == 0
    assert sorted(str(r["custom_id"]) for r in records(cut)) == CUT
    assert " total=6 truncated=2 " in capsys.readouterr().out

    # status and status --json show the recorded cost, with no network
    assert main(["status", job]) == 0
    assert "cost: $" in capsys.readouterr().out
    assert main(["status", job, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["cost"]["usd"] == pytest.approx(cost)
    assert document["cost"]["unpriced"] == []
    assert document["cost"]["output_tokens"] == sum(
        r["usage"]["output_tokens"]  # type: ignore[index]
        for r in rows
    )


def test_a_users_price_is_used_and_an_unpriced_model_is_named(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_input(tmp_path / "in.jsonl", "openai")
    assert main(run(tmp_path, "openai", "--price", "gpt-4o-mini=1000/2000")) == 0
    rows = records(tmp_path / "out.jsonl")
    usage = [r["usage"] for r in rows]
    cost = sum(
        u["input_tokens"] * 1000 / 1e6 + u["output_tokens"] * 2000 / 1e6  # type: ignore[index]
        for u in usage
    )
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert float(summary.split("cost=$")[1].split()[0]) == pytest.approx(cost, rel=0.02)

    source = tmp_path / "in.jsonl"
    source.write_text(source.read_text().replace("gpt-4o-mini", "house-model-7"))
    (tmp_path / "job").rename(tmp_path / "old-job")
    assert main(run(tmp_path, "openai")) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert "cost=$0.00 (not counted, no price: house-model-7)" in summary


def test_job_write_results_only_truncated(tmp_path: pathlib.Path) -> None:
    async def go() -> None:
        write_input(tmp_path / "in.jsonl", "anthropic")
        async with (
            Emulator() as emulator,
            sb.Client("anthropic", base_url=emulator.anthropic_base_url) as client,
        ):
            job = await client.submit(
                str(tmp_path / "in.jsonl"), job_dir=str(tmp_path / "job")
            )
            with job:
                await job.wait(poll=sb.PollPolicy(min_delay=0.01, max_delay=0.05))
                await job.download()
                counts = await job.write_results(
                    tmp_path / "cut.jsonl", only="truncated"
                )
                assert counts.truncated == 2
                assert counts["succeeded"] == 6
                assert counts.cost is not None and counts.cost.usd > 0
                assert job.manifest.cost == counts.cost

    asyncio.run(go())
    cut = records(tmp_path / "cut.jsonl")
    assert sorted(str(r["custom_id"]) for r in cut) == CUT
    assert {r["stop_reason"] for r in cut} == {"max_tokens"}


@pytest.mark.parametrize("command", ["run", "submit"])
def test_max_cost_refuses_before_anything_is_uploaded(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    write_input(tmp_path / "in.jsonl", "openai")

    async def go() -> None:
        async with Emulator() as emulator:
            argv = [
                command,
                str(tmp_path / "in.jsonl"),
                "--provider",
                "openai",
                "--base-url",
                emulator.openai_base_url,
                "--job-dir",
                str(tmp_path / "job"),
                "--max-cost",
                "0.0000001",
            ]
            if command == "run":
                argv += ["-o", str(tmp_path / "out.jsonl"), *POLL]
            assert await asyncio.to_thread(main, argv) == 2
            assert emulator.records.files() == []
            assert emulator.records.batches() == []
            # a limit the estimate is under lets the job through
            argv[argv.index("0.0000001")] = "5"
            assert await asyncio.to_thread(main, argv) == 0
            assert emulator.records.files() != []

    asyncio.run(go())
    err = capsys.readouterr().err
    assert "is above --max-cost $0.00000010; nothing was submitted" in err
    assert "Traceback" not in err


def test_estimate_refuses_an_unknown_model_naming_close_ones(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    write_input(source, "openai")
    source.write_text(source.read_text().replace("gpt-4o-mini", "gtp-4o-mini"))
    assert main(["estimate", str(source), "--provider", "openai"]) == 2
    err = capsys.readouterr().err
    assert "no price known for gtp-4o-mini (close: gpt-4o-mini" in err
    assert "--price MODEL=IN/OUT" in err
    # with a price of its own it is estimated, and a small cost is not $0.00
    argv = ["estimate", str(source), "--provider", "openai"]
    assert main([*argv, "--price", "gtp-4o-mini=0.01/0.01"]) == 0
    out = capsys.readouterr().out
    assert "$0.00," not in out and "~$0.00 " not in out
    assert "total at most ~$0.0000" in out


def test_estimate_refuses_a_line_it_cannot_read_like_submit(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    write_input(source, "openai")
    with source.open("a") as file:
        file.write("{not json\n")
    assert main(["estimate", str(source), "--provider", "openai"]) == 2
    assert f"{source}:7: not a request line for openai" in capsys.readouterr().err
    source.write_text("\n")
    assert main(["estimate", str(source), "--provider", "openai"]) == 2
    assert "holds no request" in capsys.readouterr().err
