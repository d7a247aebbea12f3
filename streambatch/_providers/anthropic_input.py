"""What an Anthropic batch request must be, how big a batch may be, and what its
requests cost.

Pure: msgspec only. Wire shapes from PROVIDERS.md 4.2 and 4.6.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .._core.pack import ChunkLimits
from .._core.pricing import Price, PriceRules, cached
from .._core.requests import AnyObject, LineRules

__all__ = ("CUSTOM_ID", "LIMITS", "LINES", "PRICES")

CUSTOM_ID = r"^[a-zA-Z0-9_-]{1,64}$"
"""The custom_id pattern (PROVIDERS.md 4.2), as people read it."""
# matched whole: msgspec searches, and Python's "$" also matches before a final "\n"
_ID_RULE = CUSTOM_ID.replace("$", r"\Z")
_FRAME = len(b'{"requests":[') + len(b"]}") - 1  # n lines, n - 1 commas


class _Params(msgspec.Struct, gc=False):
    model: str
    max_tokens: Annotated[int, msgspec.Meta(ge=1)]
    messages: list[AnyObject]
    stream: Literal[False] = False


class _Line(msgspec.Struct, gc=False):
    custom_id: Annotated[str, msgspec.Meta(pattern=_ID_RULE)]
    params: _Params


LINES = LineRules(
    msgspec.json.Decoder(_Line),
    {
        "custom_id": f"custom_id must match {CUSTOM_ID}",
        "params.max_tokens": "params.max_tokens must be an integer of at least 1",
        "params.stream": "params.stream must not be true: batches do not stream",
    },
    grouped=False,
)
"""An Anthropic request: ``{"custom_id", "params": {"model", "max_tokens",
"messages", ...}}``; a batch may mix models."""

LIMITS = ChunkLimits(100_000, 253_440_000, _FRAME)
"""PROVIDERS.md 4.2 and 4.6: 100,000 requests, a 256 MB JSON request body (less
1%), counted with its ``{"requests":[...]}`` frame."""

# Cached input: a cache read is billed at 0.1x the input rate (the batch discount
# applies to both).
PRICES = PriceRules(
    {
        "claude-opus-4-6": cached(0.1, Price(2.50, 12.50)),
        "claude-opus-4-5": cached(0.1, Price(2.50, 12.50)),
        "claude-opus-4-1": cached(0.1, Price(7.50, 37.50)),
        "claude-opus-4": cached(0.1, Price(7.50, 37.50)),
        "claude-sonnet-4": cached(0.1, Price(1.50, 7.50)),
        "claude-haiku-4-5": cached(0.1, Price(0.50, 2.50)),
        "claude-3-5-haiku": cached(0.1, Price(0.40, 2.00)),
        "claude-3-haiku": cached(0.1, Price(0.125, 0.625)),
    },
    "params",
)
"""Anthropic's batch prices; sources: docs/cost.md."""
