"""Translate OpenAI chat-completions batch lines into another provider's native lines.

Pure: stdlib and msgspec only; no I/O. One function per target takes the bytes of
one OpenAI line (``{"custom_id", "method", "url", "body"}``) and returns the bytes
of the target's native line, or raises :class:`InvalidRequestLine` naming the
line's custom_id and what cannot be mapped. The field-by-field table is in
docs/translation.md; each fact below is from the providers' SDK types (Anthropic
``MessageCreateParams``, google-genai ``GenerateContentRequest``, Mistral
``ChatCompletionRequest``).

Strategy: the OpenAI body is read once into a neutral form (:class:`_Chat`: the
system text, the turns as typed parts, the sampling parameters), checking every
field on the way; each target then only renders that form. A field is either
mapped, or neutral (its OpenAI default, such as ``n: 1``), or refused: nothing
is dropped silently. Mistral's body is OpenAI's own shape, so it is checked and
renamed (``seed`` -> ``random_seed``) rather than rebuilt.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import msgspec

from .._errors import InvalidRequestLine

__all__ = (
    "ANTHROPIC_DEFAULT_MAX_TOKENS",
    "GEMINI_SCHEMA_KEYWORDS",
    "OpenAITranslator",
    "is_openai_line",
    "to_anthropic",
    "to_gemini",
    "to_mistral",
)

ANTHROPIC_DEFAULT_MAX_TOKENS = 4096
"""``max_tokens`` sent to Anthropic (which requires one) when a line gives none."""

GEMINI_SCHEMA_KEYWORDS = frozenset(
    {
        "$id",
        "$defs",
        "$ref",
        "$anchor",
        "type",
        "format",
        "title",
        "description",
        "enum",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "anyOf",
        "oneOf",
        "properties",
        "additionalProperties",
        "required",
        "propertyOrdering",
    }
)
"""The JSON Schema keywords Gemini's ``responseJsonSchema`` honours (google-genai
``GenerateContentConfig.response_json_schema``); a schema using another keyword
that constrains the output is refused rather than silently weakened."""

# Annotations that constrain nothing, so losing them changes no output.
_SCHEMA_NOTES = frozenset({"$schema", "$comment", "default", "examples"})

_ANTHROPIC_IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_GEMINI_IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".heic": "image/heic",
    ".heif": "image/heif",
}

# OpenAI body fields that may be present with their default value (or null)
# and then mean nothing for any target.
_NEUTRAL: dict[str, object] = {
    "n": 1,
    "stream": False,
    "logprobs": False,
    "store": False,
    "parallel_tool_calls": True,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "logit_bias": {},
    "metadata": {},
}

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class _Refused(Exception):
    """Internal: a field cannot be mapped (turned into InvalidRequestLine)."""


def _refuse(reason: str) -> NoReturn:
    raise _Refused(reason)


# ---------------------------------------------------------------- the neutral form


@dataclass(slots=True)
class _Text:
    text: str


@dataclass(slots=True)
class _Image:
    """An image: ``data`` (base64) with ``media_type``, or an https ``url``."""

    media_type: str | None
    data: str | None
    url: str | None


@dataclass(slots=True)
class _Call:
    id: str
    name: str
    args: dict[str, Any]


@dataclass(slots=True)
class _Result:
    call_id: str
    name: str
    text: str


_Part = _Text | _Image | _Call | _Result


@dataclass(slots=True)
class _Turn:
    role: str  # "user" or "assistant"; tool results are user turns
    parts: list[_Part]
    plain: bool  # the content was one string (kept a string where targets allow)


@dataclass(slots=True)
class _Tool:
    name: str
    description: str | None
    parameters: dict[str, Any] | None
    strict: bool | None


@dataclass(slots=True)
class _Chat:
    """One OpenAI chat request, checked, in a form every target renders from."""

    model: str
    system: list[str] = field(default_factory=list)
    turns: list[_Turn] = field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    json_object: bool = False
    schema: dict[str, Any] | None = None
    tools: list[_Tool] = field(default_factory=list)
    tool_choice: str | None = None  # "auto" | "none" | "required" | "tool"
    tool_name: str | None = None  # the forced tool, for "tool"
    parallel_tool_calls: bool | None = None
    user: str | None = None


class _Line(msgspec.Struct):
    custom_id: str
    method: str
    url: str
    body: dict[str, Any]


_decode_line = msgspec.json.Decoder(_Line).decode


class _Shape(msgspec.Struct):
    """What tells an OpenAI line from a native one."""

    method: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    url: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


_decode_shape = msgspec.json.Decoder(_Shape).decode


def is_openai_line(line: bytes) -> bool:
    """Whether ``line`` is shaped as an OpenAI batch line (it has a ``method`` or a
    ``url``), which no anthropic, gemini or mistral native line has."""
    try:
        shape = _decode_shape(line)
    except msgspec.DecodeError:
        return False
    return bool(shape.method) or bool(shape.url)


def _read_line(line: bytes) -> tuple[str, dict[str, Any]]:
    """The custom_id and body of an OpenAI chat-completions line."""
    try:
        head = _decode_line(line)
    except msgspec.ValidationError as exc:
        _refuse(
            "not an OpenAI chat-completions line (the input's first line is one, "
            f"so every line must be): {exc}"
        )
    except msgspec.DecodeError as exc:
        _refuse(f"not valid JSON ({exc})")
    if head.method != "POST":
        _refuse(f'method must be "POST", not {head.method!r}')
    if head.url != "/v1/chat/completions":
        _refuse(f"only /v1/chat/completions lines can be translated, not {head.url!r}")
    return head.custom_id, head.body


def _read_chat(body: dict[str, Any], target: str, known: frozenset[str]) -> _Chat:
    """Check ``body`` field by field; refuse what ``target`` cannot take."""
    for name, value in body.items():
        if name in known or value is None:
            continue
        if name in _NEUTRAL and value == _NEUTRAL[name]:
            continue
        if name == "stream":
            _refuse("body.stream must not be true: batches do not stream")
        if name in _NEUTRAL:
            _refuse(f"body.{name} {_show(value)} has no equivalent in {target}")
        _refuse(f"body.{name} has no equivalent in {target}")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        _refuse("body.model must name the model")
    chat = _Chat(model=model)
    _read_sampling(chat, body, target)
    _read_format(chat, body.get("response_format"), target)
    _read_tools(chat, body, target)
    _read_messages(chat, body.get("messages"))
    return chat


def _show(value: object) -> str:
    return _encode(value).decode()


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value):
        _refuse(f"body.{name} must be a number")
    if not low <= value <= high:
        _refuse(f"body.{name} {value} is outside {low:g}..{high:g}")
    return float(value)


def _read_sampling(chat: _Chat, body: dict[str, Any], target: str) -> None:
    tokens = [
        (name, body[name])
        for name in ("max_completion_tokens", "max_tokens")
        if body.get(name) is not None
    ]
    for name, value in tokens:
        if type(value) is not int or value < 1:
            _refuse(f"body.{name} must be an integer of at least 1")
    if len({value for _, value in tokens}) > 1:
        _refuse("body.max_tokens and body.max_completion_tokens differ")
    chat.max_tokens = tokens[0][1] if tokens else None
    high = 1.0 if target == "anthropic" else 2.0
    chat.temperature = _number(body, "temperature", 0.0, high)
    chat.top_p = _number(body, "top_p", 0.0, 1.0)
    # 0 is no penalty: not sent (some Gemini models refuse the field outright)
    chat.presence_penalty = _number(body, "presence_penalty", -2.0, 2.0) or None
    chat.frequency_penalty = _number(body, "frequency_penalty", -2.0, 2.0) or None
    stop = body.get("stop")
    if isinstance(stop, str):
        chat.stop = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        chat.stop = list(stop) or None
    elif stop is not None:
        _refuse("body.stop must be a string or an array of strings")
    seed = body.get("seed")
    if seed is not None and type(seed) is not int:
        _refuse("body.seed must be an integer")
    chat.seed = seed
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        _refuse("body.user must be a string")
    chat.user = user
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and type(parallel) is not bool:
        _refuse("body.parallel_tool_calls must be true or false")
    chat.parallel_tool_calls = parallel


def _read_format(chat: _Chat, value: object, target: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        _refuse("body.response_format must be an object")
    kind = value.get("type")
    if kind == "text":
        return
    if kind == "json_object":
        if target == "anthropic":
            _refuse(
                'body.response_format "json_object" has no equivalent in anthropic: '
                'give a "json_schema" instead'
            )
        chat.json_object = True
        return
    if kind != "json_schema":
        _refuse(f"body.response_format.type {_show(kind)} cannot be translated")
    spec = value.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        _refuse("body.response_format.json_schema.schema must be an object")
    chat.json_object = True
    chat.schema = schema


def _read_tools(chat: _Chat, body: dict[str, Any], target: str) -> None:
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            _refuse("body.tools must be an array")
        for index, tool in enumerate(tools):
            where = f"body.tools[{index}]"
            if not isinstance(tool, dict) or tool.get("type") != "function":
                _refuse(f'{where}: only "function" tools can be translated')
            function = tool.get("function")
            if not isinstance(function, dict) or not isinstance(
                function.get("name"), str
            ):
                _refuse(f"{where}.function.name must be a string")
            parameters = function.get("parameters")
            if parameters is not None and not isinstance(parameters, dict):
                _refuse(f"{where}.function.parameters must be an object")
            description = function.get("description")
            strict = function.get("strict")
            chat.tools.append(
                _Tool(
                    function["name"],
                    description if isinstance(description, str) else None,
                    parameters,
                    strict if isinstance(strict, bool) else None,
                )
            )
    choice = body.get("tool_choice")
    if choice is None:
        return
    if choice in ("auto", "none", "required"):
        chat.tool_choice = choice
    elif (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and isinstance(choice.get("function"), dict)
        and isinstance(choice["function"].get("name"), str)
    ):
        chat.tool_choice, chat.tool_name = "tool", choice["function"]["name"]
    else:
        _refuse(f"body.tool_choice {_show(choice)} cannot be translated")
    if chat.tool_choice != "none" and not chat.tools:
        _refuse("body.tool_choice needs body.tools")
    if chat.tool_name is not None and chat.tool_name not in {
        t.name for t in chat.tools
    }:
        _refuse(
            f"body.tool_choice names {chat.tool_name!r}, which is not in body.tools"
        )


def _read_messages(chat: _Chat, messages: object) -> None:
    if not isinstance(messages, list) or not messages:
        _refuse("body.messages must be a non-empty array")
    names: dict[str, str] = {}  # tool call id -> function name
    for index, message in enumerate(messages):
        where = f"body.messages[{index}]"
        if not isinstance(message, dict):
            _refuse(f"{where} must be an object")
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            _refuse(f"{where}.role {_show(role)} cannot be translated")
        extra = set(message) - {"role", "content", "tool_calls", "tool_call_id"}
        extra = {k for k in extra if message[k] is not None}
        if role == "assistant":
            extra -= {"refusal"}
        if extra:
            _refuse(f"{where}.{sorted(extra)[0]} cannot be translated")
        if role in ("system", "developer"):
            if chat.turns:
                _refuse(
                    f"{where}: a {role} message after the conversation started "
                    "cannot be translated (only leading ones become the system prompt)"
                )
            chat.system.append(_text_only(message.get("content"), where))
        elif role == "user":
            content = message.get("content")
            chat.turns.append(
                _Turn("user", _user_parts(content, where), isinstance(content, str))
            )
        elif role == "assistant":
            chat.turns.append(_assistant_turn(message, where, names))
        else:  # a tool's answer
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in names:
                _refuse(
                    f"{where}.tool_call_id must name a tool call of an earlier "
                    "assistant message"
                )
            text = _text_only(message.get("content"), where)
            chat.turns.append(
                _Turn("user", [_Result(call_id, names[call_id], text)], False)
            )
    if not chat.turns:
        _refuse("body.messages holds no user message")


def _text_only(content: object, where: str) -> str:
    """The text of a content that may only hold text (system, tool messages)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                _refuse(f"{where}.content may only hold text parts here")
            texts.append(_part_text(part, where))
        return "\n".join(texts)
    _refuse(f"{where}.content must be a string or an array of text parts")


def _part_text(part: dict[str, Any], where: str) -> str:
    text = part.get("text")
    if not isinstance(text, str):
        _refuse(f"{where}.content: a text part needs a string text")
    return text


def _user_parts(content: object, where: str) -> list[_Part]:
    if isinstance(content, str):
        return [_Text(content)]
    if not isinstance(content, list) or not content:
        _refuse(f"{where}.content must be a string or a non-empty array of parts")
    parts: list[_Part] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            parts.append(_Text(_part_text(part, where)))
        elif kind == "image_url":
            parts.append(_image(part.get("image_url"), where))
        else:
            _refuse(f"{where}.content: a {_show(kind)} part cannot be translated")
    return parts


def _image(value: object, where: str) -> _Image:
    url = value.get("url") if isinstance(value, dict) else value
    if not isinstance(url, str):
        _refuse(f"{where}.content: image_url.url must be a string")
    detail = value.get("detail") if isinstance(value, dict) else None
    if detail not in (None, "auto"):
        _refuse(f"{where}.content: image_url.detail {detail!r} cannot be translated")
    if url.startswith("data:"):
        head, comma, data = url[5:].partition(",")
        media_type, _, encoding = head.partition(";")
        if not comma or encoding != "base64" or not media_type.startswith("image/"):
            _refuse(
                f"{where}.content: a data URL image must be data:image/...;base64,..."
            )
        return _Image(media_type, data, None)
    if url.startswith("https://"):
        return _Image(None, None, url)
    _refuse(f"{where}.content: an image URL must be https:// or a data: URL")


def _assistant_turn(
    message: dict[str, Any], where: str, names: dict[str, str]
) -> _Turn:
    content = message.get("content")
    parts: list[_Part] = []
    if isinstance(content, str):
        if content:
            parts.append(_Text(content))
    elif isinstance(content, list):
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                parts.append(_Text(_part_text(part, where)))
            elif kind == "refusal" and isinstance(part.get("refusal"), str):
                parts.append(_Text(part["refusal"]))
            else:
                _refuse(f"{where}.content: a {_show(kind)} part cannot be translated")
    elif content is not None:
        _refuse(f"{where}.content must be a string, an array of parts or null")
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        _refuse(f"{where}.tool_calls must be an array")
    for number, call in enumerate(calls):
        spot = f"{where}.tool_calls[{number}]"
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(call, dict)
            or call.get("type", "function") != "function"
            or not isinstance(call.get("id"), str)
            or not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments"), str)
        ):
            _refuse(f"{spot} must be a function call with an id, name and arguments")
        try:
            args = _decode(function["arguments"])
        except msgspec.DecodeError:
            _refuse(f"{spot}.function.arguments is not valid JSON")
        if not isinstance(args, dict):
            _refuse(f"{spot}.function.arguments must be a JSON object")
        names[call["id"]] = function["name"]
        parts.append(_Call(call["id"], function["name"], args))
    if not parts:
        _refuse(f"{where} has neither content nor tool calls")
    return _Turn("assistant", parts, isinstance(content, str) and not calls)


def _merged(turns: list[_Turn]) -> list[_Turn]:
    """Join adjacent turns of one role (tool results, then the user's next words)."""
    merged: list[_Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            last = merged[-1]
            merged[-1] = _Turn(turn.role, [*last.parts, *turn.parts], False)
        else:
            merged.append(turn)
    return merged


# ---------------------------------------------------------------- Anthropic

_ANTHROPIC_KNOWN = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "user",
    }
)


def _anthropic_part(part: _Part) -> dict[str, Any]:
    if isinstance(part, _Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, _Image):
        if part.url is not None:
            return {"type": "image", "source": {"type": "url", "url": part.url}}
        if part.media_type not in _ANTHROPIC_IMAGES:
            _refuse(
                f"an image of type {part.media_type} cannot be sent to anthropic "
                f"(it takes {', '.join(_ANTHROPIC_IMAGES)})"
            )
        source = {"type": "base64", "media_type": part.media_type, "data": part.data}
        return {"type": "image", "source": source}
    if isinstance(part, _Call):
        return {
            "type": "tool_use",
            "id": part.id,
            "name": part.name,
            "input": part.args,
        }
    return {"type": "tool_result", "tool_use_id": part.call_id, "content": part.text}


def _anthropic_params(chat: _Chat) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": chat.model,
        "max_tokens": chat.max_tokens or ANTHROPIC_DEFAULT_MAX_TOKENS,
    }
    if len(chat.system) == 1:
        params["system"] = chat.system[0]
    elif chat.system:
        params["system"] = [{"type": "text", "text": text} for text in chat.system]
    messages = []
    for turn in _merged(chat.turns):
        if turn.plain and len(turn.parts) == 1 and isinstance(turn.parts[0], _Text):
            content: object = turn.parts[0].text
        else:
            content = [_anthropic_part(part) for part in turn.parts]
        messages.append({"role": turn.role, "content": content})
    params["messages"] = messages
    if chat.temperature is not None:
        params["temperature"] = chat.temperature
    if chat.top_p is not None:
        params["top_p"] = chat.top_p
    if chat.stop:
        params["stop_sequences"] = chat.stop
    if chat.schema is not None:
        params["output_config"] = {
            "format": {"type": "json_schema", "schema": chat.schema}
        }
    if chat.tools:
        params["tools"] = [_anthropic_tool(tool) for tool in chat.tools]
    choice = _anthropic_choice(chat)
    if choice is not None:
        params["tool_choice"] = choice
    if chat.user is not None:
        params["metadata"] = {"user_id": chat.user}
    return params


def _anthropic_tool(tool: _Tool) -> dict[str, Any]:
    schema = tool.parameters or {"type": "object", "properties": {}}
    out: dict[str, Any] = {"name": tool.name, "input_schema": schema}
    if tool.description is not None:
        out["description"] = tool.description
    if tool.strict is not None:
        out["strict"] = tool.strict
    return out


def _anthropic_choice(chat: _Chat) -> dict[str, Any] | None:
    single = chat.parallel_tool_calls is False
    if chat.tool_choice is None and not (single and chat.tools):
        return None
    kind = {"required": "any", "tool": "tool"}.get(chat.tool_choice or "auto")
    choice: dict[str, Any] = {"type": kind or chat.tool_choice or "auto"}
    if chat.tool_name is not None:
        choice["name"] = chat.tool_name
    if single and choice["type"] != "none":
        choice["disable_parallel_tool_use"] = True
    return choice


def to_anthropic(line: bytes) -> bytes:
    """Translate an OpenAI chat-completions line into an Anthropic batch request.

    Returns:
        ``{"custom_id", "params"}`` as JSON (no newline).

    Raises:
        InvalidRequestLine: something in the line has no Anthropic equivalent.
    """
    return _translate(line, "anthropic", _ANTHROPIC_KNOWN, _anthropic_line)


def _anthropic_line(custom_id: str, chat: _Chat, body: dict[str, Any]) -> object:
    return {"custom_id": custom_id, "params": _anthropic_params(chat)}


# ---------------------------------------------------------------- Gemini

_GEMINI_KNOWN = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "tools",
        "tool_choice",
    }
)


def _gemini_part(part: _Part) -> dict[str, Any]:
    if isinstance(part, _Text):
        return {"text": part.text}
    if isinstance(part, _Image):
        if part.url is None:
            return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
        path = part.url.split("?", 1)[0].split("#", 1)[0].lower()
        dot = path.rfind(".")
        mime = _GEMINI_IMAGES.get(path[dot:]) if dot > path.rfind("/") else None
        if mime is None:
            _refuse(
                "gemini needs an image's type, and this https URL does not end "
                f"in {', '.join(_GEMINI_IMAGES)}: give it as a data URL"
            )
        return {"fileData": {"mimeType": mime, "fileUri": part.url}}
    if isinstance(part, _Call):
        return {"functionCall": {"name": part.name, "args": part.args}}
    response = {"name": part.name, "response": {"output": part.text}}
    return {"functionResponse": response}


def _check_gemini_schema(schema: object, where: str) -> None:
    """Refuse a JSON Schema keyword Gemini does not honour (GEMINI_SCHEMA_KEYWORDS)."""
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            _check_gemini_schema(item, f"{where}[{index}]")
        return
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key in _SCHEMA_NOTES:
            continue
        if key not in GEMINI_SCHEMA_KEYWORDS:
            _refuse(
                f"body.response_format schema keyword {key!r} at {where} is not "
                "supported by gemini"
            )
        if key in ("properties", "$defs") and isinstance(value, dict):
            for name, sub in value.items():
                _check_gemini_schema(sub, f"{where}.{key}.{name}")
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "prefixItems"):
            _check_gemini_schema(value, f"{where}.{key}")


def _gemini_request(chat: _Chat) -> dict[str, Any]:
    request: dict[str, Any] = {"model": chat.model}
    contents = []
    for turn in _merged(chat.turns):
        role = "model" if turn.role == "assistant" else "user"
        contents.append({"role": role, "parts": [_gemini_part(p) for p in turn.parts]})
    request["contents"] = contents
    if chat.system:
        request["systemInstruction"] = {"parts": [{"text": t} for t in chat.system]}
    config: dict[str, Any] = {}
    for name, value in (
        ("maxOutputTokens", chat.max_tokens),
        ("temperature", chat.temperature),
        ("topP", chat.top_p),
        ("stopSequences", chat.stop),
        ("seed", chat.seed),
        ("presencePenalty", chat.presence_penalty),
        ("frequencyPenalty", chat.frequency_penalty),
    ):
        if value is not None:
            config[name] = value
    if chat.json_object:
        config["responseMimeType"] = "application/json"
    if chat.schema is not None:
        _check_gemini_schema(chat.schema, "$")
        config["responseJsonSchema"] = chat.schema
    if config:
        request["generationConfig"] = config
    if chat.tools:
        declarations = []
        for tool in chat.tools:
            declaration: dict[str, Any] = {"name": tool.name}
            if tool.description is not None:
                declaration["description"] = tool.description
            if tool.parameters is not None:
                declaration["parametersJsonSchema"] = tool.parameters
            declarations.append(declaration)
        request["tools"] = [{"functionDeclarations": declarations}]
    if chat.tool_choice is not None:
        mode = {"auto": "AUTO", "none": "NONE"}.get(chat.tool_choice, "ANY")
        calling: dict[str, Any] = {"mode": mode}
        if chat.tool_name is not None:
            calling["allowedFunctionNames"] = [chat.tool_name]
        request["toolConfig"] = {"functionCallingConfig": calling}
    return request


def to_gemini(line: bytes) -> bytes:
    """Translate an OpenAI chat-completions line into a Gemini batch file line.

    Returns:
        ``{"key", "request"}`` as JSON (no newline); ``request.model`` names the
        model (the batch's URL is built from it).

    Raises:
        InvalidRequestLine: something in the line has no Gemini equivalent.
    """
    return _translate(line, "gemini", _GEMINI_KNOWN, _gemini_line)


def _gemini_line(custom_id: str, chat: _Chat, body: dict[str, Any]) -> object:
    return {"key": custom_id, "request": _gemini_request(chat)}


# ---------------------------------------------------------------- Mistral

_MISTRAL_KNOWN = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "n",
        "metadata",
    }
)


def _mistral_body(chat: _Chat, body: dict[str, Any]) -> dict[str, Any]:
    """Mistral's chat body is OpenAI's: checked by :func:`_read_chat`, then kept,
    with the few names Mistral spells differently renamed."""
    out = {k: v for k, v in body.items() if v is not None and k in _MISTRAL_KNOWN}
    out.pop("max_completion_tokens", None)
    if chat.max_tokens is not None:
        out["max_tokens"] = chat.max_tokens
    if "seed" in out:
        out["random_seed"] = out.pop("seed")
    messages = []
    for message in body["messages"]:
        if message.get("role") == "developer":
            message = {**message, "role": "system"}
        messages.append(message)
    out["messages"] = messages
    return out


def to_mistral(line: bytes) -> bytes:
    """Translate an OpenAI chat-completions line into a Mistral batch line.

    Returns:
        ``{"custom_id", "body"}`` as JSON (no newline); ``body.model`` is kept,
        as the job's model is read from it.

    Raises:
        InvalidRequestLine: something in the line has no Mistral equivalent.
    """
    return _translate(line, "mistral", _MISTRAL_KNOWN, _mistral_line)


def _mistral_line(custom_id: str, chat: _Chat, body: dict[str, Any]) -> object:
    return {"custom_id": custom_id, "body": _mistral_body(chat, body)}


# ---------------------------------------------------------------- the boundary

_Render = Callable[[str, _Chat, dict[str, Any]], object]


def _translate(
    line: bytes, target: str, known: frozenset[str], render: _Render
) -> bytes:
    """Read, check and render one line; a refusal becomes InvalidRequestLine."""
    custom_id: str | None = None
    try:
        custom_id, body = _read_line(line)
        chat = _read_chat(body, target, known)
        return _encode(render(custom_id, chat, body))
    except _Refused as exc:
        raise InvalidRequestLine(str(exc), custom_id=custom_id) from None


class OpenAITranslator:
    """Turn an input of OpenAI chat-completions lines into one provider's lines.

    Which an input is, is decided by its first non-blank line
    (:meth:`applies`): an input is all OpenAI lines or all native lines.
    """

    __slots__ = ("translate",)

    def __init__(self, translate: Callable[[bytes], bytes]) -> None:
        self.translate = translate  # a provider's from_openai

    def applies(self, first_line: bytes) -> bool:
        """Whether an input whose first non-blank line is ``first_line`` is
        translated (it is an OpenAI line)."""
        return is_openai_line(first_line)

    def __call__(self, line: bytes) -> bytes:
        """Translate one line (without its newline).

        Raises:
            InvalidRequestLine: the line cannot be translated.
        """
        return self.translate(line)
