"""--schema puts each provider's structured-output field into every request."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from streambatch._core.lines import Lines
from streambatch._core.requests import Problem
from streambatch._core.structured import (
    SchemaInjector,
    asked_schema,
    format_fields,
    is_strict,
    schema_name,
)

SCHEMA = {
    "title": "City facts",
    "type": "object",
    "properties": {"name": {"type": "string"}, "people": {"type": "integer"}},
    "required": ["name", "people"],
    "additionalProperties": False,
}
LOOSE = {"type": "object", "properties": {"name": {"type": "string"}}}


def test_openai_chat_gets_response_format_json_schema() -> None:
    assert format_fields("openai", "/v1/chat/completions", SCHEMA) == {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "City_facts", "schema": SCHEMA, "strict": True},
        }
    }


def test_openai_responses_gets_text_format() -> None:
    assert format_fields("azure", "/v1/responses", LOOSE) == {
        "text": {
            "format": {
                "type": "json_schema",
                "name": "output",
                "schema": LOOSE,
                "strict": False,  # strict mode would refuse this schema
            }
        }
    }


def test_anthropic_gets_output_config_format() -> None:
    assert format_fields("anthropic", None, SCHEMA) == {
        "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}
    }


def test_gemini_gets_json_mime_type_and_schema() -> None:
    assert format_fields("gemini", None, SCHEMA) == {
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": SCHEMA,
        }
    }


def test_an_endpoint_without_structured_output_is_named() -> None:
    with pytest.raises(ValueError, match="/v1/embeddings has no structured output"):
        format_fields("openai", "/v1/embeddings", SCHEMA)


def test_strict_needs_every_property_required_and_no_others() -> None:
    assert is_strict(SCHEMA)
    assert not is_strict(LOOSE)
    nested = {**SCHEMA, "properties": {**SCHEMA["properties"], "more": LOOSE}}  # type: ignore[dict-item]
    nested["required"] = [*SCHEMA["required"], "more"]  # type: ignore[misc]
    assert not is_strict(nested)
    assert schema_name({"title": "x" * 80}) == "x" * 64


def lines(*items: object, first: int = 1) -> Lines:
    data = (
        b"\n".join(msgspec.json.encode(i) if i is not None else b"" for i in items)
        + b"\n"
    )
    return Lines(data, first, len(items))


def rewritten(provider: str, frame: Lines) -> tuple[list[Any], list[Problem]]:
    frames, problems = SchemaInjector(provider, SCHEMA).rewrite([frame])
    (out,) = frames
    assert isinstance(out, Lines)
    assert (out.first_line, out.n_lines) == (frame.first_line, frame.n_lines)
    decoded = [
        msgspec.json.decode(line) if line else None
        for line in bytes(out.data).split(b"\n")[:-1]
    ]
    return decoded, problems


def chat(cid: str, **body: object) -> dict[str, Any]:
    return {
        "custom_id": cid,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "m", "messages": [], **body},
    }


def test_each_line_gains_the_field_and_blank_lines_keep_their_place() -> None:
    done, problems = rewritten("openai", lines(chat("a"), None, chat("b"), first=5))
    assert problems == []
    assert done[1] is None
    for line in (done[0], done[2]):
        assert asked_schema("openai", line["url"], line["body"]) == (
            "response_format",
            SCHEMA,
        )
        assert line["body"]["messages"] == []


def test_a_line_that_asks_for_the_same_schema_is_kept() -> None:
    same = format_fields("openai", "/v1/chat/completions", SCHEMA)
    done, problems = rewritten("openai", lines(chat("a", **same)))
    assert problems == []
    assert done[0]["body"]["response_format"] == same["response_format"]


def test_a_line_that_asks_for_another_format_is_a_problem() -> None:
    other = {"response_format": {"type": "json_object"}}
    _, problems = rewritten("openai", lines(chat("a"), chat("b", **other), first=3))
    assert problems == [
        Problem(
            4,
            "b",
            "body.response_format asks for another output format than the job's "
            "schema: leave it out, or give the same schema",
        )
    ]


def test_an_embeddings_line_is_a_problem() -> None:
    line = {**chat("e"), "url": "/v1/embeddings"}
    _, problems = rewritten("openai", lines(line))
    assert problems[0].reason == (
        "the job's schema: /v1/embeddings has no structured output "
        "(only /v1/chat/completions and /v1/responses)"
    )


def test_gemini_merges_into_an_existing_generation_config() -> None:
    line = {
        "key": "g1",
        "request": {"contents": [{}], "generationConfig": {"temperature": 0.2}},
    }
    done, problems = rewritten("gemini", lines(line))
    assert problems == []
    assert done[0]["request"]["generationConfig"] == {
        "temperature": 0.2,
        "responseMimeType": "application/json",
        "responseJsonSchema": SCHEMA,
    }


def test_anthropic_beta_field_with_another_schema_is_a_problem() -> None:
    line = {
        "custom_id": "c1",
        "params": {"output_format": {"type": "json_schema", "schema": LOOSE}},
    }
    _, problems = rewritten("anthropic", lines(line))
    assert problems[0].custom_id == "c1"
    assert problems[0].reason.startswith("params.output_format asks for another")


def test_an_undecodable_line_is_left_for_the_checker() -> None:
    frame = Lines(b'{"custom_id": \n', 1, 1)
    frames, problems = SchemaInjector("openai", SCHEMA).rewrite([frame])
    assert frames == [frame] and problems == []
