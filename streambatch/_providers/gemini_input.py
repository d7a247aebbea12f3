"""What a Gemini batch file line must be, how big a batch may be, and what its
requests cost.

Pure: msgspec only. Wire shapes from PROVIDERS.md 5.2 and 5.6.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from .._core.pack import ChunkLimits
from .._core.pricing import Price, PriceRules
from .._core.requests import AnyObject, LineRules

__all__ = ("LIMITS", "LINES", "PRICES")


class _Request(msgspec.Struct, gc=False):
    model: Annotated[str, msgspec.Meta(min_length=1)]
    contents: Annotated[list[AnyObject], msgspec.Meta(min_length=1)]


class _Line(msgspec.Struct, gc=False):
    """A Gemini batch file line, ``{"key", "request"}`` (PROVIDERS.md 5.2).

    The id is read from ``key`` into ``custom_id``, the name every other rule
    reads. A batch has one model, named in its URL: each line names it in
    ``request.model``, and the line's ``url`` (its group's first half, the
    chunk's endpoint) is that batch URL, ``models/{model}:batchGenerateContent``.
    """

    custom_id: Annotated[str, msgspec.Meta(min_length=1)] = msgspec.field(name="key")
    request: _Request = msgspec.field()

    @property
    def body(self) -> _Request:
        return self.request

    @property
    def url(self) -> str:
        model = self.request.model
        name = model if model.startswith("models/") else f"models/{model}"
        return f"{name}:batchGenerateContent"


LINES = LineRules(
    msgspec.json.Decoder(_Line),
    {
        "key": "key must be a non-empty string",
        "request.contents": "request.contents must be a non-empty array",
        "request.model": "request.model must name the model, e.g. gemini-2.5-flash",
    },
    grouped=True,
    keyed=True,
)
"""A Gemini line: ``{"key", "request": {"model", "contents", ...}}``; a batch takes
one model."""

LIMITS = ChunkLimits(1_000_000, 1_980_000_000)
"""PROVIDERS.md 5.6: a 2 GB input file (less 1%); no documented request cap
(1,000,000 keeps a chunk's set of ids, held while its results are read, bounded)."""

# No cached-input rate: Gemini's context cache is billed apart (docs/cost.md).
PRICES = PriceRules(
    {
        "gemini-2.5-pro": Price(0.625, 5.00),  # prompts up to 200k tokens
        "gemini-2.5-flash-lite": Price(0.05, 0.20),
        "gemini-2.5-flash": Price(0.15, 1.25),
    },
    "request",
)
"""Gemini's batch prices; sources: docs/cost.md."""
