"""OpenAI chat-completions lines translated for anthropic, gemini and mistral: each
mapped field lands where the target's wire format puts it, each field that cannot
be mapped is refused with a reason, and every translation is a request the
emulator's wire check (the target's shape) accepts."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from streambatch import InvalidRequestLine
from streambatch._core.lines import Lines
from streambatch._core.pack import limits_for
from streambatch._core.split import Splitter
from streambatch._providers import input_rules, translator_for
from streambatch._providers.translate import (
    ANTHROPIC_DEFAULT_MAX_TOKENS,
    is_openai_line,
    to_anthropic,
    to_gemini,
    to_mistral,
)
from streambatch.testing._wire import anthropic_problem, gemini_problem

PNG = "data:image/png;base64,iVBORw0KGgo="
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a word up.",
        "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
    },
}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup", "arguments": '{"word": "fjord"}'},
}


def line(custom_id: str = "r-1", **body: Any) -> bytes:
    request: dict[str, Any] = {
        "model": "some-model",
        "messages": [{"role": "user", "content": "Hello"}],
    }
    request.update(body)
    return msgspec.json.encode(
        {
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": request,
        }
    )


def anthropic(**body: Any) -> dict[str, Any]:
    out = msgspec.json.decode(to_anthropic(line(**body)))
    assert out["custom_id"] == "r-1"
    params: dict[str, Any] = out["params"]
    assert anthropic_problem(params) is None, anthropic_problem(params)
    return params


def gemini(**body: Any) -> dict[str, Any]:
    out = msgspec.json.decode(to_gemini(line(**body)))
    assert out["key"] == "r-1"
    request: dict[str, Any] = out["request"]
    assert gemini_problem(request) is None, gemini_problem(request)
    return request


def mistral(**body: Any) -> dict[str, Any]:
    out = msgspec.json.decode(to_mistral(line(**body)))
    assert out["custom_id"] == "r-1"
    assert set(out) == {"custom_id", "body"}
    result: dict[str, Any] = out["body"]
    return result


def refused(translate: Any, data: bytes) -> str:
    with pytest.raises(InvalidRequestLine) as caught:
        translate(data)
    return caught.value.reason


CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
    {"role": "user", "content": "Define fjord."},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": "a sea inlet"},
    {"role": "user", "content": "Thanks."},
    {"role": "assistant", "content": "De rien."},
    {"role": "user", "content": [{"type": "text", "text": "Again?"}]},
]


# ------------------------------------------------------------------ anthropic


def test_anthropic_a_plain_line() -> None:
    assert anthropic() == {
        "model": "some-model",
        "max_tokens": ANTHROPIC_DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": "Hello"}],
    }


def test_anthropic_system_roles_tool_calls_and_results() -> None:
    params = anthropic(messages=CONVERSATION, tools=[TOOL])
    assert params["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Use French."},
    ]
    assert params["messages"] == [
        {"role": "user", "content": "Define fjord."},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "lookup",
                    "input": {"word": "fjord"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "call_1",
                    "content": "a sea inlet",
                },
                {"type": "text", "text": "Thanks."},
            ],
        },
        {"role": "assistant", "content": "De rien."},
        {"role": "user", "content": [{"type": "text", "text": "Again?"}]},
    ]


def test_anthropic_one_system_message_is_a_string() -> None:
    messages = [{"role": "system", "content": "Be brief."}, *CONVERSATION[2:3]]
    assert anthropic(messages=messages)["system"] == "Be brief."


@pytest.mark.parametrize("name", ["max_tokens", "max_completion_tokens"])
def test_anthropic_max_tokens_from_either_name(name: str) -> None:
    assert anthropic(**{name: 77})["max_tokens"] == 77


def test_anthropic_sampling_and_stop() -> None:
    params = anthropic(temperature=0.3, top_p=0.9, stop="END", user="u-42")
    assert params["temperature"] == 0.3
    assert params["top_p"] == 0.9
    assert params["stop_sequences"] == ["END"]
    assert params["metadata"] == {"user_id": "u-42"}
    assert anthropic(stop=["a", "b"])["stop_sequences"] == ["a", "b"]


def test_anthropic_json_schema_is_the_structured_output_field() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
    params = anthropic(response_format=fmt)
    assert params["output_config"] == {
        "format": {"type": "json_schema", "schema": SCHEMA}
    }
    assert "output_config" not in anthropic(response_format={"type": "text"})


def test_anthropic_images_as_data_urls_and_https_urls() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG}},
        {
            "type": "image_url",
            "image_url": {"url": "https://x.test/a", "detail": "auto"},
        },
    ]
    params = anthropic(messages=[{"role": "user", "content": content}])
    assert params["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/png",
                "data": "iVBORw0KGgo=",
            },
        },
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a"}},
    ]


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        (
            {"type": "function", "function": {"name": "lookup"}},
            None,
            {"type": "tool", "name": "lookup"},
        ),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
    ],
)
def test_anthropic_tools_and_tool_choice(
    choice: object, parallel: bool | None, expected: dict[str, object]
) -> None:
    strict = {**TOOL, "function": {**TOOL["function"], "strict": True}}  # type: ignore[dict-item]
    params = anthropic(tools=[strict], tool_choice=choice, parallel_tool_calls=parallel)
    assert params["tools"] == [
        {
            "name": "lookup",
            "description": "Look a word up.",
            "input_schema": TOOL["function"]["parameters"],  # type: ignore[index]
            "strict": True,
        }
    ]
    assert params["tool_choice"] == expected


def test_anthropic_a_tool_without_parameters_takes_an_empty_object() -> None:
    tool = {"type": "function", "function": {"name": "now"}}
    [out] = anthropic(tools=[tool])["tools"]
    assert out == {"name": "now", "input_schema": {"type": "object", "properties": {}}}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"temperature": 1.5}, "body.temperature 1.5 is outside 0..1"),
        ({"seed": 1}, "body.seed has no equivalent in anthropic"),
        ({"n": 2}, "body.n 2 has no equivalent in anthropic"),
        ({"presence_penalty": 0.5}, "body.presence_penalty 0.5 has no equivalent"),
        ({"logprobs": True}, "body.logprobs true has no equivalent"),
        ({"stream": True}, "batches do not stream"),
        ({"modalities": ["audio"]}, "body.modalities has no equivalent in anthropic"),
        ({"response_format": {"type": "json_object"}}, 'give a "json_schema"'),
        ({"max_tokens": 5, "max_completion_tokens": 6}, "differ"),
        ({"max_tokens": 0}, "at least 1"),
        ({"tool_choice": "required"}, "tool_choice needs body.tools"),
        (
            {
                "tools": [TOOL],
                "tool_choice": {"type": "function", "function": {"name": "x"}},
            },
            "not in body.tools",
        ),
        ({"messages": []}, "non-empty array"),
        (
            {
                "messages": [
                    {"role": "user", "content": "a"},
                    {"role": "system", "content": "b"},
                ]
            },
            "after the conversation started",
        ),
        ({"messages": [{"role": "system", "content": "only"}]}, "no user message"),
        (
            {"messages": [{"role": "user", "content": "a", "name": "bob"}]},
            "body.messages[0].name cannot be translated",
        ),
        (
            {"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]},
            "tool_call_id must name a tool call",
        ),
        (
            {"messages": [{"role": "function", "name": "f", "content": "x"}]},
            'role "function" cannot be translated',
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            'a "input_audio" part cannot be translated',
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": "http://x.test/a.png"},
                            }
                        ],
                    }
                ]
            },
            "https:// or a data: URL",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": "data:image/bmp;base64,AA"},
                            }
                        ],
                    }
                ]
            },
            "image/bmp cannot be sent to anthropic",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": PNG, "detail": "high"},
                            }
                        ],
                    }
                ]
            },
            "detail 'high'",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {**CALL, "function": {"name": "f", "arguments": "[1]"}}
                        ],
                    }
                ]
            },
            "arguments must be a JSON object",
        ),
    ],
)
def test_anthropic_refuses_what_it_cannot_map(
    body: dict[str, Any], reason: str
) -> None:
    assert reason in refused(to_anthropic, line(**body))


def test_a_refusal_names_the_custom_id() -> None:
    with pytest.raises(InvalidRequestLine) as caught:
        to_anthropic(line("q-7", seed=3))
    assert caught.value.custom_id == "q-7"
    assert str(caught.value) == (
        "custom_id 'q-7': body.seed has no equivalent in anthropic"
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"custom_id": "a", "params": {}}', "not an OpenAI chat-completions line"),
        (b"{not json", "not valid JSON"),
        (line().replace(b"/v1/chat/completions", b"/v1/embeddings"), "/v1/embeddings"),
        (line().replace(b'"POST"', b'"GET"'), 'method must be "POST"'),
    ],
)
def test_lines_that_are_not_chat_completions_are_refused(
    data: bytes, reason: str
) -> None:
    for translate in (to_anthropic, to_gemini, to_mistral):
        assert reason in refused(translate, data)


def test_neutral_values_are_accepted_everywhere() -> None:
    neutral: dict[str, Any] = {
        "n": 1,
        "stream": False,
        "logprobs": False,
        "store": False,
    }
    neutral |= {"presence_penalty": 0, "frequency_penalty": 0, "logit_bias": {}}
    neutral |= {"temperature": None, "metadata": {}}
    assert anthropic(**neutral)["messages"] == [{"role": "user", "content": "Hello"}]
    assert gemini(**neutral) == {
        "model": "some-model",
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
    }


# ------------------------------------------------------------------ gemini


def test_gemini_a_plain_line_names_its_model() -> None:
    assert gemini() == {
        "model": "some-model",
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
    }


def test_gemini_system_roles_function_calls_and_responses() -> None:
    request = gemini(messages=CONVERSATION, tools=[TOOL])
    assert request["systemInstruction"] == {
        "parts": [{"text": "Be brief."}, {"text": "Use French."}]
    }
    assert request["contents"] == [
        {"role": "user", "parts": [{"text": "Define fjord."}]},
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "lookup", "args": {"word": "fjord"}}}],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "lookup",
                        "response": {"output": "a sea inlet"},
                    }
                },
                {"text": "Thanks."},
            ],
        },
        {"role": "model", "parts": [{"text": "De rien."}]},
        {"role": "user", "parts": [{"text": "Again?"}]},
    ]
    assert request["tools"] == [
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


def test_gemini_generation_config() -> None:
    request = gemini(
        max_completion_tokens=50,
        temperature=1.5,
        top_p=0.5,
        stop=["x", "y"],
        seed=9,
        presence_penalty=0.25,
        frequency_penalty=-0.5,
    )
    assert request["generationConfig"] == {
        "maxOutputTokens": 50,
        "temperature": 1.5,
        "topP": 0.5,
        "stopSequences": ["x", "y"],
        "seed": 9,
        "presencePenalty": 0.25,
        "frequencyPenalty": -0.5,
    }
    assert "generationConfig" not in gemini()


def test_gemini_json_output() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
    assert gemini(response_format=fmt)["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": SCHEMA,
    }
    assert gemini(response_format={"type": "json_object"})["generationConfig"] == {
        "responseMimeType": "application/json"
    }


def test_gemini_images_inline_and_by_https_url() -> None:
    content = [
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "image_url", "image_url": {"url": "https://x.test/p/cat.JPG?s=1"}},
    ]
    request = gemini(messages=[{"role": "user", "content": content}])
    assert request["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {
            "fileData": {
                "mimeType": "image/jpeg",
                "fileUri": "https://x.test/p/cat.JPG?s=1",
            }
        },
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "lookup"}},
            {"mode": "ANY", "allowedFunctionNames": ["lookup"]},
        ),
    ],
)
def test_gemini_tool_choice(choice: object, expected: dict[str, object]) -> None:
    request = gemini(tools=[TOOL], tool_choice=choice)
    assert request["toolConfig"] == {"functionCallingConfig": expected}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"user": "u"}, "body.user has no equivalent in gemini"),
        ({"parallel_tool_calls": False, "tools": [TOOL]}, "parallel_tool_calls false"),
        ({"temperature": 2.5}, "outside 0..2"),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "x",
                        "schema": {
                            "type": "object",
                            "properties": {"z": {"type": "string", "pattern": "^a"}},
                        },
                    },
                }
            },
            "keyword 'pattern' at $.properties.z is not supported by gemini",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": "https://x.test/image"},
                            }
                        ],
                    }
                ]
            },
            "give it as a data URL",
        ),
    ],
)
def test_gemini_refuses_what_it_cannot_map(body: dict[str, Any], reason: str) -> None:
    assert reason in refused(to_gemini, line(**body))


# ------------------------------------------------------------------ mistral


def test_mistral_keeps_the_openai_body_renaming_what_differs() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
    body = mistral(
        messages=CONVERSATION,
        max_completion_tokens=40,
        seed=5,
        temperature=0.2,
        top_p=0.8,
        stop="END",
        response_format=fmt,
        tools=[TOOL],
        tool_choice="required",
        n=1,
        stream=False,
    )
    assert body == {
        "model": "some-model",
        "messages": [
            CONVERSATION[0],
            {**CONVERSATION[1], "role": "system"},
            *CONVERSATION[2:],
        ],
        "max_tokens": 40,
        "random_seed": 5,
        "temperature": 0.2,
        "top_p": 0.8,
        "stop": "END",
        "response_format": fmt,
        "tools": [TOOL],
        "tool_choice": "required",
        "n": 1,
    }


def test_mistral_refuses_what_it_cannot_map() -> None:
    assert "body.user has no equivalent in mistral" in refused(
        to_mistral, line(user="u")
    )
    assert "batches do not stream" in refused(to_mistral, line(stream=True))


# ------------------------------------------------------------------ detection


def test_openai_lines_are_told_from_native_ones() -> None:
    assert is_openai_line(line())
    assert not is_openai_line(b'{"custom_id": "a", "params": {}}')
    assert not is_openai_line(b'{"custom_id": "a", "body": {"model": "m"}}')
    assert not is_openai_line(b'{"key": "a", "request": {}}')
    assert not is_openai_line(b"not json")
    assert translator_for("openai") is None
    assert translator_for("azure") is None


def _split(provider: str, data: bytes) -> tuple[Splitter, bytes]:
    """Split ``data``; return the splitter and the bytes written to its chunks."""
    rules = input_rules(provider)
    splitter = Splitter(
        rules.lines,
        limits_for(rules.limits, None, None, provider),
        translator=translator_for(provider),
    )
    step = splitter.feed([Lines(data, 1, data.count(b"\n"))])
    return splitter, b"".join(d for _, d in step.writes)


def test_the_split_writes_translated_lines_and_keeps_line_numbers() -> None:
    data = line("a") + b"\n\n" + line("b", seed=1) + b"\n" + line("c") + b"\n"
    splitter, written = _split("anthropic", data)
    assert [(p.line_no, p.custom_id, p.reason) for p in splitter.problems] == [
        (3, "b", "body.seed has no equivalent in anthropic")
    ]
    assert written == to_anthropic(line("a")) + b"\n" + to_anthropic(line("c")) + b"\n"


def test_the_translated_line_is_checked_by_the_targets_rules() -> None:
    splitter, _ = _split("anthropic", line("not ok!") + b"\n")
    [problem] = splitter.problems
    assert (problem.line_no, problem.custom_id) == (1, "not ok!")
    assert "custom_id must match" in problem.reason


def test_a_native_input_is_not_translated() -> None:
    native = b'{"custom_id": "a", "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}}\n'
    splitter, written = _split("anthropic", b"\n" + native)
    assert splitter.problems == []
    assert written == native


def test_an_input_is_all_openai_or_all_native() -> None:
    native = (
        b'{"custom_id": "n", "params": {"model": "m", "max_tokens": 5, "messages": []}}'
    )
    splitter, _ = _split("anthropic", line("a") + b"\n" + native + b"\n")
    [problem] = splitter.problems
    assert (problem.line_no, problem.custom_id) == (2, "n")
    assert "the input's first line is one" in problem.reason


def test_gemini_chunks_are_grouped_by_the_translated_model() -> None:
    data = line("a") + b"\n" + line("b").replace(b"some-model", b"other") + b"\n"
    splitter, _ = _split("gemini", data)
    assert splitter.problems == []
    assert [c.group for c in splitter.chunks] == [
        ("models/some-model:batchGenerateContent", "some-model"),
        ("models/other:batchGenerateContent", "other"),
    ]
