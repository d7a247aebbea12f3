"""Structured outputs end to end: --schema and schema= against the emulator."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import pathlib
from typing import Any, TypedDict

import msgspec
import pytest

import streambatch as sb
from streambatch._core.jsonschema import first_problem
from streambatch._core.structured import asked_schema
from streambatch.cli import main
from streambatch.testing import Emulator
from streambatch.testing.sample import sample_requests, write_sample

from .test_cli import POLL
from .test_jobs import client_for, finish

SCHEMA: dict[str, Any] = {
    "title": "Facts",
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "people": {"type": "integer", "minimum": 0},
        "kind": {"enum": ["town", "city"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "where": {
            "type": "object",
            "properties": {"lat": {"type": "number"}, "coastal": {"type": "boolean"}},
            "required": ["lat", "coastal"],
            "additionalProperties": False,
        },
    },
    "required": ["city", "people", "kind", "tags", "where"],
    "additionalProperties": False,
}
WRAPPER = {"openai": "body", "anthropic": "params", "gemini": "request"}


def run(tmp_path: pathlib.Path, provider: str, schema: object, *extra: str) -> int:
    write_sample(str(tmp_path / "in.jsonl"), provider, 30)
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    argv = ["run", str(tmp_path / "in.jsonl"), "--provider", provider, "--emulator"]
    argv += ["--emulator-clock", "instant", "--job-dir", str(tmp_path / "job")]
    argv += [
        "-o",
        str(tmp_path / "out.jsonl"),
        "--schema",
        str(tmp_path / "schema.json"),
    ]
    return main([*argv, *POLL, "--max-requests", "20", *extra])


def rows(path: pathlib.Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_run_with_schema_asks_for_it_and_parses_each_reply(
    tmp_path: pathlib.Path, provider: str
) -> None:
    assert run(tmp_path, provider, SCHEMA) == 0
    results = rows(tmp_path / "out.jsonl")
    assert len(results) == 30
    for row in results:
        assert row["status"] == "succeeded", row
        assert row["parsed"] == json.loads(row["text"])
        assert first_problem(row["parsed"], SCHEMA) is None
    # every request sent asked for the schema in the provider's own field
    chunks = sorted((tmp_path / "job" / "chunks").glob("chunk-*.jsonl"))
    assert len(chunks) == 2
    for chunk in chunks:
        for line in chunk.read_bytes().splitlines():
            item = json.loads(line)
            asked = asked_schema(provider, item.get("url"), item[WRAPPER[provider]])
            assert asked is not None and asked[1] == SCHEMA
    # the job keeps it: a later results command checks and parses again
    again = tmp_path / "again.jsonl"
    assert main(["results", str(tmp_path / "job"), "-o", str(again)]) == 0
    assert rows(again) == results


def test_a_reply_cut_off_is_a_schema_mismatch_naming_why_and_no_count_warning(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    long = {
        "type": "object",
        "properties": {"essay": {"type": "string", "minLength": 2000}},
    }
    with caplog.at_level(logging.WARNING):
        assert run(tmp_path, "anthropic", long) == 0  # max_tokens 200: cut off
    results = rows(tmp_path / "out.jsonl")
    assert {r["status"] for r in results} == {"errored"}
    for row in results:
        assert row["stop_reason"] == "max_tokens"
        assert row["error"]["type"] == "schema_mismatch"
        assert row["error"]["message"].startswith("$: not valid JSON")
        assert "parsed" not in row
    assert "the provider counts" not in caplog.text


def test_a_bad_schema_file_exits_2_naming_it(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "openai", {"type": "object", "properties": {"a": 1}}) == 2
    err = capsys.readouterr().err
    assert "schema.json: schema.properties.a must be a schema" in err
    assert "Traceback" not in err
    assert not (tmp_path / "job" / "manifest.json").exists()


def test_a_line_asking_for_another_format_exits_2_naming_the_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = list(sample_requests("openai", 3))
    lines[1]["body"]["response_format"] = {"type": "json_object"}  # type: ignore[index]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(msgspec.json.encode(line) + b"\n" for line in lines))
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    argv = ["run", str(source), "--provider", "openai", "--emulator"]
    argv += [
        "--job-dir",
        str(tmp_path / "job"),
        "--schema",
        str(tmp_path / "schema.json"),
        "-o",
        str(tmp_path / "out.jsonl"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "in.jsonl:2" in err
    assert "body.response_format asks for another output format" in err


class Where(msgspec.Struct):
    lat: float
    coastal: bool


class Facts(msgspec.Struct):
    city: str
    people: int
    tags: list[str]
    where: Where


@dataclasses.dataclass
class FactsData:
    city: str
    people: int
    tags: list[str]
    where: dict[str, Any]


class FactsDict(TypedDict):
    city: str
    people: int


class Wrong(msgspec.Struct):
    city: int


async def test_python_schema_kinds(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    requests = list(sample_requests("openai", 6))
    async with client_for(emulator, "openai") as client:
        with pytest.raises(TypeError, match="schema must be"):
            await client.submit(requests, job_dir=tmp_path / "refused", schema=int)
        assert not (tmp_path / "refused" / "manifest.json").exists()
        job = await client.submit(requests, job_dir=tmp_path / "job", schema=Facts)
        with job:
            plain = await finish(job)  # the job's own schema: plain values
            assert all(isinstance(r.parsed, dict) for r in plain)
            typed = [r async for r in job.results(schema=Facts)]
            assert all(isinstance(r.parsed, Facts) for r in typed)
            assert [r.parsed.city for r in typed] == [r.parsed["city"] for r in plain]
            data = [r async for r in job.results(schema=FactsData)]
            assert all(isinstance(r.parsed, FactsData) for r in data)
            mapping = [r async for r in job.results(schema=FactsDict)]
            assert mapping[0].parsed["city"] == typed[0].parsed.city
            wrong = [r async for r in job.results(schema=Wrong)]
            assert {r.status for r in wrong} == {"errored"}
            assert wrong[0].error is not None
            assert wrong[0].error.message == "$.city: expected int, got str"
            with pytest.raises(TypeError):
                job.results(schema=dict)  # refused before the first record


async def test_python_schema_pydantic(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Model(pydantic.BaseModel):  # type: ignore[misc,name-defined]
        city: str
        people: int

    async with client_for(emulator, "anthropic") as client:
        requests = sample_requests("anthropic", 4)
        with await client.submit(
            requests, job_dir=tmp_path / "job", schema=Model
        ) as job:
            await finish(job)
            parsed = [r async for r in job.results(schema=Model)]
    assert all(isinstance(r.parsed, Model) for r in parsed)
    assert all(r.status == "succeeded" for r in parsed)


def test_a_resumed_job_keeps_its_schema(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "openai", SCHEMA) == 0
    other = {**SCHEMA, "title": "Other"}
    (tmp_path / "schema.json").write_text(json.dumps(other))
    argv = ["run", str(tmp_path / "in.jsonl"), "--provider", "openai"]
    argv += ["--job-dir", str(tmp_path / "job"), "-o", str(tmp_path / "o.jsonl")]
    assert main([*argv, "--schema", str(tmp_path / "schema.json")]) == 2
    assert "submitted with another schema" in capsys.readouterr().err


async def test_retry_all_resends_the_replies_that_missed_the_schema(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    long = {
        "type": "object",
        "properties": {"essay": {"type": "string", "minLength": 2000}},
    }
    async with client_for(emulator, "anthropic") as client:
        requests = list(sample_requests("anthropic", 5))
        with await client.submit(
            requests, job_dir=tmp_path / "job", schema=long
        ) as job:
            results = await finish(job)
            assert {r.error.type for r in results if r.error} == {"schema_mismatch"}
            assert await job.retry_failed() == 0  # not retried by default
            assert await job.retry_failed(all_failures=True) == 5


async def test_openai_responses_requests_get_text_format(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    requests = [
        {
            "custom_id": f"r{n}",
            "method": "POST",
            "url": "/v1/responses",
            "body": {
                "model": "gpt-4o-mini",
                "input": f"city {n}",
                "text": {"verbosity": "low"},
            },
        }
        for n in range(3)
    ]
    async with client_for(emulator, "openai") as client:
        with await client.submit(
            requests, job_dir=tmp_path / "job", schema=SCHEMA
        ) as job:
            results = await finish(job)
    assert [r.status for r in results] == ["succeeded"] * 3
    assert all(first_problem(r.parsed, SCHEMA) is None for r in results)
    line = json.loads(
        next((tmp_path / "job" / "chunks").glob("*.jsonl")).read_bytes().splitlines()[0]
    )
    assert line["body"]["text"]["verbosity"] == "low"
    assert line["body"]["text"]["format"]["name"] == "Facts"
    assert line["body"]["text"]["format"]["strict"] is True


async def test_run_job_takes_a_schema(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    write_sample(str(tmp_path / "in.jsonl"), "gemini", 4)
    counts = await asyncio.to_thread(
        sb.run_job,
        tmp_path / "in.jsonl",
        provider="gemini",
        base_url=emulator.gemini_base_url,
        job_dir=tmp_path / "job",
        output=tmp_path / "out.jsonl",
        poll=sb.PollPolicy(min_delay=0.01, max_delay=0.05),
        schema=Facts,
    )
    assert counts == {"succeeded": 4}
    assert all(
        isinstance(row["parsed"]["where"], dict) for row in rows(tmp_path / "out.jsonl")
    )
