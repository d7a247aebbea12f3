"""The emulator's per-request wire check: what the services accept passes, a
field in the wrong place or of the wrong type is named."""

from __future__ import annotations

from typing import Any

import pytest

from streambatch.testing._wire import anthropic_problem, gemini_problem

USER = [{"role": "user", "content": "hi"}]
CONTENTS = [{"role": "user", "parts": [{"text": "hi"}]}]


def params(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 5, "messages": USER, **extra}


def request(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "contents": CONTENTS, **extra}


def test_anthropic_accepts_the_documented_fields() -> None:
    image = {"type": "base64", "media_type": "image/png", "data": "AA"}
    content = [{"type": "text", "text": "a"}, {"type": "image", "source": image}]
    assert (
        anthropic_problem(
            params(
                messages=[{"role": "user", "content": content}],
                system=[{"type": "text", "text": "s"}],
                temperature=1,
                stop_sequences=["x"],
                tools=[{"name": "f", "input_schema": {"type": "object"}}],
                tool_choice={"type": "tool", "name": "f"},
                output_config={"format": {"type": "json_schema", "schema": {}}},
                metadata={"user_id": "u"},
            )
        )
        is None
    )


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"stop": ["x"]}, "unknown field `stop`"),
        ({"temperature": 1.2}, "temperature: Expected `float` <= 1.0"),
        ({"max_tokens": 0}, "max_tokens: Expected `int` >= 1"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"tool_choice": {"type": "required"}}, "tool_choice"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/bmp",
                                    "data": "A",
                                },
                            }
                        ],
                    }
                ]
            },
            "media_type",
        ),
    ],
)
def test_anthropic_names_what_the_service_refuses(
    extra: dict[str, Any], reason: str
) -> None:
    problem = anthropic_problem(params(**extra))
    assert problem is not None
    assert reason in problem


def test_gemini_takes_both_spellings() -> None:
    assert gemini_problem(request(generationConfig={"maxOutputTokens": 3})) is None
    assert gemini_problem(request(generation_config={"max_output_tokens": 3})) is None
    schema = {"type": "object", "properties": {"snake_name": {"type": "string"}}}
    config = {"responseMimeType": "application/json", "responseJsonSchema": schema}
    assert gemini_problem(request(generationConfig=config)) is None


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"generationConfig": {"stop": ["x"]}}, "unknown field `stop`"),
        ({"generationConfig": {"temperature": 3}}, "temperature"),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "role"),
        (
            {
                "contents": [
                    {
                        "parts": [
                            {"text": "x", "inlineData": {"mimeType": "a", "data": ""}}
                        ]
                    }
                ]
            },
            "exactly one",
        ),
        ({"systemInstruction": "be brief"}, "systemInstruction"),
    ],
)
def test_gemini_names_what_the_service_refuses(
    extra: dict[str, Any], reason: str
) -> None:
    problem = gemini_problem(request(**extra))
    assert problem is not None
    assert reason in problem
