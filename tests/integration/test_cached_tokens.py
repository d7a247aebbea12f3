"""Cached input tokens, against the emulator: it reports cache reads for long
prompts (1024 input tokens and up: half the input, in blocks of 128), as each
provider writes them; they reach JSON lines (the spliced path), Parquet and
``Result`` (the record path) alike, and are priced at the cached-input rate."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pyarrow.parquet as pq
import pytest

from streambatch._core.pricing import cost_of, price_of
from streambatch._providers import ALL_PRICES
from streambatch.cli import main
from streambatch.testing import Emulator
from streambatch.testing.sample import sample_requests

from .test_jobs import client_for, finish
from .test_stops_and_cost import MODELS, POLL

LONG = "Background: " + "the river runs past the old mill. " * 180  # ~6 KB


def write_input(path: pathlib.Path, provider: str) -> None:
    """Six requests; the even ones carry a long prompt (a cache hit), the odd
    ones a short one (none)."""
    lines = []
    for i, item in enumerate(sample_requests(provider, 6)):
        if i % 2 == 0:
            if provider == "gemini":
                item["request"]["contents"][0]["parts"][0]["text"] += LONG  # type: ignore[index]
            else:
                key = "body" if provider == "openai" else "params"
                item[key]["messages"][0]["content"] += LONG  # type: ignore[index]
        lines.append(json.dumps(item))
    path.write_text("\n".join(lines) + "\n")


def expected_cached(input_tokens: int) -> int:
    return 0 if input_tokens < 1024 else input_tokens // 2 // 128 * 128


def rows(path: pathlib.Path) -> dict[str, dict[str, Any]]:
    found = [json.loads(line) for line in path.read_bytes().splitlines()]
    return {r["custom_id"]: r for r in found}


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_cached_tokens_in_json_lines_parquet_and_the_cost(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    write_input(tmp_path / "in.jsonl", provider)
    job = str(tmp_path / "job")
    argv = ["run", str(tmp_path / "in.jsonl"), "--provider", provider, "--emulator"]
    argv += ["--emulator-clock", "instant", "--job-dir", job, "--quiet", *POLL]
    assert main([*argv, "-o", str(tmp_path / "out.jsonl")]) == 0
    lines = rows(tmp_path / "out.jsonl")
    hits = 0
    for custom_id, row in lines.items():
        usage = row["usage"]
        cached = expected_cached(usage["input_tokens"])
        long = int(custom_id[-1]) % 2 == 0
        assert (cached > 0) == long, usage
        hits += cached > 0
        if provider == "gemini" and not cached:
            assert "cached_tokens" not in usage  # Gemini gives no zero count
        else:
            assert usage["cached_tokens"] == cached
    assert hits == 3

    # Parquet: the record path gives the same counts
    assert main(["results", job, "-o", str(tmp_path / "out.parquet")]) == 0
    table = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert {r["custom_id"]: r["cached_tokens"] for r in table} == {
        cid: r["usage"].get("cached_tokens") for cid, r in lines.items()
    }

    # the cost prices the cached tokens at the cached rate, where there is one
    price = price_of(MODELS[provider], ALL_PRICES)
    assert price is not None
    usages = [r["usage"] for r in lines.values()]
    cost = sum(
        cost_of(price, u["input_tokens"], u["output_tokens"], u.get("cached_tokens", 0))
        for u in usages
    )
    capsys.readouterr()
    assert main(["status", job]) == 0
    total = sum(u.get("cached_tokens", 0) for u in usages)
    assert f" input ({total:,} cached), " in capsys.readouterr().out
    assert main(["status", job, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["cost"]["usd"] == pytest.approx(cost)
    assert document["cost"]["cached_tokens"] == sum(
        u.get("cached_tokens", 0) for u in usages
    )
    if price.cached_input is not None and price.cached_input < price.input:
        uncached = sum(
            cost_of(price, u["input_tokens"], u["output_tokens"]) for u in usages
        )
        assert document["cost"]["usd"] < uncached


async def test_python_results_carry_cached_tokens(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    write_input(tmp_path / "in.jsonl", "anthropic")
    requests = [
        json.loads(line) for line in (tmp_path / "in.jsonl").read_text().splitlines()
    ]
    async with client_for(emulator, "anthropic") as client:
        with await client.submit(requests, job_dir=tmp_path / "job") as job:
            results = await finish(job)
    for record in results:
        assert record.usage is not None
        assert record.usage.cached_tokens == expected_cached(record.usage.input_tokens)
