"""Gemini batch input and output lines: intake of ``{"key", "request"}`` lines and
inline requests, and the responses file's lines (PROVIDERS.md 5.2, 5.5).

Intake runs in a worker thread (blocking file I/O). Imports msgspec and stdlib.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import msgspec

from ._intake import Intake, bucket_lines
from ._lines import Item, Outcome
from ._plan import Buckets, Plan, find_duplicates
from ._replies import make_reply
from ._wire import gemini_problem

_encode = msgspec.json.Encoder().encode

_ITEM_ERRORS = (
    (13, "INTERNAL", "Internal error encountered."),
    (3, "INVALID_ARGUMENT", "Request contains an invalid argument."),
)


class _Line(msgspec.Struct):
    key: str
    request: msgspec.Raw


_decode_line = msgspec.json.Decoder(_Line).decode


def _error(message: str) -> dict[str, Any]:
    return {"code": "invalid_request", "message": message}


def intake_file(
    source: Path, plan: Plan, max_requests: int, stop: threading.Event
) -> Intake | None:
    """Validate a JSONL input file of ``{"key", "request"}`` lines and bucket it.

    Returns:
        The intake (with ``errors`` when the batch must fail), or None when
        ``stop`` was set (the emulator is closing).
    """
    result = Intake()

    def take(line: bytes, number: int, buckets: Buckets) -> None:
        _take(line, number, plan, result, buckets)

    paths = bucket_lines(source, plan, result, take, stop)
    return None if paths is None else _finish(result, paths, max_requests)


def _take(
    line: bytes, number: int, plan: Plan, result: Intake, buckets: Buckets
) -> None:
    result.count += 1
    try:
        parsed = _decode_line(line)
    except msgspec.DecodeError as exc:
        result.errors.append(_error(f"line {number}: {exc}"))
        return
    if not parsed.key or not bytes(parsed.request).lstrip().startswith(b"{"):
        result.errors.append(_error(f"line {number}: a key and a request object"))
        return
    result.failing += plan.item_fails(parsed.key)
    body = bytes(parsed.request).replace(b"\n", b" ").replace(b"\r", b" ")
    buckets.add(number - 1, _encode(parsed.key), body)


def _finish(result: Intake, paths: list[Path], max_requests: int) -> Intake:
    if result.count > max_requests:
        message = f"The batch has {result.count} requests; at most {max_requests}."
        result.errors.insert(0, _error(message))
    elif result.count == 0:
        result.errors.append(_error("The input file has no requests."))
    if not result.errors:
        for index, key in find_duplicates(paths):
            result.errors.append(_error(f"line {index + 1}: duplicate key {key}"))
    result.buckets = paths
    return result


def intake_inline(items: list[dict[str, Any]], plan: Plan, max_requests: int) -> Intake:
    """Bucket inline requests; an item's key is its ``metadata.key``, else its
    position (such items cannot be matched to their responses but by order)."""
    result = Intake(count=len(items))
    buckets = Buckets(plan.work_dir, 1)
    try:
        for index, item in enumerate(items):
            metadata = item.get("metadata") or {}
            key = str(metadata.get("key", index))
            result.failing += plan.item_fails(key)
            buckets.add(index, _encode(key), _encode(item.get("request") or {}))
    finally:
        buckets.close()
    return _finish(result, buckets.paths, max_requests)


def gemini_line(item: Item, outcome: Outcome, words: int) -> tuple[bytes, str]:
    """Encode the responses file line for ``item``; also return its outcome.

    Items that never ran (expired or cancelled) get no line: the service writes
    the requests it processed only.
    """
    problem = gemini_problem(item.body) if outcome == "ok" else None
    if outcome == "ok" and problem is None:
        reply = make_reply(item.body, words)
        response = {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": reply.text}]},
                    "finishReason": "MAX_TOKENS" if reply.truncated else "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": reply.input_tokens,
                "candidatesTokenCount": reply.output_tokens,
                "totalTokenCount": reply.input_tokens + reply.output_tokens,
                # Gemini leaves a zero count out
                **(
                    {"cachedContentTokenCount": reply.cached_tokens}
                    if reply.cached_tokens
                    else {}
                ),
            },
            "modelVersion": "emulated",
            "responseId": item.rid,
        }
        line = {"key": item.custom_id, "response": response}
    elif outcome in ("ok", "error"):
        code, status, message = _ITEM_ERRORS[item.variant % 2]
        if problem is not None:
            code, status, message = 400, "INVALID_ARGUMENT", problem
        error = {"code": code, "message": message, "status": status}
        line = {"key": item.custom_id, "error": error}
    else:
        return b"", outcome
    return _encode(line) + b"\n", outcome
