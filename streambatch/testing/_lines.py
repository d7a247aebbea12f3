"""Result lines of each provider, one function per outcome (PROVIDERS.md 2.6, 4.4).

Pure: builds dicts from a request and an outcome; imports msgspec and stdlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from ._bodies import OPENAI_ENDPOINTS, Builder, message
from ._replies import make_reply
from ._wire import anthropic_problem

Outcome = Literal["ok", "error", "expired", "cancelled"]

_encode = msgspec.json.Encoder().encode

_OPENAI_ITEM_ERRORS = (
    (
        500,
        "server_error",
        "The server had an error while processing your request. Sorry about that!",
    ),
    (400, "invalid_request_error", "This request was rejected by the emulator."),
)
_ANTHROPIC_ITEM_ERRORS = (
    ("api_error", "Internal server error"),
    ("overloaded_error", "Overloaded"),
)
EXPIRED_MESSAGE = (
    "This request could not be executed before the completion window expired."
)
CANCELLED_MESSAGE = "This request was cancelled before it could be executed."


class Item(msgspec.Struct, frozen=True):
    """One request as the generator sees it."""

    index: int
    custom_id: str
    body: dict[str, Any]
    rid: str
    variant: int


def openai_line(
    item: Item,
    outcome: Outcome,
    endpoint: str,
    created: int,
    words: int,
    dims: int,
    id_key: str = "id",
    bodies: Mapping[str, Builder] = OPENAI_ENDPOINTS,
) -> bytes:
    """Encode the output or error file line for ``item`` (its request id under
    ``id_key``: some compatible hosts say ``batch_id``; its body made by
    ``bodies``, Mistral's own where they differ)."""
    head: dict[str, Any] = {
        id_key: f"batch_req_{item.rid}",
        "custom_id": item.custom_id,
    }
    if outcome == "ok":
        reply = make_reply(item.body, words)
        body = bodies[endpoint](item.body, reply, item.rid, created, dims)
        head["response"] = {
            "status_code": 200,
            "request_id": f"req_{item.rid}",
            "body": body,
        }
        head["error"] = None
    elif outcome == "error":
        status, kind, text = _OPENAI_ITEM_ERRORS[item.variant % 2]
        error = {"message": text, "type": kind, "param": None, "code": None}
        head["response"] = {
            "status_code": status,
            "request_id": f"req_{item.rid}",
            "body": {"error": error},
        }
        head["error"] = None
    else:
        expired = outcome == "expired"
        head["response"] = None
        head["error"] = {
            "code": "batch_expired" if expired else "batch_cancelled",
            "message": EXPIRED_MESSAGE if expired else CANCELLED_MESSAGE,
        }
    return _encode(head) + b"\n"


def _anthropic_invalid(params: dict[str, Any]) -> str | None:
    for key in ("model", "max_tokens", "messages"):
        if key not in params:
            return f"{key}: Field required"
    return anthropic_problem(params)


def anthropic_line(
    item: Item, outcome: Outcome, created: int, words: int
) -> tuple[bytes, str]:
    """Encode the results line for ``item``; also return its result type."""
    result: dict[str, Any]
    problem = _anthropic_invalid(item.body) if outcome == "ok" else None
    if outcome == "ok" and problem is None:
        reply = make_reply(item.body, words)
        body = message(item.body, reply, item.rid, created, 0)
        result = {"type": "succeeded", "message": body}
    elif outcome in ("ok", "error"):
        kind, text = _ANTHROPIC_ITEM_ERRORS[item.variant % 2]
        if problem is not None:
            kind, text = "invalid_request_error", problem
        result = {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": kind, "message": text},
                "request_id": f"req_{item.rid}",
            },
        }
    else:
        result = {"type": "expired" if outcome == "expired" else "canceled"}
    line = _encode({"custom_id": item.custom_id, "result": result}) + b"\n"
    return line, result["type"]
