"""The request shapes the real services accept, checked item by item.

An Anthropic ``params`` object (the Messages API body) and a Gemini
``GenerateContentRequest`` are checked against their wire format (the fields of
the anthropic SDK's ``MessageCreateParams`` and google-genai's request types):
an unknown field, a wrong type or an out-of-range value makes the item an error
result naming the field, as the services answer. Schemas and tool arguments
(free-form JSON) are not looked into. Imports msgspec and stdlib only.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

__all__ = ("anthropic_problem", "gemini_problem")

_Unit = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
_Object = dict[str, Any]


class _Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


# ------------------------------------------------------------------- Anthropic


class _Base64(_Strict, tag_field="type", tag="base64"):
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: str


class _Url(_Strict, tag_field="type", tag="url"):
    url: str


class _TextBlock(_Strict, tag_field="type", tag="text"):
    text: str
    cache_control: _Object | None = None
    citations: list[_Object] | None = None


class _ImageBlock(_Strict, tag_field="type", tag="image"):
    source: _Base64 | _Url
    cache_control: _Object | None = None


class _ToolUse(_Strict, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: _Object
    cache_control: _Object | None = None


class _ToolResult(_Strict, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str | list[_TextBlock | _ImageBlock] = ""
    is_error: bool = False
    cache_control: _Object | None = None


class _Message(_Strict):
    role: Literal["user", "assistant"]
    content: str | list[_TextBlock | _ImageBlock | _ToolUse | _ToolResult]


class _Tool(_Strict):
    name: str
    input_schema: _Object
    description: str | None = None
    strict: bool | None = None
    type: Literal["custom"] | None = None
    cache_control: _Object | None = None


class _Auto(_Strict, tag_field="type", tag="auto"):
    disable_parallel_tool_use: bool = False


class _Any(_Strict, tag_field="type", tag="any"):
    disable_parallel_tool_use: bool = False


class _ToolChoiceTool(_Strict, tag_field="type", tag="tool"):
    name: str
    disable_parallel_tool_use: bool = False


class _NoTool(_Strict, tag_field="type", tag="none"):
    pass


class _Format(_Strict):
    type: Literal["json_schema"]
    schema: _Object


class _OutputConfig(_Strict):
    format: _Format | None = None
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None


class _Metadata(_Strict):
    user_id: str | None = None


class _Params(_Strict):
    model: str
    max_tokens: Annotated[int, msgspec.Meta(ge=1)]
    messages: Annotated[list[_Message], msgspec.Meta(min_length=1)]
    system: str | list[_TextBlock] | None = None
    temperature: _Unit | None = None
    top_p: _Unit | None = None
    top_k: Annotated[int, msgspec.Meta(ge=0)] | None = None
    stop_sequences: list[str] | None = None
    tools: list[_Tool] | None = None
    tool_choice: _Auto | _Any | _ToolChoiceTool | _NoTool | None = None
    output_config: _OutputConfig | None = None
    metadata: _Metadata | None = None
    thinking: _Object | None = None
    service_tier: Literal["auto", "standard_only"] | None = None
    stream: Literal[False] = False


def _problem(value: object, kind: type[Any]) -> str | None:
    try:
        msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as exc:
        what, _, where = str(exc).partition(" - at `$")
        where = where.rstrip("`").lstrip(".")
        return f"{where}: {what}" if where else what
    return None


def anthropic_problem(params: object) -> str | None:
    """Why the service would refuse these ``params``, or None."""
    return _problem(params, _Params)


# ------------------------------------------------------------------- Gemini


class _Blob(_Strict, rename="camel"):
    mime_type: str
    data: str


class _FileData(_Strict, rename="camel"):
    file_uri: str
    mime_type: str | None = None


class _FunctionCall(_Strict, rename="camel"):
    name: str
    args: _Object | None = None
    id: str | None = None


class _FunctionResponse(_Strict, rename="camel"):
    name: str
    response: _Object
    id: str | None = None


class _Part(_Strict, rename="camel"):
    text: str | None = None
    inline_data: _Blob | None = None
    file_data: _FileData | None = None
    function_call: _FunctionCall | None = None
    function_response: _FunctionResponse | None = None
    thought: bool | None = None


class _Content(_Strict, rename="camel"):
    parts: Annotated[list[_Part], msgspec.Meta(min_length=1)]
    role: Literal["user", "model"] | None = None


class _GenerationConfig(_Strict, rename="camel"):
    max_output_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] | None = None
    top_p: _Unit | None = None
    top_k: int | None = None
    stop_sequences: Annotated[list[str], msgspec.Meta(max_length=5)] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    candidate_count: int | None = None
    response_mime_type: str | None = None
    response_schema: _Object | None = None
    response_json_schema: _Object | None = None
    thinking_config: _Object | None = None


class _Declaration(_Strict, rename="camel"):
    name: str
    description: str | None = None
    parameters: _Object | None = None
    parameters_json_schema: _Object | None = None


class _GeminiTool(_Strict, rename="camel"):
    function_declarations: list[_Declaration] | None = None


class _CallingConfig(_Strict, rename="camel"):
    mode: Literal["AUTO", "ANY", "NONE", "VALIDATED"] | None = None
    allowed_function_names: list[str] | None = None


class _ToolConfig(_Strict, rename="camel"):
    function_calling_config: _CallingConfig | None = None


class _Request(_Strict, rename="camel"):
    contents: Annotated[list[_Content], msgspec.Meta(min_length=1)]
    model: str | None = None
    system_instruction: _Content | None = None
    generation_config: _GenerationConfig | None = None
    tools: list[_GeminiTool] | None = None
    tool_config: _ToolConfig | None = None
    safety_settings: list[_Object] | None = None
    cached_content: str | None = None


_SNAKE = re.compile(r"_([a-z])")
# Values that are free-form JSON: their keys are names, not field names.
_OPAQUE = frozenset(
    {"args", "response", "responseSchema", "responseJsonSchema", "parameters"}
    | {"parametersJsonSchema", "thinkingConfig"}
)


def _camel(value: object) -> object:
    """The proto-JSON parser takes both spellings: read snake_case as camelCase."""
    if isinstance(value, list):
        return [_camel(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        name = _SNAKE.sub(lambda m: m.group(1).upper(), key)
        out[name] = item if name in _OPAQUE else _camel(item)
    return out


def gemini_problem(request: object) -> str | None:
    """Why the service would refuse this ``GenerateContentRequest``, or None."""
    camel = request
    problem = _problem(camel, _Request)
    if problem is not None:  # perhaps spelled snake_case: read it as camelCase
        camel = _camel(request)
        problem = _problem(camel, _Request)
    if problem is None and isinstance(camel, dict):
        for content in camel.get("contents", []):
            for part in content.get("parts", []):
                data = [k for k, v in part.items() if k != "thought" and v is not None]
                if len(data) != 1:
                    return "contents.parts: a part holds exactly one kind of data"
    return problem
