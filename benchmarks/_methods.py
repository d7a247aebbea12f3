"""The measured ways of reading a results file, one per benchmark child process.

Each method is a *setup* function ``(provider) -> run``: setup does the imports and
builds decoders (not timed); ``run(path)`` reads the whole file and returns a
:class:`Tally` (timed). Every parsing method extracts the same four things from every
line (custom_id, status, text, usage) and feeds them to the same tally, whose
totals serve as a checksum: if two methods disagree, one of them skipped work.

Only the standard library is imported at module level, so that a child's peak RSS
holds only what its own method imports.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anthropic.types.messages import MessageBatchIndividualResponse

    from streambatch import Result

__all__ = ("APPLIES", "METHODS", "Tally")

BLOCK = 1024 * 1024
"""Block size of the floor and of streambatch's sync variant (as its reader's)."""
HTTP_READ = 64 * 1024
"""What one network read hands httpx (httpcore reads the socket 64 KiB at a time)."""
SDK_CHUNK = 64
"""The chunk size the anthropic SDK asks httpx for: ``iter_bytes(chunk_size=64)``."""

Fields = tuple[str, str, str | None, int, int]
"""custom_id, status, text, input_tokens, output_tokens."""


class Tally:
    """Counts and sums over the records of a file; its totals are a checksum."""

    __slots__ = (
        "counts",
        "id_chars",
        "input_tokens",
        "lines",
        "output_tokens",
        "text_chars",
    )

    def __init__(self) -> None:
        self.lines = 0
        self.counts: dict[str, int] = {}
        self.id_chars = 0
        self.text_chars = 0
        self.input_tokens = 0
        self.output_tokens = 0

    def add(
        self, custom_id: str, status: str, text: str | None, inputs: int, outputs: int
    ) -> None:
        """Count one record; text and tokens are summed over succeeded ones."""
        self.lines += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        self.id_chars += len(custom_id)
        if status == "succeeded":
            self.text_chars += len(text or "")
            self.input_tokens += inputs
            self.output_tokens += outputs

    def checksum(self) -> dict[str, Any]:
        """Everything counted, as JSON-friendly values."""
        return {
            "lines": self.lines,
            "counts": dict(sorted(self.counts.items())),
            "id_chars": self.id_chars,
            "text_chars": self.text_chars,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


Run = Callable[[str], Tally]


def blocks(path: str, size: int) -> Iterator[bytes]:
    """The bytes of ``path``, ``size`` at a time."""
    with open(path, "rb") as file:
        while block := file.read(size):
            yield block


# (a) floor ------------------------------------------------------------------------


def floor(provider: str) -> Run:
    """Read 1 MiB blocks and split them into lines; parse nothing."""

    def run(path: str) -> Tally:
        tally = Tally()
        tail = b""
        for block in blocks(path, BLOCK):
            lines = (tail + block).split(b"\n") if tail else block.split(b"\n")
            tail = lines.pop()
            tally.lines += len(lines)
        tally.lines += bool(tail)
        return tally

    return run


# (b) json.loads + dict navigation ---------------------------------------------------

_FATE = {"batch_expired": "expired", "batch_cancelled": "canceled"}


def openai_dict(line: dict[str, Any]) -> Fields:
    """The fields of an OpenAI output line, by dict navigation (PROVIDERS.md 2.6)."""
    custom_id: str = line["custom_id"]
    response = line["response"]
    if response is None:
        return custom_id, _FATE.get(line["error"]["code"], "errored"), None, 0, 0
    if not 200 <= response["status_code"] < 300:
        return custom_id, "errored", None, 0, 0
    body = response["body"]
    usage = body["usage"]
    text = body["choices"][0]["message"]["content"]
    return (
        custom_id,
        "succeeded",
        text,
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )


def anthropic_dict(line: dict[str, Any]) -> Fields:
    """The fields of an Anthropic results line, by dict navigation (PROVIDERS.md 4.4)."""
    custom_id: str = line["custom_id"]
    result = line["result"]
    if result["type"] != "succeeded":
        return custom_id, result["type"], None, 0, 0
    message = result["message"]
    usage = message["usage"]
    text = "".join(b["text"] for b in message["content"] if b["type"] == "text")
    return custom_id, "succeeded", text, anthropic_inputs(usage), usage["output_tokens"]


def anthropic_inputs(usage: dict[str, Any]) -> int:
    """An Anthropic usage's input tokens as a record counts them: Anthropic leaves
    the prompt cache's reads and writes out of ``input_tokens``; OpenAI and Gemini
    count them in."""
    inputs: int = usage["input_tokens"] + (usage.get("cache_read_input_tokens") or 0)
    return inputs + (usage.get("cache_creation_input_tokens") or 0)


def gemini_dict(line: dict[str, Any]) -> Fields:
    """The fields of a Gemini responses line, by dict navigation (PROVIDERS.md 5.5)."""
    key: str = line["key"]
    if "error" in line:
        return key, "errored", None, 0, 0
    response = line["response"]
    usage = response["usageMetadata"]
    parts = response["candidates"][0]["content"]["parts"]
    text = "".join(p["text"] for p in parts if "text" in p and not p.get("thought"))
    outputs = usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0)
    return key, "succeeded", text, usage["promptTokenCount"], outputs


_DICT_FIELDS = {"openai": openai_dict, "gemini": gemini_dict}


def json_loads(provider: str) -> Run:
    """``for line in file: json.loads(line)``, then dict navigation, as the docs do."""
    import json

    fields = _DICT_FIELDS.get(provider, anthropic_dict)

    def run(path: str) -> Tally:
        tally = Tally()
        with open(path, "rb") as file:
            for line in file:
                tally.add(*fields(json.loads(line)))
        return tally

    return run


# (c) pydantic models ------------------------------------------------------------------


def anthropic_model() -> Callable[[MessageBatchIndividualResponse], Fields]:
    """Return a function reading the fields of an Anthropic SDK results object."""
    from anthropic.types import TextBlock
    from anthropic.types.messages import MessageBatchSucceededResult

    def fields(item: MessageBatchIndividualResponse) -> Fields:
        result = item.result
        if not isinstance(result, MessageBatchSucceededResult):
            return item.custom_id, result.type, None, 0, 0
        message = result.message
        text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
        usage = message.usage
        inputs = usage.input_tokens + (usage.cache_read_input_tokens or 0)
        inputs += usage.cache_creation_input_tokens or 0
        return item.custom_id, "succeeded", text, inputs, usage.output_tokens

    return fields


def pydantic(provider: str) -> Run:
    """``json.loads`` per line, then the SDK's pydantic ``model_validate``.

    OpenAI: ``ChatCompletion.model_validate(body)`` on each 2xx body (the line's
    envelope has no SDK type; failed lines are read as dicts). Anthropic:
    ``MessageBatchIndividualResponse.model_validate(line)`` on every line.
    """
    import json

    if provider == "openai":
        from openai.types.chat import ChatCompletion

        def fields(line: dict[str, Any]) -> Fields:
            response = line["response"]
            if response is None or not 200 <= response["status_code"] < 300:
                return openai_dict(line)
            completion = ChatCompletion.model_validate(response["body"])
            usage = completion.usage
            assert usage is not None
            text = completion.choices[0].message.content
            out = usage.prompt_tokens, usage.completion_tokens
            return line["custom_id"], "succeeded", text, *out

    else:
        from anthropic.types.messages import MessageBatchIndividualResponse

        model = anthropic_model()

        def fields(line: dict[str, Any]) -> Fields:
            return model(MessageBatchIndividualResponse.model_validate(line))

    def run(path: str) -> Tally:
        tally = Tally()
        with open(path, "rb") as file:
            for line in file:
                tally.add(*fields(json.loads(line)))
        return tally

    return run


# (d) the anthropic SDK's own JSONL decoder --------------------------------------------


def _sdk_decoder(chunk_size: int | None) -> Run:
    import httpx2
    from anthropic._decoders.jsonl import JSONLDecoder
    from anthropic.types.messages import MessageBatchIndividualResponse

    fields = anthropic_model()

    def run(path: str) -> Tally:
        tally = Tally()
        response = httpx2.Response(200, content=blocks(path, HTTP_READ))
        decoder = JSONLDecoder(
            raw_iterator=response.iter_bytes(chunk_size=chunk_size),
            line_type=MessageBatchIndividualResponse,
            http_response=response,
        )
        for item in decoder:
            tally.add(*fields(item))
        return tally

    return run


def sdk_decoder(provider: str) -> Run:
    """The SDK's path: ``JSONLDecoder`` over ``httpx2.Response.iter_bytes(64)``.

    The response streams the file in 64 KiB reads (as a socket would) and httpx
    re-cuts them into the 64-byte chunks the SDK asks for. Anthropic only.
    """
    return _sdk_decoder(SDK_CHUNK)


def sdk_decoder_big(provider: str) -> Run:
    """The same decoder fed whole 64 KiB reads: its own cost without the tiny chunks."""
    return _sdk_decoder(None)


# (e) streambatch ------------------------------------------------------------------------


def add_result(tally: Tally, record: Result) -> None:
    """Count one streambatch record."""
    usage = record.usage
    inputs, outputs = (usage.input_tokens, usage.output_tokens) if usage else (0, 0)
    tally.add(record.custom_id, record.status, record.text, inputs, outputs)


def streambatch(provider: str) -> Run:
    """The public path: ``async with open_results(path, provider=...)`` (aiofiles)."""
    import asyncio

    from streambatch._results import open_results

    async def read(path: str) -> Tally:
        tally = Tally()
        async with open_results(path, provider=provider) as results:
            async for record in results:
                add_result(tally, record)
        return tally

    def run(path: str) -> Tally:
        return asyncio.run(read(path))

    return run


def streambatch_sync(provider: str) -> Run:
    """``ResultParser.feed`` over 1 MiB ``file.read`` blocks: no event loop, no aiofiles."""
    from streambatch._providers.parse import ResultParser

    def run(path: str) -> Tally:
        tally = Tally()
        parser = ResultParser(provider, source=os.fspath(path))
        for block in blocks(path, BLOCK):
            for record in parser.feed(block):
                add_result(tally, record)
        for record in parser.close():
            add_result(tally, record)
        return tally

    return run


def noop(provider: str) -> Run:
    """Nothing: the bare interpreter's peak RSS."""
    return lambda path: Tally()


METHODS: dict[str, Callable[[str], Run]] = {
    "floor": floor,
    "json": json_loads,
    "pydantic": pydantic,
    "sdk-decoder": sdk_decoder,
    "sdk-decoder-64k": sdk_decoder_big,
    "streambatch": streambatch,
    "streambatch-sync": streambatch_sync,
    "noop": noop,
}
"""Method name -> setup function."""

APPLIES: dict[str, tuple[str, ...]] = {
    "pydantic": ("openai", "anthropic"),
    "sdk-decoder": ("anthropic",),
    "sdk-decoder-64k": ("anthropic",),
}
"""Methods that apply to some providers only (the others apply to all)."""
