"""One OpenAI chat-completions file run on anthropic and gemini through the emulator.

The emulator checks each request against the target's wire shape (an unknown
field or a wrong type is an errored result) and records it as sent: every mapped
field is checked there, where the target's API would read it, and each reply is
the emulator's reply to that recorded request.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
from typing import Any

import pytest

import streambatch as sb
from streambatch.cli import main
from streambatch.testing import Emulator, EmulatorConfig, Timings, expected_text
from streambatch.testing.sample import write_sample
from tests.unit.test_translate import CALL, PNG, SCHEMA, TOOL

from .test_cli import POLL
from .test_jobs import client_for, finish

JPEG_URL = "https://images.test/cat.jpg"

# One line per feature; each body is what users already send to OpenAI.
BODIES: dict[str, dict[str, Any]] = {
    "plain": {"messages": [{"role": "user", "content": "Hello"}]},
    "system": {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Why is the sky blue?"},
        ],
        "max_completion_tokens": 3,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["END"],
    },
    "schema": {
        "messages": [{"role": "user", "content": "Six times seven?"}],
        "max_tokens": 100,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
        },
    },
    "images": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Same animal?"},
                    {"type": "image_url", "image_url": {"url": PNG}},
                    {"type": "image_url", "image_url": {"url": JPEG_URL}},
                ],
            }
        ]
    },
    "tools": {
        "messages": [
            {"role": "user", "content": "Define fjord."},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a sea inlet"},
        ],
        "tools": [TOOL],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
    },
}


def write_openai(path: pathlib.Path, model: str) -> None:
    with path.open("w") as file:
        for custom_id, body in BODIES.items():
            line = {
                "custom_id": custom_id,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": model, **body},
            }
            file.write(json.dumps(line) + "\n")


async def run(
    emulator: Emulator, provider: str, source: pathlib.Path, job_dir: pathlib.Path
) -> tuple[dict[str, sb.Result], dict[str, Any]]:
    """Run ``source`` on ``provider``; the results and the requests as recorded."""
    async with client_for(emulator, provider) as client:
        with await client.submit(source, job_dir=job_dir) as job:
            results = {r.custom_id: r for r in await finish(job)}
    [batch] = emulator.records.batches(provider)
    return results, batch.requests()


def check_replies(
    provider: str, results: dict[str, sb.Result], sent: dict[str, Any]
) -> None:
    """Every request passed the target's wire check and got its own reply."""
    assert sorted(results) == sorted(BODIES) == sorted(sent)
    for custom_id, result in results.items():
        assert result.status == "succeeded", result
        assert result.text == expected_text(provider, sent[custom_id])
    assert results["system"].stop_reason == "max_tokens"  # 3 tokens honoured


async def test_an_openai_file_runs_on_anthropic(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    write_openai(tmp_path / "in.jsonl", "claude-sonnet-4-5")
    results, sent = await run(
        emulator, "anthropic", tmp_path / "in.jsonl", tmp_path / "job"
    )
    check_replies("anthropic", results, sent)
    assert sent["plain"] == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,  # Anthropic requires one: the documented default
        "messages": [{"role": "user", "content": "Hello"}],
    }
    system = sent["system"]
    assert system["system"] == "Be brief."
    assert system["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]
    assert (system["max_tokens"], system["temperature"], system["top_p"]) == (
        3,
        0.5,
        0.9,
    )
    assert system["stop_sequences"] == ["END"]
    assert sent["schema"]["max_tokens"] == 100
    assert sent["schema"]["output_config"] == {
        "format": {"type": "json_schema", "schema": SCHEMA}
    }
    assert sent["images"]["messages"][0]["content"] == [
        {"type": "text", "text": "Same animal?"},
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/png",
                "data": "iVBORw0KGgo=",
            },
        },
        {"type": "image", "source": {"type": "url", "url": JPEG_URL}},
    ]
    tools = sent["tools"]
    assert tools["tools"] == [
        {
            "name": "lookup",
            "description": "Look a word up.",
            "input_schema": TOOL["function"]["parameters"],  # type: ignore[index]
        }
    ]
    assert tools["tool_choice"] == {"type": "tool", "name": "lookup"}
    assert [m["role"] for m in tools["messages"]] == ["user", "assistant", "user"]
    assert tools["messages"][1]["content"] == [
        {
            "type": "tool_use",
            "id": "call_1",
            "name": "lookup",
            "input": {"word": "fjord"},
        }
    ]
    assert tools["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "a sea inlet"}
    ]


async def test_an_openai_file_runs_on_gemini(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    write_openai(tmp_path / "in.jsonl", "gemini-2.5-flash")
    results, sent = await run(
        emulator, "gemini", tmp_path / "in.jsonl", tmp_path / "job"
    )
    check_replies("gemini", results, sent)
    assert sent["plain"] == {
        "model": "gemini-2.5-flash",
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
    }
    system = sent["system"]
    assert system["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert system["contents"] == [
        {"role": "user", "parts": [{"text": "Why is the sky blue?"}]}
    ]
    assert system["generationConfig"] == {
        "maxOutputTokens": 3,
        "temperature": 0.5,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert sent["schema"]["generationConfig"] == {
        "maxOutputTokens": 100,
        "responseMimeType": "application/json",
        "responseJsonSchema": SCHEMA,
    }
    assert sent["images"]["contents"][0]["parts"] == [
        {"text": "Same animal?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": JPEG_URL}},
    ]
    tools = sent["tools"]
    assert tools["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "lookup",
                    "description": "Look a word up.",
                    "parametersJsonSchema": TOOL["function"]["parameters"],  # type: ignore[index]
                }
            ]
        }
    ]
    assert tools["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}
    }
    assert [c["role"] for c in tools["contents"]] == ["user", "model", "user"]
    assert tools["contents"][1]["parts"] == [
        {"functionCall": {"name": "lookup", "args": {"word": "fjord"}}}
    ]
    assert tools["contents"][2]["parts"] == [
        {"functionResponse": {"name": "lookup", "response": {"output": "a sea inlet"}}}
    ]


@pytest.mark.parametrize(
    ("provider", "line", "reason"),
    [
        (
            "anthropic",
            {
                "custom_id": "a",
                "params": {
                    "model": "m",
                    "max_tokens": 9,
                    "stop": ["x"],
                    "messages": [{"role": "user", "content": "hi"}],
                },
            },
            "Object contains unknown field `stop`",
        ),
        (
            "gemini",
            {
                "key": "a",
                "request": {
                    "model": "m",
                    "contents": [{"parts": [{"text": "hi"}]}],
                    "generationConfig": {"max_tokens": 9},
                },
            },
            "generationConfig: Object contains unknown field `maxTokens`",
        ),
    ],
)
async def test_the_emulator_refuses_a_request_the_service_would(
    emulator: Emulator,
    tmp_path: pathlib.Path,
    provider: str,
    line: dict[str, Any],
    reason: str,
) -> None:
    """What makes the round trips above worth something: a field in the wrong
    place comes back as an errored result, as from the real service."""
    (tmp_path / "in.jsonl").write_text(json.dumps(line) + "\n")
    async with client_for(emulator, provider) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job"
        ) as job:
            [result] = await finish(job)
    assert result.status == "errored"
    assert result.error is not None
    assert reason in result.error.message


async def test_a_line_that_cannot_be_translated_exits_2_before_any_upload(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_openai(tmp_path / "in.jsonl", "claude-sonnet-4-5")
    with (tmp_path / "in.jsonl").open("a") as file:
        bad = {"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": 7}
        line = {"custom_id": "seeded", "method": "POST", "url": "/v1/chat/completions"}
        file.write(json.dumps({**line, "body": bad}) + "\n")
    async with Emulator(EmulatorConfig(timings=Timings.instant())) as emulator:
        args = ["run", str(tmp_path / "in.jsonl"), "--provider", "anthropic"]
        args += ["--job-dir", str(tmp_path / "job"), "-o", str(tmp_path / "out.jsonl")]
        args += ["--base-url", emulator.anthropic_base_url, *POLL]
        assert await asyncio.to_thread(main, args) == 2
        assert emulator.records.batches() == []
        assert [r for r in emulator.records.requests if r.method == "POST"] == []
    err = capsys.readouterr().err
    assert (
        f"{tmp_path / 'in.jsonl'}:6: custom_id 'seeded': "
        "body.seed has no equivalent in anthropic"
    ) in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.jsonl").exists()


def test_the_command_line_runs_an_openai_file_on_gemini(tmp_path: pathlib.Path) -> None:
    write_openai(tmp_path / "in.jsonl", "gemini-2.5-flash")
    args = ["run", str(tmp_path / "in.jsonl"), "--provider", "gemini", "--emulator"]
    args += ["--emulator-clock", "instant", "--job-dir", str(tmp_path / "job")]
    args += ["-o", str(tmp_path / "out.jsonl"), *POLL]
    assert main(args) == 0
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_bytes().splitlines()]
    assert sorted(r["custom_id"] for r in rows) == sorted(BODIES)
    assert {r["status"] for r in rows} == {"succeeded"}


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_estimate_reads_an_openai_file_for_another_provider(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    """``estimate`` (and ``--max-cost``) read the lines the job will translate."""
    model = {"anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}[provider]
    write_openai(tmp_path / "in.jsonl", model)
    assert main(["estimate", str(tmp_path / "in.jsonl"), "--provider", provider]) == 0
    out = capsys.readouterr().out
    assert "requests: 5\n" in out
    assert "output tokens at most (max_tokens): 103;" in out
    assert "no price known" not in out


async def test_openai_requests_given_from_python_are_translated(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    lines = [
        {
            "custom_id": f"p-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "claude-sonnet-4-5",
                "messages": [{"role": "user", "content": f"q {i}"}],
                "stop": "END",
            },
        }
        for i in range(3)
    ]
    async with client_for(emulator, "anthropic") as client:
        with await client.submit(lines, job_dir=tmp_path / "job") as job:
            results = await finish(job)
    assert {r.status for r in results} == {"succeeded"}
    [batch] = emulator.records.batches("anthropic")
    assert {p["stop_sequences"][0] for p in batch.requests().values()} == {"END"}


ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["answer", "score"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
async def test_a_schema_reaches_a_translated_request_as_the_target_asks(
    emulator: Emulator, tmp_path: pathlib.Path, provider: str
) -> None:
    """An OpenAI file sent to another provider with a schema: the schema is
    asked for in the target's own field, and every answer is parsed."""
    write_sample(str(tmp_path / "in.jsonl"), "openai", 20)
    async with client_for(emulator, provider) as client:
        with await client.submit(
            tmp_path / "in.jsonl", job_dir=tmp_path / "job", schema=ANSWER_SCHEMA
        ) as job:
            results = await finish(job)
    [batch] = emulator.records.batches(provider)
    for request in batch.requests().values():
        if provider == "anthropic":
            assert request["output_config"]["format"]["schema"] == ANSWER_SCHEMA
        else:
            config = request["generationConfig"]
            assert config["responseMimeType"] == "application/json"
            assert (
                config["responseJsonSchema"]["properties"]
                == ANSWER_SCHEMA["properties"]
            )
    assert len(results) == 20
    for result in results:
        assert result.status == "succeeded", result
        assert set(result.parsed) == {"answer", "score"}


async def test_an_openai_file_runs_on_mistral(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    """OpenAI lines sent to Mistral: each body keeps OpenAI's shape with
    Mistral's names (``max_tokens``, ``random_seed``, a ``system`` message for
    ``developer``), and every request gets its reply."""
    lines = [
        {
            "custom_id": f"m-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "mistral-small-latest",
                "messages": [
                    {"role": "developer", "content": "Be brief."},
                    {"role": "user", "content": f"q {i}"},
                ],
                "max_completion_tokens": 64,
                "seed": 7,
                "temperature": 0.2,
            },
        }
        for i in range(4)
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    async with client_for(emulator, "mistral") as client:
        with await client.submit(source, job_dir=tmp_path / "job") as job:
            results = await finish(job)
    [batch] = emulator.records.batches("mistral")
    sent = batch.requests()
    assert sorted(sent) == [f"m-{i}" for i in range(4)]
    for body in sent.values():
        assert body["max_tokens"] == 64 and "max_completion_tokens" not in body
        assert body["random_seed"] == 7 and "seed" not in body
        assert body["temperature"] == 0.2
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert {r.status for r in results} == {"succeeded"}
    for result in results:
        assert result.text == expected_text("mistral", sent[result.custom_id])
