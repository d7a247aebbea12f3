"""What an OpenAI (or Azure) batch input line must be, how big a batch may be, and
what its requests cost.

Pure: msgspec only. Wire shapes from PROVIDERS.md 2.3 and 2.9.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

from .._core.pack import ChunkLimits
from .._core.pricing import Price, PriceRules, cached
from .._core.requests import LineRules

__all__ = ("LIMITS", "LINES", "OPENAI_ENDPOINTS", "PRICES")

_Endpoint = Literal[
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
]
OPENAI_ENDPOINTS: tuple[str, ...] = get_args(_Endpoint)
"""The batch endpoints an OpenAI (or Azure) line may name (PROVIDERS.md 2.3)."""


# Views hold only strings, ints and other views, never a cycle: gc=False spares the
# collector tracking (and scanning) every one, a large part of decode_lines' cost.
class _Body(msgspec.Struct, gc=False):
    model: str
    stream: Literal[False] = False


class _Line(msgspec.Struct, gc=False):
    custom_id: Annotated[str, msgspec.Meta(min_length=1)]
    method: Literal["POST"]
    url: _Endpoint
    body: _Body


LINES = LineRules(
    msgspec.json.Decoder(_Line),
    {
        "custom_id": "custom_id must be a non-empty string",
        "method": 'method must be "POST"',
        "url": "url must be a batch endpoint (" + ", ".join(OPENAI_ENDPOINTS) + ")",
        "body.stream": "body.stream must not be true: batches do not stream",
    },
    grouped=True,
)
"""An OpenAI line: ``{"custom_id", "method": "POST", "url", "body": {"model", ...}}``;
a batch takes one (url, model)."""

# Each byte limit takes the documented value less a 1% margin: whether "MB" is
# 10^6 or 2^20 is unconfirmed (PROVIDERS.md 2.12 item 6), so the smaller reading,
# less 1%, is used. Request counts are exact documented numbers and need no margin.
LIMITS = ChunkLimits(50_000, 198_000_000)
"""PROVIDERS.md 2.9: 50,000 requests and 200 MB per batch input file."""

# Cached input: the ratio of OpenAI's list prices (0.5x for the gpt-4o family,
# 0.25x for gpt-4.1, 0.1x for gpt-5).
PRICES = PriceRules(
    {
        "gpt-4o-mini": cached(0.5, Price(0.075, 0.30)),
        "gpt-4o": cached(0.5, Price(1.25, 5.00)),
        "gpt-4.1-nano": cached(0.25, Price(0.05, 0.20)),
        "gpt-4.1-mini": cached(0.25, Price(0.20, 0.80)),
        "gpt-4.1": cached(0.25, Price(1.00, 4.00)),
        "gpt-5-mini": cached(0.1, Price(0.125, 1.00)),
        "gpt-5": cached(0.1, Price(0.625, 5.00)),
        "text-embedding-3-small": Price(0.01, 0.0),
        "text-embedding-3-large": Price(0.065, 0.0),
    },
    "body",
)
"""OpenAI's batch prices (and Azure's: the same discount); sources: docs/cost.md."""
