"""Read a batch's input once, validate it and split it into bucket files.

Runs in a worker thread (blocking file I/O, no asyncio). OpenAI problems become
`errors.data` entries of a failed batch; Anthropic problems become the 400
message of the create call. Imports msgspec and stdlib only.
"""

from __future__ import annotations

import mmap
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from ._plan import MAX_ERRORS, Buckets, Plan, bucket_count, find_duplicates

ANTHROPIC_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_encode = msgspec.json.Encoder().encode


class _OpenAILine(msgspec.Struct):
    custom_id: str
    method: str
    url: str
    body: msgspec.Raw


class _BodyHead(msgspec.Struct):
    model: str | None = None


class _AnthropicItem(msgspec.Struct):
    custom_id: str
    params: msgspec.Raw


class _AnthropicBody(msgspec.Struct):
    requests: list[_AnthropicItem]


_decode_line = msgspec.json.Decoder(_OpenAILine).decode
_decode_head = msgspec.json.Decoder(_BodyHead).decode
_decode_anthropic = msgspec.json.Decoder(_AnthropicBody).decode
# Raw values are skipped, not checked (bad UTF-8 inside passes): decode them whole.
_decode_any = msgspec.json.Decoder().decode


@dataclass
class Intake:
    """The outcome of reading a batch's input."""

    count: int = 0
    failing: int = 0
    model: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    buckets: list[Path] = field(default_factory=list)


def _error(code: str, message: str, line: int | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": None, "line": line}


def _check(line: bytes, endpoint: str) -> tuple[_OpenAILine, str | None]:
    """Decode one input line; raise ValueError with (code, message) on a problem."""
    try:
        parsed = _decode_line(line)
        head = _decode_head(parsed.body)
        _decode_any(parsed.body)
    except msgspec.ValidationError as exc:
        raise ValueError("invalid_request", f"Invalid request line: {exc}.") from None
    except msgspec.DecodeError:
        raise ValueError(
            "invalid_json_line", "This line is not parseable as valid JSON."
        ) from None
    if parsed.method != "POST":
        raise ValueError("invalid_request", "Only the POST method is supported.")
    if parsed.url != endpoint:
        raise ValueError(
            "url_mismatch",
            f"The URL '{parsed.url}' does not match the batch's endpoint '{endpoint}'.",
        )
    return parsed, head.model


def intake_openai(
    source: Path, plan: Plan, max_requests: int, max_bytes: int, stop: threading.Event
) -> Intake | None:
    """Validate an OpenAI input file and bucket its lines.

    Returns:
        The intake (with ``errors`` when the batch must fail), or None when
        ``stop`` was set (the emulator is closing).
    """
    size = source.stat().st_size
    if size > max_bytes:
        message = f"The input file is larger than the {max_bytes} bytes allowed."
        return Intake(errors=[_error("file_too_large", message)])
    result = Intake()

    def take(line: bytes, number: int, buckets: Buckets) -> None:
        _take_line(line, number, plan, max_requests, result, buckets)

    paths = bucket_lines(source, plan, result, take, stop)
    return None if paths is None else finish_intake(result, paths, max_requests)


def bucket_lines(
    source: Path,
    plan: Plan,
    result: Intake,
    take: Callable[[bytes, int, Buckets], None],
    stop: threading.Event,
) -> list[Path] | None:
    """Give each non-blank line of ``source`` (without its line ending) and its
    number to ``take``, with the bucket files it fills; stop after
    ``MAX_ERRORS`` errors. Returns the buckets' paths, or None when ``stop`` was
    set (the emulator is closing)."""
    buckets = Buckets(plan.work_dir, bucket_count(source.stat().st_size))
    try:
        with source.open("rb") as file:
            for number, raw in enumerate(file, 1):
                if number % 8192 == 0 and stop.is_set():
                    return None
                if len(result.errors) >= MAX_ERRORS:
                    break
                line = raw.rstrip(b"\r\n")
                if line.strip():
                    take(line, number, buckets)
    finally:
        buckets.close()
    return buckets.paths


def _take_line(
    line: bytes,
    number: int,
    plan: Plan,
    max_requests: int,
    result: Intake,
    buckets: Buckets,
) -> None:
    result.count += 1
    if result.count > max_requests:
        return
    try:
        parsed, model = _check(line, plan.endpoint)
    except ValueError as exc:
        code, message = exc.args
        result.errors.append(_error(code, message, line=number))
        return
    if result.model is None:
        result.model = model
    elif model != result.model:
        message = f"The model '{model}' differs from the file's model '{result.model}'."
        result.errors.append(_error("model_mismatch", message, line=number))
        return
    if plan.item_fails(parsed.custom_id):
        result.failing += 1
    buckets.add(number - 1, _encode(parsed.custom_id), bytes(parsed.body))


def finish_intake(result: Intake, paths: list[Path], max_requests: int) -> Intake:
    """Add the whole-file problems (too many, none, duplicates) to ``result``."""
    if result.count > max_requests:
        message = f"The batch has {result.count} requests; at most {max_requests}."
        result.errors.insert(0, _error("too_many_tasks", message))
    elif result.count == 0:
        result.errors.append(_error("empty_batch", "The input file has no requests."))
    if not result.errors:
        for index, custom_id in find_duplicates(paths):
            message = f"The custom_id {custom_id} is duplicated within the batch."
            result.errors.append(_error("duplicate_custom_id", message, index + 1))
    result.buckets = paths
    return result


def intake_anthropic(spool: Path, plan: Plan, max_requests: int) -> Intake | str:
    """Parse a spooled Anthropic create body and bucket its requests.

    Returns:
        The intake, or the message of the 400 the create call must answer.
    """
    if spool.stat().st_size == 0:
        return "requests: Field required"
    with (
        spool.open("rb") as file,
        mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view,
    ):
        try:
            items = _decode_anthropic(view).requests
        except msgspec.DecodeError as exc:
            return f"Invalid request body: {exc}"
        try:
            return _bucket_anthropic(items, plan, max_requests, spool.stat().st_size)
        finally:
            del items  # msgspec.Raw values point into the map: drop them first.


def _bucket_anthropic(
    items: list[_AnthropicItem], plan: Plan, max_requests: int, size: int
) -> Intake | str:
    if not items:
        return "requests: List should have at least 1 item after validation, not 0"
    if len(items) > max_requests:
        return (
            f"requests: List should have at most {max_requests} items, not {len(items)}"
        )
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not ANTHROPIC_ID.fullmatch(item.custom_id):
            return (
                f"requests.{index}.custom_id: String should match pattern "
                "'^[a-zA-Z0-9_-]{1,64}$'"
            )
        if item.custom_id in seen:
            return f"requests.{index}.custom_id: duplicate custom_id '{item.custom_id}'"
        if not bytes(item.params).lstrip().startswith(b"{"):
            return f"requests.{index}.params: Input should be an object"
        try:
            _decode_any(item.params)
        except msgspec.DecodeError as exc:
            return f"requests.{index}.params: Invalid JSON: {exc}"
        seen.add(item.custom_id)
    result = Intake(count=len(items))
    buckets = Buckets(plan.work_dir, bucket_count(size))
    try:
        for index, item in enumerate(items):
            result.failing += plan.item_fails(item.custom_id)
            # Raw CR/LF in JSON text can only be insignificant whitespace.
            body = bytes(item.params).replace(b"\n", b" ").replace(b"\r", b" ")
            buckets.add(index, _encode(item.custom_id), body)
    finally:
        buckets.close()
    result.buckets = buckets.paths
    return result
